//! Code actions from the real default model, end to end over LSP.
//!
//! Listing is checked for its labels and (loosely) its speed; each action is
//! resolved with the real model and its edit applied to the test's own copy
//! of the text, which must then still compile (Rust) or parse (Python), and
//! the edit must touch only the place the action is about. The model's
//! exact words are never asserted.

use std::{
    ops::Range,
    time::{Duration, Instant},
};

use hearth_tests::{
    RpcError, Server, ServerOptions,
    fixtures::{
        self, PYTHON_ACTIONS as PYTHON, RUST_ACTIONS as RUST, RUST_TYPE_ERROR, applied_edits,
        apply, code_actions, diagnostic,
    },
    model::start_with_default_model,
    text::position_of,
};
use serde_json::{Value, json};

/// How long loading the model and each request may take on a busy machine.
const TIMEOUT: Duration = Duration::from_secs(600);

/// Starts the server with the default model for a client that resolves code
/// actions lazily (`resolve`) or not, and waits for the model.
fn start(resolve: bool) -> Server {
    let options = ServerOptions {
        resolve_code_actions: resolve,
        work_done_progress: true,
        ..ServerOptions::default()
    };
    start_with_default_model(options, TIMEOUT)
}

/// The byte offset just after the first occurrence of `needle`.
fn after(text: &str, needle: &str) -> usize {
    text.find(needle).unwrap_or_else(|| panic!("{needle:?} in the fixture")) + needle.len()
}

fn list(server: &Server, uri: &str, text: &str, at: usize, diagnostics: Value) -> Vec<Value> {
    let position = position_of(text, at, server.position_encoding());
    let started = Instant::now();
    let result = code_actions(server, uri, position, position, diagnostics);
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
fn resolve(server: &Server, text: &str, action: &Value) -> Vec<(Range<usize>, String)> {
    let started = Instant::now();
    let resolved = server
        .request("codeAction/resolve", action.clone())
        .unwrap_or_else(|err| server.fail(&format!("resolve {}: {err}", action["title"])));
    eprintln!("{} resolved in {:?}", action["title"], started.elapsed());
    edits_of(server, text, &resolved["edit"])
}

/// A workspace edit's edits on its one document (range in bytes, new text).
fn edits_of(server: &Server, text: &str, edit: &Value) -> Vec<(Range<usize>, String)> {
    fixtures::edits_of(text, edit, server.position_encoding()).unwrap_or_else(|err| panic!("{err}"))
}

/// Compiles `source` as a library (or its tests), returning rustc's errors.
fn rustc(source: &str, test: bool) -> Result<(), String> {
    fixtures::rustc(source, test).expect("rustc runs")
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

/// Whether Python parses `source`, returning its complaint.
fn python_parses(source: &str) -> Result<(), String> {
    fixtures::python_parses(source).expect("python3 runs")
}

/// Runs a command an action carries (`command` and `arguments`) through
/// `workspace/executeCommand`.
fn execute(server: &Server, command: &Value) -> Result<Value, RpcError> {
    server.request(
        "workspace/executeCommand",
        json!({ "command": command["command"], "arguments": command["arguments"] }),
    )
}

/// Runs `hearth.rewrite` (see [`fixtures::rewrite`]), failing the test when
/// the server refuses.
fn rewrite(server: &Server, uri: &str, text: &str, selection: Range<usize>, instruction: &str) {
    fixtures::rewrite(server, uri, text, selection, instruction)
        .unwrap_or_else(|err| server.fail(&format!("rewrite: {err}")));
}

/// The edits touch only `allowed` (bytes of the original text).
fn assert_within(edits: &[(Range<usize>, String)], allowed: Range<usize>) {
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
    let source = RUST_TYPE_ERROR;
    server.did_open(uri, "rust", 1, source);
    let at = after(source, "n / 2");
    let over = source.find("n / 2.0").unwrap()..after(source, "2.0");
    let message = "mismatched types: expected `i32`, found floating-point number; cannot divide `i32` by `{float}`";
    let diagnostics = json!([diagnostic(&server, source, over, message)]);
    let actions = list(&server, uri, source, at, diagnostics);
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
    execute(&server, &command).unwrap_or_else(|err| server.fail(&format!("executeCommand: {err}")));
    let applied = applied_edits(&server);
    assert_eq!(applied.len(), 1, "{applied:?}");
    let edits = edits_of(&server, RUST, &applied[0]["params"]["edit"]);
    assert_within(&edits, 0..0);

    // An action listed for an older version is refused, not applied.
    server.did_change(uri, 2, &[hearth_tests::text::Change::full(format!("{RUST}\n"))]);
    let stale = execute(&server, &command);
    let error = stale.expect_err("a stale action fails");
    assert!(error.to_string().contains("changed"), "{error}");

    // Rewrite takes the editor's instruction and the selection.
    let text = format!("{RUST}\n");
    let selection = text.find("pub fn is_palindrome").unwrap()..text.trim_end().len();
    rewrite(&server, uri, &text, selection, "Compare bytes instead of chars.");
    let edits = edits_of(&server, &text, &applied_edits(&server)[1]["params"]["edit"]);
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
    assert_eq!(response["error"]["code"], -32800, "cancelled, not failed: {response}");
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
    let over = source.find("n / 2").unwrap()..after(source, "n / 2");
    let message =
        "Incompatible return value: expected \"int\", got \"float\"; use integer division";
    let diagnostics = json!([diagnostic(&server, source, over, message)]);
    let actions = list(&server, uri, source, after(source, "return n /"), diagnostics);
    let edits = resolve(&server, source, titled(&actions, "Hearth: Fix this diagnostic"));
    let edited = apply(source, &edits);
    eprintln!("fixed:\n{edited}");
    let item_end = source.find("\n\n\ndef double").unwrap();
    assert_within(&edits, 0..item_end);
    python_parses(&edited).unwrap_or_else(|err| panic!("{err}\n{edited}"));
    assert!(edited.ends_with("def double(n):\n    return n * 2\n"), "{edited}");

    let from = source.find("def double").unwrap();
    let instruction = "Add a type hint for the argument and the return value.";
    rewrite(&server, uri, source, from..source.len(), instruction);
    let edits = edits_of(&server, source, &applied_edits(&server)[0]["params"]["edit"]);
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
        ..ServerOptions::default()
    };
    let server = start_with_default_model(options, TIMEOUT);
    let uri = "file:///work/demo/src/lib.rs";
    server.did_open(uri, "rust", 1, RUST);
    let actions = list(&server, uri, RUST, after(RUST, "let mut best"), json!([]));
    let test = titled(&actions, "Hearth: Write a test for this function").clone();
    let action_id = server.request_async("codeAction/resolve", test);
    // Let the action start generating, then ask for a completion.
    std::thread::sleep(Duration::from_millis(1500));
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
