//! The server's life cycle: command-line flags, the `initialize` handshake,
//! position-encoding negotiation, and the ways the process ends.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use hearth_tests::{Server, ServerOptions, binary::hearth_binary};
use serde_json::json;

/// `initialize` answers with the server's name and the text-sync settings the
/// rest of the suite relies on, and `shutdown` + `exit` ends the process with
/// code 0. The handshake latency is printed; the bound is loose because tests
/// assert behaviour, not speed (it is normally a few milliseconds).
#[test]
fn initialize_then_shutdown_and_exit_with_code_zero() {
    let mut server = Server::spawn(ServerOptions::testing());
    let started = Instant::now();
    let result = server.initialize().expect("initialize succeeds");
    let latency = started.elapsed();
    eprintln!("initialize latency: {:.2} ms", latency.as_secs_f64() * 1e3);
    assert!(latency < Duration::from_secs(2), "initialize took {latency:?}");
    server.initialized();

    assert_eq!(result["serverInfo"]["name"], "hearth", "initialize result: {result}");
    assert_eq!(
        result["capabilities"]["textDocumentSync"],
        json!({ "openClose": true, "change": 2 }),
        "initialize result: {result}"
    );

    let status = server.shutdown_and_exit();
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
}

/// An editor that dies closes the server's stdin without `shutdown`; the
/// server must notice and go away rather than linger.
#[test]
fn closing_stdin_ends_the_process_promptly() {
    let mut server = Server::start(ServerOptions::testing());
    // A round trip first, so the server is fully up before its input ends.
    let missing = server.debug_document("file:///nothing.txt", None);
    assert!(missing.is_err());
    let closed = Instant::now();
    server.close_stdin();
    let status = server.wait_exit(Duration::from_secs(5));
    let Some(status) = status else {
        server.fail("the server still runs 5 s after its stdin was closed");
    };
    eprintln!(
        "exited {:.0} ms after stdin closed with {status:?}",
        closed.elapsed().as_secs_f64() * 1e3
    );
}

/// Helix sends `exit` right behind `shutdown`, without waiting for its
/// answer, and keeps the server's stdin open until the process is gone. The
/// server must still end, with code 0, since `shutdown` came first.
#[test]
fn exit_right_behind_shutdown_ends_the_process_with_code_zero() {
    let mut server = Server::start(ServerOptions::testing());
    server.request_async("shutdown", serde_json::Value::Null);
    server.notify("exit", serde_json::Value::Null);
    let sent = Instant::now();
    let Some(status) = server.wait_exit(Duration::from_secs(5)) else {
        server.fail("the server still runs 5 s after `exit`, its stdin open");
    };
    eprintln!("exited {:.0} ms after `exit` with {status:?}", sent.elapsed().as_secs_f64() * 1e3);
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
}

/// `hearth --version` prints `hearth <semver>`, the workspace version.
#[test]
fn version_flag_prints_name_and_semver() {
    let output = Command::new(hearth_binary()).arg("--version").output().expect("run hearth");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    let line = stdout.trim();
    let (name, version) = line.split_once(' ').unwrap_or_else(|| panic!("output {line:?}"));
    assert_eq!(name, "hearth", "output {line:?}");
    assert!(is_semver(version), "{version:?} is not a semantic version (output {line:?})");
    // The test crate and the server both take the workspace version.
    assert_eq!(version, env!("CARGO_PKG_VERSION"), "output {line:?}");
}

/// `hearth --help` describes the command and exits 0, without waiting for
/// LSP input.
#[test]
fn help_flag_exits_zero() {
    let output = Command::new(hearth_binary()).arg("--help").output().expect("run hearth");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("hearth"), "help output: {stdout}");
}

fn negotiated(encodings: Option<Vec<&'static str>>) -> String {
    let options = ServerOptions { encodings, ..ServerOptions::testing() };
    let server = Server::start(options);
    let result = server.initialize_result.clone().expect("initialized");
    let encoding = result["capabilities"]["positionEncoding"]
        .as_str()
        .unwrap_or_else(|| panic!("no positionEncoding in {result}"))
        .to_owned();
    let status = server.shutdown_and_exit();
    assert_eq!(status.code(), Some(0));
    encoding
}

#[test]
fn encoding_prefers_utf8_when_offered() {
    assert_eq!(negotiated(Some(vec!["utf-16", "utf-32", "utf-8"])), "utf-8");
}

#[test]
fn encoding_falls_back_to_utf16_when_offered() {
    assert_eq!(negotiated(Some(vec!["utf-32", "utf-16"])), "utf-16");
}

#[test]
fn encoding_is_utf16_when_the_client_lists_none() {
    assert_eq!(negotiated(None), "utf-16");
}

#[test]
fn encoding_is_utf32_when_it_is_the_only_one_offered() {
    assert_eq!(negotiated(Some(vec!["utf-32"])), "utf-32");
}

/// `MAJOR.MINOR.PATCH` with an optional `-pre` and `+build` suffix.
fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p == &"0" || !p.starts_with('0'))
        })
}

/// The completion kinds advertised for a client with (or without) inline
/// completion and a `completion.completionItems` setting.
fn advertised(inline: bool, items: Option<&str>) -> (bool, bool) {
    let mut completion = json!({});
    if let Some(items) = items {
        completion["completionItems"] = items.into();
    }
    let options = ServerOptions {
        inline_completion: inline,
        init_options: Some(json!({
            "model": { "enabled": false },
            "completion": completion,
        })),
        ..ServerOptions::default()
    };
    let server = Server::start(options);
    let caps = &server.initialize_result.as_ref().expect("initialized")["capabilities"];
    let answer = (caps["inlineCompletionProvider"] == true, caps["completionProvider"].is_object());
    server.shutdown_and_exit();
    answer
}

#[test]
fn completion_kinds_follow_the_client_unless_configured() {
    // Ghost text or a menu, never the same suggestion twice by default.
    assert_eq!(advertised(true, None), (true, false));
    assert_eq!(advertised(false, None), (false, true));
    assert_eq!(advertised(true, Some("always")), (true, true));
    assert_eq!(advertised(false, Some("never")), (false, false));
}
