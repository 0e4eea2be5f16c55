//! Privacy: with its default settings Hearth talks to nothing but its
//! editor, writes nothing but its log (stderr), and a code action edits only
//! the document it was asked about. Proved on the real binary with the real
//! model, in the ways the kernel sees it:
//!
//! - under `strace -f -e trace=network`, a session (workspace scan,
//!   completion, code actions, shutdown) makes no socket system call at all;
//! - in a network namespace of its own (`unshare -n`: no interface but a
//!   loopback that is down), it completes and lists actions as usual;
//! - under `strace -f -e trace=%file`, with `HOME` and `XDG_CACHE_HOME` in a
//!   temporary directory, it opens no file for writing and creates, renames
//!   or deletes none, outside its cache directory; the workspace's files are
//!   unchanged, and `hearth.rewrite`'s edit names only the document it was
//!   run on.
//!
//! `strace` and `unshare` must be installed (`scripts/install-build-deps`
//! installs strace); the tests fail, not skip, without them, since a
//! skipped privacy check would prove nothing.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use hearth_tests::{
    Position, Server, ServerOptions,
    fixtures::{self, RUST_ACTIONS},
    model::{require_default_model, wait_for_model_ready},
};
use serde_json::{Value, json};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `program args` quietly; whether it succeeded.
fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).output().is_ok_and(|it| it.status.success())
}

/// `strace` writing the system calls in `class` of the server and all its
/// threads to `log`. Fails the test when strace is missing.
fn strace(class: &str, log: &Path) -> Vec<String> {
    assert!(
        succeeds("strace", &["-V"]),
        "strace is needed to check what Hearth does; install it (`apt-get install strace`, \
         which scripts/install-build-deps does)"
    );
    let mut wrapper: Vec<String> =
        ["strace", "-f", "-qq", "-e"].iter().map(|it| (*it).to_owned()).collect();
    wrapper.push(format!("trace={class}"));
    // Stopping only at the traced calls keeps the model at its usual speed.
    if succeeds(
        "strace",
        &["--seccomp-bpf", "-f", "-e", "trace=network", "-o", "/dev/null", "true"],
    ) {
        wrapper.push("--seccomp-bpf".to_owned());
    }
    wrapper.extend(["-o".to_owned(), log.display().to_string()]);
    wrapper
}

/// A workspace folder with two Rust files, the way an editor opens one.
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let src = dir.path().join("src");
    fs::create_dir_all(&src).expect("create src/");
    fs::write(src.join("lib.rs"), RUST_ACTIONS).expect("write lib.rs");
    fs::write(src.join("other.rs"), "pub fn other() -> u32 {\n    7\n}\n").expect("write other.rs");
    let lib = src.join("lib.rs");
    (dir, lib)
}

/// Every file under `dir` with its contents and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("read a directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let modified = fs::metadata(&path).and_then(|it| it.modified()).expect("mtime");
                files.insert(path.clone(), (fs::read(&path).expect("read a file"), modified));
            }
        }
    }
    files
}

/// Starts the server (under `wrapper`) with the default model and `root` as
/// its workspace folder, and waits for the model. Nothing is configured but
/// the model's path, so what is checked is the default behaviour.
fn start(wrapper: Vec<String>, root: &Path, env: &[(&str, &Path)]) -> Server {
    let mut options = ServerOptions {
        inline_completion: true,
        init_options: Some(json!({ "model": { "path": require_default_model() } })),
        wrapper,
        ..ServerOptions::default()
    };
    for (key, value) in env {
        options = options.env(key, value.display().to_string());
    }
    let mut server = Server::spawn(options);
    server.timeout = REQUEST_TIMEOUT;
    let mut params = server.initialize_params();
    let root_uri = format!("file://{}", root.display());
    params["rootUri"] = json!(root_uri);
    params["workspaceFolders"] = json!([{ "uri": root_uri, "name": "demo" }]);
    let result = server.request("initialize", params).expect("initialize");
    server.initialize_result = Some(result);
    server.initialized();
    wait_for_model_ready(&server);
    server
}

