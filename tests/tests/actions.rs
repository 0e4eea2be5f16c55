//! Code actions from the real default model, end to end over LSP.
//!
//! Listing is checked for its labels and (loosely) its speed; each action is
//! resolved with the real model and its edit applied to the test's own copy
//! of the text, which must then still compile (Rust) or parse (Python), and
//! the edit must touch only the place the action is about. The model's
//! exact words are never asserted.

use std::{process::Command, time::Instant};

use hearth_tests::{
    Position, Server, ServerOptions,
    model::require_default_model,
    text::{offset_of, position_of},
};
use serde_json::{Value, json};

const RUST: &str = "\
/// Adds two numbers.
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

pub fn largest(values: &[i32]) -> Option<i32> {
    let mut best = None;
    for &value in values {
        if best.map_or(true, |b| value > b) {
            best = Some(value);
        }
    }
    best
}

pub fn is_palindrome(word: &str) -> bool {
    let chars: Vec<char> = word.chars().collect();
    chars.iter().eq(chars.iter().rev())
}
";

const PYTHON: &str = "\
import math


def circle_area(radius):
    return math.pi * radius ** 2


class Counter:
    def __init__(self):
        self.count = 0

    def increment(self, step=1):
        self.count += step
        return self.count
";

fn start(resolve: bool) -> Server {
    let options = ServerOptions {
        resolve_code_actions: resolve,
        work_done_progress: true,
        init_options: Some(json!({ "model": { "path": require_default_model() } })),
        ..ServerOptions::default()
    };
    let mut server = Server::start(options);
    server.timeout = std::time::Duration::from_secs(600);
    let status =
        server.wait_method("hearth/modelStatus", server.timeout, |p| p["state"] != "loading");
    assert_eq!(status["params"]["state"], "ready", "the model loads: {status}");
    server
}

/// The byte offset just after the first occurrence of `needle`.
fn after(text: &str, needle: &str) -> usize {
    text.find(needle).unwrap_or_else(|| panic!("{needle:?} in the fixture")) + needle.len()
}

fn list(server: &Server, uri: &str, text: &str, at: usize, diagnostics: Value) -> Vec<Value> {
    let position = position_of(text, at, server.position_encoding()).to_json();
    let started = Instant::now();
    let result = server
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": { "uri": uri },
                "range": { "start": position, "end": position },
                "context": { "diagnostics": diagnostics },
            }),
        )
        .unwrap_or_else(|err| server.fail(&format!("codeAction failed: {err}")));
    let elapsed = started.elapsed();
    eprintln!("listed in {elapsed:?}: {result}");
    // Listing never waits for the model; the bound is loose on purpose.
    assert!(elapsed.as_secs_f64() < 2.0, "listing took {elapsed:?}");
    result.as_array().cloned().unwrap_or_default()
}

fn titled<'a>(actions: &'a [Value], title: &str) -> &'a Value {
    actions
        .iter()
        .find(|it| it["title"] == title)
        .unwrap_or_else(|| panic!("an action {title:?} in {actions:?}"))
}

/// Resolves an action and returns its edits (range in bytes, new text).
fn resolve(server: &Server, text: &str, action: &Value) -> Vec<(std::ops::Range<usize>, String)> {
    let started = Instant::now();
    let resolved = server
        .request("codeAction/resolve", action.clone())
        .unwrap_or_else(|err| server.fail(&format!("resolve {}: {err}", action["title"])));
    eprintln!("{} resolved in {:?}", action["title"], started.elapsed());
    edits_of(server, text, &resolved["edit"])
}

