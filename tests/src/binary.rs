//! Locating the `hearth` binary under test.
//!
//! The binary belongs to another package, so Cargo does not provide
//! `CARGO_BIN_EXE_hearth` here. Instead the binary is found next to the test
//! executable's own profile directory, or through `HEARTH_BIN`.

use std::path::{Path, PathBuf};

/// The environment variable that overrides the binary's location.
pub const HEARTH_BIN_ENV: &str = "HEARTH_BIN";

/// The path of the `hearth` binary to test.
///
/// `HEARTH_BIN` wins when it is set. Otherwise the test executable lives in
/// `target/<profile>/deps/`, so the binary is expected at
/// `target/<profile>/hearth`; when that profile has no binary (for example a
/// debug test run), `target/release/hearth` is used, because the release build
/// is the one the suite is meant to run against.
///
/// # Panics
///
/// Panics with instructions when no binary can be found, because every test
/// in this crate needs one and a clear message beats a spawn error.
pub fn hearth_binary() -> PathBuf {
    if let Some(path) = std::env::var_os(HEARTH_BIN_ENV).filter(|it| !it.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{HEARTH_BIN_ENV} is set to {}, which is not a file",
            path.display()
        );
        return path;
    }
    let exe = std::env::current_exe().expect("the test executable has a path");
    let candidates = candidate_paths(&exe);
    if let Some(found) = candidates.iter().find(|it| it.is_file()) {
        return found.clone();
    }
    let tried: Vec<String> = candidates.iter().map(|it| it.display().to_string()).collect();
    panic!(
        "the hearth binary was not found (tried: {}); run `cargo build --release -p hearth` \
         first, or set {HEARTH_BIN_ENV} to its path",
        tried.join(", ")
    );
}

/// Where the binary may be, in order of preference, for a test executable at
/// `exe` (normally `target/<profile>/deps/<name>-<hash>`).
fn candidate_paths(exe: &Path) -> Vec<PathBuf> {
    let name = format!("hearth{}", std::env::consts::EXE_SUFFIX);
    let mut out = Vec::new();
    let Some(deps) = exe.parent() else { return out };
    // Cargo puts test executables in `deps/`; be lenient if that ever changes.
    let profile_dir = if deps.file_name().is_some_and(|it| it == "deps") {
        deps.parent().unwrap_or(deps)
    } else {
        deps
    };
    out.push(profile_dir.join(&name));
    if let Some(target) = profile_dir.parent() {
        let release = target.join("release").join(&name);
        if !out.contains(&release) {
            out.push(release);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_go_from_deps_to_the_profile_directory() {
        let exe = Path::new("/w/target/debug/deps/documents-0123abcd");
        let found = candidate_paths(exe);
        let suffix = std::env::consts::EXE_SUFFIX;
        assert_eq!(
            found,
            vec![
                PathBuf::from(format!("/w/target/debug/hearth{suffix}")),
                PathBuf::from(format!("/w/target/release/hearth{suffix}")),
            ]
        );
    }

    #[test]
    fn a_release_test_executable_has_one_candidate() {
        let exe = Path::new("/w/target/release/deps/model-0123abcd");
        let suffix = std::env::consts::EXE_SUFFIX;
        assert_eq!(
            candidate_paths(exe),
            vec![PathBuf::from(format!("/w/target/release/hearth{suffix}"))]
        );
    }
}