/// What an editor does in a short session on `lib`: open it (with a new
/// function to complete), ask for a completion and for code actions.
/// Returns the suggestion and the document's text.
fn session(server: &Server, lib: &Path) -> (Option<String>, String) {
    let uri = format!("file://{}", lib.display());
    let text = fs::read_to_string(lib).expect("read lib.rs");
    let text = format!("{text}\nfn triple(n: i32) -> i32 {{\n    \n}}\n");
    server.did_open(&uri, "rust", 1, &text);
    let line = u32::try_from(text.lines().count()).unwrap() - 2;
    let result = server
        .request(
            "textDocument/inlineCompletion",
            json!({
                "textDocument": { "uri": uri },
                "position": Position::new(line, 4).to_json(),
                "context": { "triggerKind": 1 },
            }),
        )
        .unwrap_or_else(|err| server.fail(&format!("inlineCompletion: {err}")));
    let actions =
        fixtures::code_actions(server, &uri, Position::new(0, 0), Position::new(3, 0), json!([]));
    assert!(actions.as_array().is_some_and(|it| !it.is_empty()), "actions: {actions}");
    server.request("hearth/status", Value::Null).expect("status");
    (result["items"][0]["insertText"].as_str().map(str::to_owned), text)
}

/// The traced calls in a strace log, by name, with their lines.
fn calls(log: &Path) -> BTreeMap<String, Vec<String>> {
    let text = fs::read_to_string(log).expect("read the strace log");
    let mut calls: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        // `PID name(args) = result`, or `PID <... name resumed>...`.
        let rest = line.split_once(' ').map_or(line, |(_, rest)| rest).trim_start();
        let rest = rest.strip_prefix("<... ").unwrap_or(rest);
        let name: String =
            rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            calls.entry(name).or_default().push(line.to_owned());
        }
    }
    calls
}

#[test]
fn a_session_makes_no_socket_calls() {
    let (root, lib) = workspace();
    let log_dir = tempfile::tempdir().expect("a temporary directory");
    let log = log_dir.path().join("network.strace");
    let server = start(strace("network", &log), root.path(), &[]);
    let (suggestion, _) = session(&server, &lib);
    assert_eq!(server.shutdown_and_exit().code(), Some(0));
    let calls = calls(&log);
    let summary: Vec<String> =
        calls.iter().map(|(name, it)| format!("{name} x{}", it.len())).collect();
    eprintln!("suggestion {suggestion:?}; network system calls: {summary:?}");
    // A pair of connected local sockets is not a network; anything else is.
    let network: Vec<&String> = calls
        .iter()
        .filter(|(name, _)| *name != "socketpair")
        .flat_map(|(_, lines)| lines)
        .chain(calls.get("socketpair").into_iter().flatten().filter(|it| !it.contains("AF_UNIX")))
        .collect();
    assert!(network.is_empty(), "Hearth made network system calls:\n{network:#?}");
    assert!(suggestion.is_some(), "the session did complete");
}

/// The command that gives the server a network namespace of its own: plain
/// `unshare -n` as root, in a user namespace (`-r`) otherwise.
fn no_network() -> Vec<String> {
    let wrapper: &[&str] = if succeeds("unshare", &["-n", "true"]) {
        &["unshare", "-n"]
    } else if succeeds("unshare", &["-r", "-n", "true"]) {
        &["unshare", "-r", "-n"]
    } else {
        panic!(
            "`unshare -n` (util-linux) cannot make a network namespace here; run as root or \
             allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
        );
    };
    wrapper.iter().map(|it| (*it).to_owned()).collect()
}