fn edits_of(server: &Server, text: &str, edit: &Value) -> Vec<(std::ops::Range<usize>, String)> {
    let changes = edit["documentChanges"].as_array().unwrap_or_else(|| panic!("{edit}"));
    assert_eq!(changes.len(), 1, "one document is edited: {edit}");
    let encoding = server.position_encoding();
    let at = |p: &Value| {
        let position = Position::new(
            u32::try_from(p["line"].as_u64().unwrap()).unwrap(),
            u32::try_from(p["character"].as_u64().unwrap()).unwrap(),
        );
        offset_of(text, position, encoding)
    };
    changes[0]["edits"]
        .as_array()
        .unwrap_or_else(|| panic!("{edit}"))
        .iter()
        .map(|it| {
            let range = at(&it["range"]["start"])..at(&it["range"]["end"]);
            (range, it["newText"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

fn apply(text: &str, edits: &[(std::ops::Range<usize>, String)]) -> String {
    let mut out = text.to_owned();
    let mut sorted = edits.to_vec();
    sorted.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    for (range, new_text) in sorted {
        out.replace_range(range, &new_text);
    }
    out
}

/// Compiles `source` as a library (or its tests), returning rustc's errors.
fn rustc(source: &str, test: bool) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("lib.rs");
    std::fs::write(&file, source).expect("write the source");
    let mut command = Command::new("rustc");
    command.args(["--edition", "2021", "--crate-type", "lib", "-o"]);
    command.arg(dir.path().join("out")).arg(&file);
    if test {
        command.arg("--test");
    }
    let output = command.output().expect("rustc runs");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Whether rustc can at least parse `source`: its only errors, if any, are
/// type or borrow errors (with an error code), not syntax errors.
fn rust_parses(source: &str) -> Result<(), String> {
    match rustc(source, false) {
        Ok(()) => Ok(()),
        Err(errors) => {
            let syntax = errors.lines().any(|line| {
                line.starts_with("error:") && !line.starts_with("error: aborting due to")
            });
            if syntax { Err(errors) } else { Ok(()) }
        }
    }
}

fn python_parses(source: &str) -> Result<(), String> {
    let output = Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(sys.stdin.read())"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(source.as_bytes())?;
            child.wait_with_output()
        })
        .expect("python3 runs");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into())
    }
}

/// The edits touch only `allowed` (bytes of the original text).
fn assert_within(edits: &[(std::ops::Range<usize>, String)], allowed: std::ops::Range<usize>) {
    for (range, _) in edits {
        assert!(
            allowed.start <= range.start && range.end <= allowed.end,
            "edit {range:?} outside {allowed:?}"
        );
    }
}

#[test]
fn rust_actions_are_listed_resolved_and_compile() {
    let server = start(true);
    let uri = "file:///work/demo/src/lib.rs";
    server.did_open(uri, "rust", 1, RUST);
    let item_start = RUST.find("pub fn largest").unwrap();
    let item_end = RUST.find("pub fn is_palindrome").unwrap() - 1;
    let actions = list(&server, uri, RUST, after(RUST, "let mut best"), json!([]));
    let titles: Vec<&str> = actions.iter().filter_map(|it| it["title"].as_str()).collect();
    for title in [
        "Hearth: Document this function",
        "Hearth: Write a test for this function",
        "Hearth: Explain this function",
    ] {
        assert!(titles.contains(&title), "{title:?} is offered: {titles:?}");
    }
    assert!(!titles.iter().any(|it| it.contains("Fix")), "no fix without a diagnostic");

    for title in ["Hearth: Document this function", "Hearth: Explain this function"] {
        let edits = resolve(&server, RUST, titled(&actions, title));
        let edited = apply(RUST, &edits);
        eprintln!("{title}:\n{edited}");
        // Comments go above the item, nothing else moves.
        assert_within(&edits, item_start..item_start);
        assert!(edited.len() > RUST.len(), "{title} adds text");
        if let Err(errors) = rustc(&edited, false) {
            panic!("{title} broke the file:\n{errors}\n{edited}");
        }
    }
    // The item's documentation is in Rust's style.
    let edits = resolve(&server, RUST, titled(&actions, "Hearth: Document this function"));
    assert!(
        edits.iter().all(|(_, text)| text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with("///"))),
        "{edits:?}"
    );
    let _ = item_end;
}

