//! What the bench programs that drive the real `hearth` binary share (the
//! typing replay and the code actions bench): their command-line numbers,
//! finding (or building) the binary, and checking and waiting for the default
//! model. They speak LSP through the integration tests' client
//! (`tests/src/client.rs`).

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::Duration,
};

use hearth_tests::{
    Server,
    model::{DEFAULT_MODEL_SIZE, default_model_path},
};
use serde_json::Value;

/// How long the model may take to load.
pub const MODEL_LOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// A bench program's `main` around its `run`: with `args` wrong, prints the
/// error and `usage` and exits with 2; else runs `run` and, when it fails,
/// prints its error after the program's `name` and exits with 1.
pub fn bench_main<A>(
    name: &str,
    usage: &str,
    args: Result<A, String>,
    run: impl FnOnce(&A) -> Result<(), String>,
) -> ExitCode {
    let args = match args {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}\n{usage}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{name}: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A command-line argument's number, or what is wrong with it.
pub fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("not a number: {text:?}"))
}

/// The workspace's root directory (the parent of `benches/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("benches/ has a parent").to_owned()
}

/// `HEARTH_BIN` when set, else the `hearth` next to the running bench's
/// profile directory (`target/release/deps/<bench>-*` →
/// `target/release/hearth`), built first when it is missing or `build` asks
/// for it.
pub fn ensure_binary(build: bool) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("HEARTH_BIN").filter(|it| !it.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("HEARTH_BIN is {}, which is not a file", path.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|err| format!("no path to this bench: {err}"))?;
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("unexpected bench location {}", exe.display()))?;
    let path = profile.join(format!("hearth{}", std::env::consts::EXE_SUFFIX));
    if build || !path.is_file() {
        eprintln!("building {} (cargo build --release -p hearth)", path.display());
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "hearth"])
            .current_dir(workspace_root())
            .status()
            .map_err(|err| format!("cannot run cargo: {err}"))?;
        if !status.success() || !path.is_file() {
            return Err(format!("building {} failed ({status})", path.display()));
        }
    }
    Ok(path)
}

/// The default model's path, or why it cannot be used (and how to fetch
/// it). The client clears `HEARTH_MODEL`, so the server always loads the
/// default model unless told otherwise in its initialization options.
pub fn check_model() -> Result<PathBuf, String> {
    let path = default_model_path();
    match std::fs::metadata(&path) {
        Ok(meta) if meta.len() == DEFAULT_MODEL_SIZE => Ok(path),
        Ok(meta) => Err(format!(
            "the default model at {} has {} bytes, not {DEFAULT_MODEL_SIZE}; run scripts/fetch-model again",
            path.display(),
            meta.len()
        )),
        Err(err) => Err(format!(
            "the default model is missing at {} ({err}); fetch it with scripts/fetch-model",
            path.display()
        )),
    }
}

/// Waits (up to [`MODEL_LOAD_TIMEOUT`]) for `hearth/modelStatus` to say the
/// model is ready.
pub fn wait_for_model(server: &Server) -> Result<(), String> {
    let settled = |m: &Value| {
        m["method"] == "hearth/modelStatus"
            && matches!(m["params"]["state"].as_str(), Some("ready" | "error" | "disabled"))
    };
    let status = server.try_wait_notification(MODEL_LOAD_TIMEOUT, settled).ok_or_else(|| {
        format!("the model was not ready within {MODEL_LOAD_TIMEOUT:?}\n{}", server.stderr_tail())
    })?;
    match status["params"]["state"].as_str() {
        Some("ready") => Ok(()),
        _ => Err(format!("the model did not load: {}", status["params"])),
    }
}
