//! Where the default model lives, for the tests that need the real file.
//!
//! The path mirrors `scripts/fetch-model --print-path`:
//! `${XDG_CACHE_HOME:-~/.cache}/hearth/models/<file>`. Tests that need the
//! model fail (never skip) when it is missing, because a skipped model test
//! would report success for a suite that checked nothing.
//!
//! [`start_with_default_model`] starts the real server with that model and
//! waits until it is ready, as every model-backed test does.

use std::{path::PathBuf, time::Duration};

use serde_json::{Value, json};

use crate::client::{Server, ServerOptions};

/// The file name of the default model.
pub const DEFAULT_MODEL_FILE: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";

/// The size `scripts/fetch-model` verifies for the default model.
pub const DEFAULT_MODEL_SIZE: u64 = 491_400_064;

/// Where `scripts/fetch-model` installs the default model.
pub fn default_model_path() -> PathBuf {
    // Like the shell's `${XDG_CACHE_HOME:-...}`, an empty value counts as
    // unset.
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|it| !it.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is set");
            PathBuf::from(home).join(".cache")
        });
    cache.join("hearth").join("models").join(DEFAULT_MODEL_FILE)
}

/// The default model's path.
///
/// # Panics
///
/// Panics with instructions when the model has not been fetched.
pub fn require_default_model() -> PathBuf {
    let path = default_model_path();
    let size = std::fs::metadata(&path).map(|it| it.len()).unwrap_or_else(|err| {
        panic!(
            "the default model is missing at {} ({err}); run `scripts/fetch-model` first",
            path.display()
        )
    });
    assert_eq!(
        size,
        DEFAULT_MODEL_SIZE,
        "the default model at {} has the wrong size; run `scripts/fetch-model` again",
        path.display()
    );
    path
}

/// `initializationOptions` that take the model's time budgets out of the
/// tests' results: `completion.timeBudgetMs` and `requestBudgetMs` of five
/// minutes.
///
/// On a busy machine even generation can be slow enough for the default 5 s
/// budget to cut a suggestion short at a point that depends on the load, and
/// a request can wait longer than the default 30 s for its turn. Budgets
/// longer than the tests' request timeouts leave the token limits and stop
/// rules in charge, which makes the suggestions depend on greedy decoding
/// alone.
pub fn unhurried_completions() -> Value {
    json!({ "completion": { "timeBudgetMs": 300_000, "requestBudgetMs": 300_000 } })
}

/// Starts the real server with the default model (see
/// [`spawn_with_default_model`]) and waits until the model is ready (see
/// [`wait_for_model_ready`]).
pub fn start_with_default_model(options: ServerOptions, timeout: Duration) -> Server {
    let server = spawn_with_default_model(options, timeout);
    wait_for_model_ready(&server);
    server
}

/// Starts the real server with `options` and the default model, without
/// waiting for the model to load. The model's path is added to
/// `options.init_options` (an object, such as [`unhurried_completions`], or
/// `None`), and `timeout` becomes the server's request timeout, which also
/// bounds the model's loading in [`wait_for_model_ready`].
///
/// # Panics
///
/// Panics when the default model has not been fetched (see
/// [`require_default_model`]).
pub fn spawn_with_default_model(mut options: ServerOptions, timeout: Duration) -> Server {
    let mut init = options.init_options.take().unwrap_or_else(|| json!({}));
    init["model"]["path"] = json!(require_default_model());
    options.init_options = Some(init);
    let mut server = Server::start(options);
    server.timeout = timeout;
    server
}

/// Waits, up to the server's request timeout, until `hearth/modelStatus`
/// leaves `loading`, and fails the test unless the model is then ready
/// (before that, every completion is an empty list).
pub fn wait_for_model_ready(server: &Server) {
    let status =
        server.wait_method("hearth/modelStatus", server.timeout, |p| p["state"] != "loading");
    if status["params"]["state"] != "ready" {
        server.fail(&format!("the model did not load: {status}"));
    }
}