#[test]
fn rust_tests_compile_for_most_functions() {
    let server = start(true);
    let uri = "file:///work/demo/src/lib.rs";
    server.did_open(uri, "rust", 1, RUST);
    let mut compiled = 0;
    for inside in ["a + b", "let mut best", "chars.iter()"] {
        let actions = list(&server, uri, RUST, after(RUST, inside), json!([]));
        let action = titled(&actions, "Hearth: Write a test for this function");
        let server_result = server.request("codeAction/resolve", action.clone());
        let Ok(resolved) = server_result else {
            eprintln!("no test for {inside:?}: {server_result:?}");
            continue;
        };
        let edits = edits_of(&server, RUST, &resolved["edit"]);
        let edited = apply(RUST, &edits);
        // The test goes after the functions, never inside one.
        let first_fn_end = RUST.find("\n}\n").unwrap();
        assert!(edits.iter().all(|(range, _)| range.start > first_fn_end), "{edits:?}");
        assert!(edited.contains("#[cfg(test)]") && edited.contains("#[test]"), "{edited}");
        match rustc(&edited, true) {
            Ok(()) => compiled += 1,
            Err(errors) => {
                eprintln!("the test for {inside:?} does not compile:\n{errors}\n{edited}")
            }
        }
    }
    assert!(compiled >= 2, "tests compile for {compiled} of 3 functions");
}

#[test]
fn fix_replaces_only_the_item_with_the_diagnostic() {
    let server = start(true);
    let uri = "file:///work/demo/src/lib.rs";
    let source = "pub fn halve(n: i32) -> i32 {\n    n / 2.0\n}\n\npub fn double(n: i32) -> i32 {\n    n * 2\n}\n";
    server.did_open(uri, "rust", 1, source);
    let at = after(source, "n / 2");
    let start = position_of(source, source.find("n / 2.0").unwrap(), server.position_encoding());
    let end = position_of(source, after(source, "2.0"), server.position_encoding());
    let diagnostic = json!([{
        "range": { "start": start.to_json(), "end": end.to_json() },
        "severity": 1,
        "message": "mismatched types: expected `i32`, found floating-point number; cannot divide `i32` by `{float}`",
    }]);
    let actions = list(&server, uri, source, at, diagnostic);
    let fix = titled(&actions, "Hearth: Fix this diagnostic");
    assert_eq!(fix["kind"], "quickfix");
    let edits = resolve(&server, source, fix);
    let edited = apply(source, &edits);
    eprintln!("fixed:\n{edited}");
    let item_end = source.find("\n\npub fn double").unwrap();
    assert_within(&edits, 0..item_end);
    assert!(edited.ends_with("pub fn double(n: i32) -> i32 {\n    n * 2\n}\n"), "{edited}");
    // Whether the 0.5B model's fix is right is for the closing note; the
    // file must still parse.
    if let Err(errors) = rust_parses(&edited) {
        panic!("the fix broke the syntax:\n{errors}\n{edited}");
    }
    eprintln!("the fix compiles: {}", rustc(&edited, false).is_ok());
}

#[test]
fn python_actions_follow_python_conventions() {
    let server = start(true);
    let uri = "file:///work/demo/shapes.py";
    server.did_open(uri, "python", 1, PYTHON);
    let actions = list(&server, uri, PYTHON, after(PYTHON, "self.count +="), json!([]));
    let def_start = PYTHON.find("    def increment").unwrap();

    let edits = resolve(&server, PYTHON, titled(&actions, "Hearth: Document this method"));
    let edited = apply(PYTHON, &edits);
    eprintln!("documented:\n{edited}");
    python_parses(&edited).unwrap_or_else(|err| panic!("{err}\n{edited}"));
    // A docstring inside the method, indented as its body.
    let body = &edited[edited.find("    def increment").unwrap()..];
    let second_line = body.lines().nth(1).unwrap_or_default();
    assert!(second_line.starts_with("        \"\"\""), "docstring first in the body: {body}");

    let edits = resolve(&server, PYTHON, titled(&actions, "Hearth: Explain this method"));
    assert_within(&edits, def_start..def_start);
    let edited = apply(PYTHON, &edits);
    python_parses(&edited).unwrap_or_else(|err| panic!("{err}\n{edited}"));

    let edits = resolve(&server, PYTHON, titled(&actions, "Hearth: Write a test for this method"));
    let edited = apply(PYTHON, &edits);
    eprintln!("tested:\n{edited}");
    python_parses(&edited).unwrap_or_else(|err| panic!("{err}\n{edited}"));
    assert!(edited.contains("def test_"), "{edited}");
    // After the class, at the top level: never inside the method.
    assert!(edits.iter().all(|(range, _)| range.start >= PYTHON.trim_end().len()), "{edits:?}");
}