#[test]
fn completes_in_a_network_namespace_without_interfaces() {
    let (root, lib) = workspace();
    let server = start(no_network(), root.path(), &[]);
    // `unshare` runs the server in its own process: this is the server's.
    let dev = fs::read_to_string(format!("/proc/{}/net/dev", server.pid())).expect("net/dev");
    let interfaces: Vec<&str> =
        dev.lines().skip(2).filter_map(|it| it.split(':').next()).map(str::trim).collect();
    eprintln!("interfaces the server sees: {interfaces:?}");
    assert_eq!(interfaces, ["lo"], "only a loopback interface");
    let (suggestion, _) = session(&server, &lib);
    eprintln!("suggestion without a network: {suggestion:?}");
    assert!(suggestion.is_some(), "completes without a network");
    assert_eq!(server.shutdown_and_exit().code(), Some(0));
}

/// Whether a traced file call writes: opens for writing or creating, or
/// creates, renames, deletes or changes a file.
fn writes(name: &str, line: &str) -> bool {
    match name {
        "open" | "openat" | "openat2" => ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"]
            .iter()
            .any(|it| line.contains(it)),
        "creat" | "rename" | "renameat" | "renameat2" | "unlink" | "unlinkat" | "mkdir"
        | "mkdirat" | "rmdir" | "truncate" | "link" | "linkat" | "symlink" | "symlinkat"
        | "chmod" | "fchmodat" | "chown" | "fchownat" | "lchown" | "utimensat" | "utimes"
        | "mknod" | "mknodat" => true,
        _ => false,
    }
}

/// The first quoted path in a strace line.
fn path_in(line: &str) -> Option<&str> {
    line.split('"').nth(1)
}

#[test]
fn writes_nothing_but_its_log_and_edits_only_the_document_asked_about() {
    let (root, lib) = workspace();
    let home = tempfile::tempdir().expect("a temporary directory");
    let cache = home.path().join("cache");
    fs::create_dir_all(&cache).expect("create the cache directory");
    let log_dir = tempfile::tempdir().expect("a temporary directory");
    let log = log_dir.path().join("files.strace");
    let before = snapshot(root.path());
    let env = [("HOME", home.path()), ("XDG_CACHE_HOME", cache.as_path())];
    let server = start(strace("%file", &log), root.path(), &env);
    let (suggestion, text) = session(&server, &lib);

    // A code action, run as editors without resolve support run them.
    let uri = format!("file://{}", lib.display());
    let start = text.find("pub fn add").expect("the add function");
    let end = start + text[start..].find("\n}\n").expect("its end") + 2;
    let applied = fixtures::rewrite(&server, &uri, &text, start..end, "use wrapping_add");
    eprintln!("rewrite: {applied:?}");
    let edits = fixtures::applied_edits(&server);
    assert_eq!(edits.len(), 1, "one edit applied: {edits:?}");
    let documents: Vec<&Value> = edits[0]["params"]["edit"]["documentChanges"]
        .as_array()
        .expect("documentChanges")
        .iter()
        .map(|it| &it["textDocument"]["uri"])
        .collect();
    assert_eq!(documents, [&json!(uri)], "the edit names only the document asked about");
    assert!(edits[0]["params"]["edit"]["changes"].is_null(), "{}", edits[0]);
    assert_eq!(server.shutdown_and_exit().code(), Some(0));

    let cwd = std::env::current_dir().expect("the current directory");
    let allowed = cache.join("hearth");
    let calls = calls(&log);
    let mut written = Vec::new();
    let mut inside = 0;
    for (name, lines) in &calls {
        for line in lines.iter().filter(|it| writes(name, it)) {
            let path = path_in(line).map(|it| cwd.join(it)).unwrap_or_default();
            if path.starts_with(&allowed) {
                inside += 1;
            } else {
                written.push(line.clone());
            }
        }
    }
    let summary: Vec<String> =
        calls.iter().map(|(name, it)| format!("{name} x{}", it.len())).collect();
    eprintln!(
        "suggestion {suggestion:?}; file system calls: {summary:?}; {inside} writing in {}, {} outside",
        allowed.display(),
        written.len()
    );
    assert!(written.is_empty(), "Hearth wrote outside its cache directory:\n{written:#?}");
    assert_eq!(snapshot(root.path()), before, "the workspace's files are as they were");
}
