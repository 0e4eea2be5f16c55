//! Where the default model lives, for the tests that need the real file.
//!
//! The path mirrors `scripts/fetch-model --print-path`:
//! `${XDG_CACHE_HOME:-~/.cache}/hearth/models/<file>`. Tests that need the
//! model fail (never skip) when it is missing, because a skipped model test
//! would report success for a suite that checked nothing.

use std::path::PathBuf;

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
