//! Model loading: every way of failing to load tells the user once, with the
//! path and the fix, and leaves the server serving; the real default model
//! loads in the background with status and progress reports.
//!
//! The tests that need the real model fail (never skip) when it is missing;
//! run `scripts/fetch-model` to provision it.

use std::{
    io::Write,
    path::Path,
    time::{Duration, Instant},
};

use hearth_tests::{
    Server, ServerOptions,
    model::{default_model_path, require_default_model},
    rng::Rng,
};
use serde_json::{Value, json};

/// How long loading the real model may take on a slow, busy machine.
const LOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// How long to keep listening for a duplicate error message after the first.
const QUIET_PERIOD: Duration = Duration::from_millis(500);

/// Options that load the model at `path` (given as an initialization option).
fn with_model_path(path: &Path) -> ServerOptions {
    ServerOptions {
        init_options: Some(json!({ "model": { "path": path } })),
        ..ServerOptions::testing()
    }
}

fn is_error_message(params: &Value) -> bool {
    params["type"] == 1
}

/// Starts a server whose model fails to load from `path`, and checks the
/// failure is reported exactly once, with the path and the fix, while the
/// server keeps serving.
fn assert_load_failure_reported(options: ServerOptions, path: &Path) {
    let server = Server::start(options);
    let path_text = path.display().to_string();
    let status = server.wait_method("hearth/modelStatus", LOAD_TIMEOUT, |p| p["state"] == "error");
    assert_eq!(status["params"]["path"], path_text.as_str(), "{status}");
    assert!(status["params"]["message"].is_string(), "the error status explains itself: {status}");

    let shown =
        server.wait_logged("window/showMessage", 1, Duration::from_secs(10), is_error_message);
    let message = shown[0]["params"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&path_text), "the message names the path {path_text}: {message}");
    assert!(message.contains("scripts/fetch-model"), "the message says how to fix it: {message}");

    // Still serving, and no second message after a while.
    server.did_open("file:///after-failure.rs", "rust", 1, "fn main() {}\n");
    let doc = server.debug_document("file:///after-failure.rs", None).expect("debugDocument");
    assert_eq!(doc["text"], "fn main() {}\n");
    std::thread::sleep(QUIET_PERIOD);
    let errors: Vec<Value> = server
        .received_notifications("window/showMessage")
        .into_iter()
        .filter(|m| is_error_message(&m["params"]))
        .collect();
    assert_eq!(errors.len(), 1, "exactly one error message: {errors:?}");
    let states = status_states(&server);
    assert!(!states.contains(&"ready".to_owned()), "a broken model is never ready: {states:?}");
    let status = server.request("hearth/status", Value::Null).expect("hearth/status");
    assert_eq!(status["model"]["state"], "error", "{status}");
    assert_eq!(status["model"]["path"], path_text.as_str(), "{status}");
    assert!(status["completion"].is_null(), "no counters without a model: {status}");
    eprintln!("model states: {states:?}; message: {message}");
    let exit = server.shutdown_and_exit();
    assert_eq!(exit.code(), Some(0));
}

/// The `state` of every `hearth/modelStatus` received so far, in order.
fn status_states(server: &Server) -> Vec<String> {
    server
        .received_notifications("hearth/modelStatus")
        .iter()
        .map(|m| m["params"]["state"].as_str().unwrap_or("?").to_owned())
        .collect()
}

#[test]
fn missing_model_file_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-model.gguf");
    assert_load_failure_reported(with_model_path(&path), &path);
}

#[test]
fn truncated_model_is_reported_once() {
    let real = require_default_model();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated.gguf");
    // The first megabyte has a valid GGUF header and metadata but the tensor
    // data is cut off.
    let mut head = vec![0; 1 << 20];
    std::io::Read::read_exact(&mut std::fs::File::open(&real).unwrap(), &mut head).unwrap();
    std::fs::write(&path, &head).unwrap();
    assert_load_failure_reported(with_model_path(&path), &path);
}

#[test]
fn random_bytes_are_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.gguf");
    let mut bytes = vec![0; 1 << 20];
    Rng::new(0x6775_6666).fill_bytes(&mut bytes);
    std::fs::write(&path, &bytes).unwrap();
    assert_load_failure_reported(with_model_path(&path), &path);
}

#[test]
fn text_file_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.gguf");
    let mut file = std::fs::File::create(&path).unwrap();
    for i in 0..1000 {
        writeln!(file, "line {i}: this is a text file, not a GGUF model").unwrap();
    }
    drop(file);
    assert_load_failure_reported(with_model_path(&path), &path);
}

/// `HEARTH_MODEL` selects the model when no option does.
#[test]
fn model_env_is_used_without_an_option() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("from-env.gguf");
    let options = ServerOptions::testing().env("HEARTH_MODEL", path.display().to_string());
    let options = ServerOptions { init_options: None, ..options };
    assert_load_failure_reported(options, &path);
}