#[test]
fn stale_actions_and_clients_without_resolve() {
    let server = start(false);
    let uri = "file:///work/demo/src/lib.rs";
    server.did_open(uri, "rust", 1, RUST);
    let actions = list(&server, uri, RUST, after(RUST, "a + b"), json!([]));
    let explain = titled(&actions, "Hearth: Explain this function");
    // Without resolve support, the action is a command that applies the
    // edit through `workspace/applyEdit`.
    assert_eq!(explain["command"]["command"], "hearth.applyAction", "{explain}");
    let command = explain["command"].clone();
    server
        .request(
            "workspace/executeCommand",
            json!({ "command": command["command"], "arguments": command["arguments"] }),
        )
        .unwrap_or_else(|err| server.fail(&format!("executeCommand: {err}")));
    let applied: Vec<Value> = server
        .server_requests()
        .into_iter()
        .filter(|it| it["method"] == "workspace/applyEdit")
        .collect();
    assert_eq!(applied.len(), 1, "{applied:?}");
    let edits = edits_of(&server, RUST, &applied[0]["params"]["edit"]);
    assert_within(&edits, 0..0);

    // An action listed for an older version is refused, not applied.
    server.did_change(uri, 2, &[hearth_tests::text::Change::full(format!("{RUST}\n"))]);
    let stale = server.request(
        "workspace/executeCommand",
        json!({ "command": command["command"], "arguments": command["arguments"] }),
    );
    let error = stale.expect_err("a stale action fails");
    assert!(error.to_string().contains("changed"), "{error}");

    // Rewrite takes the editor's instruction and the selection.
    let text = format!("{RUST}\n");
    let start =
        position_of(&text, text.find("pub fn is_palindrome").unwrap(), server.position_encoding());
    let end = position_of(&text, text.trim_end().len(), server.position_encoding());
    server
        .request(
            "workspace/executeCommand",
            json!({
                "command": "hearth.rewrite",
                "arguments": [{
                    "textDocument": { "uri": uri },
                    "range": { "start": start.to_json(), "end": end.to_json() },
                    "instruction": "Compare bytes instead of chars.",
                }],
            }),
        )
        .unwrap_or_else(|err| server.fail(&format!("rewrite: {err}")));
    let applied: Vec<Value> = server
        .server_requests()
        .into_iter()
        .filter(|it| it["method"] == "workspace/applyEdit")
        .collect();
    let edits = edits_of(&server, &text, &applied[1]["params"]["edit"]);
    let edited = apply(&text, &edits);
    eprintln!("rewritten:\n{edited}");
    assert_within(&edits, text.find("pub fn is_palindrome").unwrap()..text.len());
    assert!(edited.starts_with(&text[..text.find("pub fn is_palindrome").unwrap()]));
    if let Err(errors) = rust_parses(&edited) {
        panic!("the rewrite broke the syntax:\n{errors}\n{edited}");
    }
}

/// Resolving shows cancellable progress, and cancelling it from the
/// progress display ends the action with an error and no edit.
#[test]
fn actions_show_progress_and_can_be_cancelled() {
    let server = start(true);
    let uri = "file:///work/demo/src/lib.rs";
    server.did_open(uri, "rust", 1, RUST);
    let actions = list(&server, uri, RUST, after(RUST, "let mut best"), json!([]));
    let test = titled(&actions, "Hearth: Write a test for this function").clone();
    let id = server.request_async("codeAction/resolve", test);
    let begin = server.wait_method("$/progress", server.timeout, |p| {
        p["value"]["kind"] == "begin"
            && p["token"].as_str().is_some_and(|it| it.starts_with("hearth/action"))
    });
    assert_eq!(begin["params"]["value"]["cancellable"], true, "{begin}");
    let token = begin["params"]["token"].clone();
    server.notify("window/workDoneProgress/cancel", json!({ "token": token }));
    let response = server.wait_response(id, server.timeout);
    assert!(response.get("error").is_some(), "a cancelled action has no edit: {response}");
    server.wait_method("$/progress", server.timeout, |p| {
        p["token"] == token && p["value"]["kind"] == "end"
    });
}