/// The initialization option wins over `HEARTH_MODEL`.
#[test]
fn model_option_wins_over_env() {
    let dir = tempfile::tempdir().unwrap();
    let from_env = dir.path().join("from-env.gguf");
    let from_option = dir.path().join("from-option.gguf");
    let options = with_model_path(&from_option).env("HEARTH_MODEL", from_env.display().to_string());
    assert_load_failure_reported(options, &from_option);
}

/// A disabled model reports `disabled` and never complains.
#[test]
fn disabled_model_reports_disabled_and_no_error() {
    let options = ServerOptions {
        init_options: Some(json!({ "model": { "enabled": false, "path": "/nonexistent/x.gguf" } })),
        ..ServerOptions::testing()
    };
    let server = Server::start(options);
    let status = server
        .wait_method("hearth/modelStatus", Duration::from_secs(10), |p| p["state"] == "disabled");
    eprintln!("{status}");
    server.did_open("file:///a.txt", "plaintext", 1, "a");
    assert_eq!(server.text_of("file:///a.txt"), "a");
    std::thread::sleep(QUIET_PERIOD);
    let shown = server.received_notifications("window/showMessage");
    assert!(shown.is_empty(), "a disabled model is not an error: {shown:?}");
    let states = status_states(&server);
    assert!(states.iter().all(|s| s == "disabled"), "only disabled: {states:?}");
}

/// The real model loads: `loading` then `ready`, with a work-done progress
/// (created by a server request, then `begin` … `end`) because the client
/// announced support for it.
#[test]
fn real_model_loads_with_status_and_progress() {
    let path = require_default_model();
    let options = ServerOptions { work_done_progress: true, ..with_model_path(&path) };
    let started = Instant::now();
    let server = Server::start(options);
    let ready = server.wait_method("hearth/modelStatus", LOAD_TIMEOUT, |p| p["state"] != "loading");
    let load_time = started.elapsed();
    assert_eq!(ready["params"]["state"], "ready", "{ready}");
    assert_eq!(ready["params"]["path"], path.display().to_string().as_str(), "{ready}");
    eprintln!("model ready after {:.2} s", load_time.as_secs_f64());

    let end = server.wait_method("$/progress", LOAD_TIMEOUT, |p| p["value"]["kind"] == "end");
    let token = end["params"]["token"].clone();
    let log = server.received();
    let create_at = log
        .iter()
        .position(|m| {
            m["method"] == "window/workDoneProgress/create"
                && m.get("id").is_some()
                && m["params"]["token"] == token
        })
        .unwrap_or_else(|| panic!("no window/workDoneProgress/create for token {token}: {log:?}"));
    let progress: Vec<(usize, &Value)> = log
        .iter()
        .enumerate()
        .filter(|(_, m)| m["method"] == "$/progress" && m["params"]["token"] == token)
        .collect();
    let kinds: Vec<&str> = progress
        .iter()
        .map(|(_, m)| m["params"]["value"]["kind"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(kinds.first(), Some(&"begin"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"end"), "{kinds:?}");
    assert!(kinds[1..kinds.len() - 1].iter().all(|k| *k == "report"), "{kinds:?}");
    assert!(create_at < progress[0].0, "create comes before begin");
    assert!(
        progress[0].1["params"]["value"]["title"].is_string(),
        "begin has a title: {:?}",
        progress[0]
    );

    let states = status_states(&server);
    assert_eq!(states.first().map(String::as_str), Some("loading"), "{states:?}");
    assert_eq!(states.last().map(String::as_str), Some("ready"), "{states:?}");
    assert!(!states.contains(&"error".to_owned()), "{states:?}");
    let errors: Vec<Value> = server
        .received_notifications("window/showMessage")
        .into_iter()
        .filter(|m| is_error_message(&m["params"]))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");

    // A status display that starts late asks for the same state.
    let status = server.request("hearth/status", Value::Null).expect("hearth/status");
    assert_eq!(status["model"], ready["params"], "{status}");
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"), "{status}");
    assert_eq!(status["completion"]["answered"], 0, "{status}");
    let exit = server.shutdown_and_exit();
    assert_eq!(exit.code(), Some(0));
}

/// With no path configured, the server finds the model where
/// `scripts/fetch-model` puts it; without `window.workDoneProgress` it sends
/// no progress.
#[test]
fn default_model_is_found_without_configuration() {
    let path = require_default_model();
    assert_eq!(path, default_model_path());
    let options = ServerOptions { init_options: None, ..ServerOptions::testing() };
    let server = Server::start(options);
    let ready = server.wait_method("hearth/modelStatus", LOAD_TIMEOUT, |p| p["state"] != "loading");
    assert_eq!(ready["params"]["state"], "ready", "{ready}");
    assert_eq!(ready["params"]["path"], path.display().to_string().as_str(), "{ready}");
    let creates: Vec<Value> = server
        .server_requests()
        .into_iter()
        .filter(|m| m["method"] == "window/workDoneProgress/create")
        .collect();
    assert!(creates.is_empty(), "the client did not announce progress support: {creates:?}");
    assert!(server.received_notifications("$/progress").is_empty());
    let exit = server.shutdown_and_exit();
    assert_eq!(exit.code(), Some(0));
}