#[test]
fn python_fix_and_rewrite_replace_only_their_target() {
    let server = start(true);
    let uri = "file:///work/demo/numbers.py";
    let source = "def halve(n):\n    return n / 2\n\n\ndef double(n):\n    return n * 2\n";
    server.did_open(uri, "python", 1, source);
    let encoding = server.position_encoding();
    let start = position_of(source, source.find("n / 2").unwrap(), encoding);
    let end = position_of(source, after(source, "n / 2"), encoding);
    let diagnostic = json!([{
        "range": { "start": start.to_json(), "end": end.to_json() },
        "severity": 1,
        "message": "Incompatible return value: expected \"int\", got \"float\"; use integer division",
    }]);
    let actions = list(&server, uri, source, after(source, "return n /"), diagnostic);
    let edits = resolve(&server, source, titled(&actions, "Hearth: Fix this diagnostic"));
    let edited = apply(source, &edits);
    eprintln!("fixed:\n{edited}");
    let item_end = source.find("\n\n\ndef double").unwrap();
    assert_within(&edits, 0..item_end);
    python_parses(&edited).unwrap_or_else(|err| panic!("{err}\n{edited}"));
    assert!(edited.ends_with("def double(n):\n    return n * 2\n"), "{edited}");

    let from = source.find("def double").unwrap();
    let start = position_of(source, from, encoding);
    let end = position_of(source, source.len(), encoding);
    server
        .request(
            "workspace/executeCommand",
            json!({
                "command": "hearth.rewrite",
                "arguments": [{
                    "textDocument": { "uri": uri },
                    "range": { "start": start.to_json(), "end": end.to_json() },
                    "instruction": "Add a type hint for the argument and the return value.",
                }],
            }),
        )
        .unwrap_or_else(|err| server.fail(&format!("rewrite: {err}")));
    let applied: Vec<Value> = server
        .server_requests()
        .into_iter()
        .filter(|it| it["method"] == "workspace/applyEdit")
        .collect();
    let edits = edits_of(&server, source, &applied[0]["params"]["edit"]);
    let edited = apply(source, &edits);
    eprintln!("rewritten:\n{edited}");
    assert_within(&edits, from..source.len());
    python_parses(&edited).unwrap_or_else(|err| panic!("{err}\n{edited}"));
    assert!(edited.starts_with(&source[..from]), "{edited}");
}

/// An action's long generation gives way to completions: a completion asked
/// while the action runs is answered before the action.
#[test]
fn completions_go_before_a_running_action() {
    let options = ServerOptions {
        resolve_code_actions: true,
        inline_completion: true,
        init_options: Some(json!({ "model": { "path": require_default_model() } })),
        ..ServerOptions::default()
    };
    let mut server = Server::start(options);
    server.timeout = std::time::Duration::from_secs(600);
    let status =
        server.wait_method("hearth/modelStatus", server.timeout, |p| p["state"] != "loading");
    assert_eq!(status["params"]["state"], "ready", "{status}");
    let uri = "file:///work/demo/src/lib.rs";
    server.did_open(uri, "rust", 1, RUST);
    let actions = list(&server, uri, RUST, after(RUST, "let mut best"), json!([]));
    let test = titled(&actions, "Hearth: Write a test for this function").clone();
    let action_id = server.request_async("codeAction/resolve", test);
    // Let the action start generating, then ask for a completion.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let cursor = position_of(RUST, after(RUST, "let mut best"), server.position_encoding());
    let completion_id = server.request_async(
        "textDocument/inlineCompletion",
        json!({
            "textDocument": { "uri": uri },
            "position": cursor.to_json(),
            "context": { "triggerKind": 1 },
        }),
    );
    let completion = server.wait_response(completion_id, server.timeout);
    let action = server.wait_response(action_id, server.timeout);
    assert!(completion.get("error").is_none(), "{completion}");
    assert!(action.get("error").is_none(), "the action still finishes: {action}");
    let received = server.received();
    let arrival =
        |id: i64| received.iter().position(|m| m["id"] == id && m.get("method").is_none()).unwrap();
    assert!(arrival(completion_id) < arrival(action_id), "the completion is answered first");
}
