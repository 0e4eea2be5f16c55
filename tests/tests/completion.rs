//! Completions from the real default model, end to end over LSP.
//!
//! Each test starts the real `hearth` binary with the real default model
//! (Qwen2.5-Coder-0.5B) and asks for completions the way editors do: inline
//! completions for clients with ghost text (VS Code, Neovim 0.12) and one
//! labelled completion item for the others (Helix, Zed). Greedy decoding makes
//! the model's answers deterministic, so the fixtures are places where the
//! model writes something sensible, and the tests check what a user relies
//! on: the completed file still compiles or parses, a mid-line suggestion
//! stays on its line, no special token leaks into a suggestion, and every
//! request gets exactly one answer however requests pile up or get cancelled.
//!
//! The tests fail (never skip) when the model is missing; run
//! `scripts/fetch-model` to provision it. They never assert timing: the
//! machine may be busy with builds and other tests, so every wait is generous.

use std::{process::Command, time::Duration};

use hearth_tests::{
    Position, Server, ServerOptions, codes,
    model::{spawn_with_default_model, unhurried_completions, wait_for_model_ready},
    text::{Change, position_of},
};
use serde_json::{Value, json};

/// How long loading the model, and one completion, may take on a slow, busy
/// machine.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// How long to keep listening for a second answer to a request.
const QUIET_PERIOD: Duration = Duration::from_millis(500);

/// `InlineCompletionTriggerKind.Invoked`: the user asked explicitly.
const INVOKED: u8 = 1;

/// `InlineCompletionTriggerKind.Automatic`: the editor asked while typing.
const AUTOMATIC: u8 = 2;

/// Text that only a leaked special token or FIM marker would put into a
/// suggestion: Qwen's `<|fim_middle|>`, `<|endoftext|>`, `<|file_sep|>` and
/// kin, StarCoder's `<fim_prefix>` and `<file_sep>`, DeepSeek's full-width
/// `<｜fim▁hole｜>`, Code Llama's `<PRE>`, `<SUF>`, `<MID>` and `<EOT>`.
const SPECIAL_MARKERS: [&str; 13] = [
    "<|",
    "|>",
    "<fim",
    "<file_sep>",
    "<filename>",
    "<repo_name>",
    "<｜",
    "｜>",
    "<PRE>",
    "<SUF>",
    "<MID>",
    "<EOT>",
    "</s>",
];

/// The kind of editor a test plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    /// Declares `textDocument.inlineCompletion`, like VS Code.
    Inline,
    /// Declares no inline completion, like Helix: it gets completion items.
    Menu,
}

/// Starts a server with the default model for this kind of client, without
/// waiting for the model. Token limits and stop rules, not the load of a
/// busy machine, decide where a suggestion ends.
fn spawn(client: Client) -> Server {
    let options = ServerOptions {
        inline_completion: client == Client::Inline,
        init_options: Some(unhurried_completions()),
        ..ServerOptions::default()
    };
    spawn_with_default_model(options, REQUEST_TIMEOUT)
}

/// Starts a server with the default model, checks it offers the completion
/// kind this client can show, and waits until the model is ready (before
/// that, every completion is an empty list).
fn start(client: Client) -> Server {
    let server = spawn(client);

    let capabilities =
        server.initialize_result.as_ref().expect("initialized")["capabilities"].clone();
    match client {
        Client::Inline => {
            assert_eq!(capabilities["inlineCompletionProvider"], true, "{capabilities}");
            assert!(capabilities["completionProvider"].is_null(), "{capabilities}");
        }
        Client::Menu => {
            assert!(capabilities["completionProvider"].is_object(), "{capabilities}");
            assert!(capabilities["inlineCompletionProvider"].is_null(), "{capabilities}");
        }
    }

    wait_for_model_ready(&server);
    server
}

/// A document opened from a fixture whose cursor is marked `$0`.
struct Doc {
    uri: String,
    /// The text without the marker.
    text: String,
    /// The cursor as a byte offset into `text`.
    offset: usize,
    /// The cursor as an LSP position in the session's encoding.
    cursor: Position,
}

impl Doc {
    fn open(server: &Server, uri: &str, language_id: &str, fixture: &str) -> Doc {
        let offset = fixture.find("$0").expect("the fixture marks its cursor with $0");
        let text = fixture.replacen("$0", "", 1);
        let cursor = position_of(&text, offset, server.position_encoding());
        server.did_open(uri, language_id, 1, &text);
        Doc { uri: uri.to_owned(), text, offset, cursor }
    }

    /// The text with `suggestion` inserted at the cursor.
    fn with(&self, suggestion: &str) -> String {
        let mut out = self.text.clone();
        out.insert_str(self.offset, suggestion);
        out
    }

    /// The indentation of the cursor's line.
    fn cursor_indent(&self) -> usize {
        let line_start = self.text[..self.offset].rfind('\n').map_or(0, |i| i + 1);
        let line = &self.text[line_start..];
        line.len() - line.trim_start_matches([' ', '\t']).len()
    }
}

fn inline_params(uri: &str, at: Position, trigger_kind: u8) -> Value {
    json!({
        "textDocument": { "uri": uri },
        "position": at.to_json(),
        "context": { "triggerKind": trigger_kind },
    })
}

/// Asks for an inline completion the way a user's explicit request does and
/// returns the suggestion, if any, after checking the answer's shape.
fn inline_suggestion(server: &Server, uri: &str, at: Position) -> Option<String> {
    let result = server
        .request("textDocument/inlineCompletion", inline_params(uri, at, INVOKED))
        .unwrap_or_else(|err| server.fail(&format!("inlineCompletion at {at:?} failed: {err}")));
    check_inline_result(server, &result, at)
}

/// Checks an inline completion result: at most one item, inserted at the
/// cursor (an empty range there), free of special tokens. Returns its text.
fn check_inline_result(server: &Server, result: &Value, at: Position) -> Option<String> {
    let Some(items) = result["items"].as_array() else {
        server.fail(&format!("an inline completion result has an items list: {result}"));
    };
    assert!(items.len() <= 1, "one suggestion at most: {result}");
    let item = items.first()?;
    let text = item["insertText"]
        .as_str()
        .unwrap_or_else(|| panic!("insertText is a plain string: {result}"));
    let at = at.to_json();
    assert_eq!(
        item["range"],
        json!({ "start": at, "end": at }),
        "inserted at the cursor: {result}"
    );
    assert!(!text.trim().is_empty(), "a suggestion is never blank: {result}");
    assert_no_special_tokens(text);
    Some(text.to_owned())
}

fn assert_no_special_tokens(suggestion: &str) {
    for marker in SPECIAL_MARKERS {
        assert!(
            !suggestion.contains(marker),
            "a special token leaked into the suggestion ({marker:?}): {suggestion:?}"
        );
    }
}

/// A multi-line suggestion keeps to the cursor's block: at most 8 lines, and
/// no line after the first indented less than the cursor's line (the first
/// line continues the indentation already typed).
fn assert_stays_in_block(suggestion: &str, indent: usize) {
    let lines: Vec<&str> = suggestion.lines().collect();
    assert!(lines.len() <= 8, "at most 8 lines: {suggestion:?}");
    for line in lines.iter().skip(1).filter(|it| !it.trim().is_empty()) {
        let own = line.len() - line.trim_start_matches([' ', '\t']).len();
        assert!(own >= indent, "{line:?} leaves the cursor's block: {suggestion:?}");
    }
}

/// Compiles `source` as a Rust library and fails with rustc's diagnostics if
/// it does not compile.
fn assert_rust_compiles(source: &str) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let file = dir.path().join("completed.rs");
    std::fs::write(&file, source).expect("write the completed file");
    let output = Command::new("rustc")
        .args(["--edition", "2021", "--crate-type", "lib", "-o"])
        .arg(dir.path().join("out.rlib"))
        .arg(&file)
        .output()
        .expect("run rustc (it must be on PATH)");
    assert!(
        output.status.success(),
        "the completed file does not compile:\n{source}\n--- rustc ---\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Parses `source` with Python's own parser and fails with its error if it
/// does not parse.
fn assert_python_parses(source: &str) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let file = dir.path().join("completed.py");
    std::fs::write(&file, source).expect("write the completed file");
    let output = Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])"])
        .arg(&file)
        .output()
        .expect("run python3 (it must be on PATH)");
    assert!(
        output.status.success(),
        "the completed file does not parse:\n{source}\n--- python3 ---\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every message the server sent that answers request `id`.
fn responses_to(server: &Server, id: i64) -> Vec<Value> {
    server.received().into_iter().filter(|m| m.get("method").is_none() && m["id"] == id).collect()
}

/// Rust with a loop body to write: the cursor is on a blank line, so the
/// model may write a block, and the file must still compile.
const SUM_EVEN: &str = "\
/// Sums the even numbers in `values`.
pub fn sum_even(values: &[i32]) -> i32 {
    let mut total = 0;
    for value in values {
        $0
    }
    total
}
";

/// Rust with a method body to write, inside an `impl`.
const NORM: &str = "\
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    /// The distance from the origin.
    pub fn norm(&self) -> f64 {
        $0
    }
}
";

#[test]
fn rust_block_suggestions_compile() {
    let server = start(Client::Inline);
    for (uri, fixture) in
        [("file:///work/demo/src/sum.rs", SUM_EVEN), ("file:///work/demo/src/point.rs", NORM)]
    {
        let doc = Doc::open(&server, uri, "rust", fixture);
        let suggestion = inline_suggestion(&server, &doc.uri, doc.cursor)
            .unwrap_or_else(|| server.fail(&format!("no suggestion in {uri}")));
        eprintln!("{uri}: {suggestion:?}");
        assert_stays_in_block(&suggestion, doc.cursor_indent());
        assert_rust_compiles(&doc.with(&suggestion));
    }
}

/// At column 0 of a blank line inside a body (an editor that strips trailing
/// blanks leaves the cursor there), the suggestion brings the body's
/// indentation with it. Without it the model ends the line at once: a bare
/// newline before the cursor reads as the end of the body.
#[test]
fn a_blank_line_at_column_0_gets_the_bodys_indentation() {
    let server = start(Client::Inline);
    let fixture = "\
pub fn count_positive(values: &[i32]) -> usize {
    let mut count = 0;
    for value in values {
        if *value > 0 {
            count += 1;
        }
    }
$0
}
";
    let doc = Doc::open(&server, "file:///work/demo/src/count.rs", "rust", fixture);
    assert_eq!(doc.cursor_indent(), 0);
    let suggestion = inline_suggestion(&server, &doc.uri, doc.cursor)
        .unwrap_or_else(|| server.fail("no suggestion on the blank line"));
    eprintln!("suggestion: {suggestion:?}");
    let first = suggestion.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("    ") && !first[4..].starts_with([' ', '\t']),
        "the first line is indented as the body is: {suggestion:?}"
    );
    assert_rust_compiles(&doc.with(&suggestion));
}

/// The first request of a session often comes before the model has loaded:
/// it waits for the model instead of being answered empty.
#[test]
fn a_request_before_the_model_is_ready_waits_for_it() {
    let server = spawn(Client::Inline);
    let doc = Doc::open(&server, "file:///work/demo/src/sum.rs", "rust", SUM_EVEN);
    let suggestion = inline_suggestion(&server, &doc.uri, doc.cursor);
    assert!(suggestion.is_some(), "the request waited for the model and got a suggestion");
}

#[test]
fn python_block_suggestion_parses() {
    let server = start(Client::Inline);
    let fixture = "\
def count_words(text):
    counts = {}
    for word in text.split():
        $0
    return counts
";
    let doc = Doc::open(&server, "file:///work/demo/words.py", "python", fixture);
    let suggestion = inline_suggestion(&server, &doc.uri, doc.cursor)
        .unwrap_or_else(|| server.fail("no suggestion for the loop body"));
    eprintln!("suggestion: {suggestion:?}");
    assert_stays_in_block(&suggestion, doc.cursor_indent());
    assert_python_parses(&doc.with(&suggestion));
}

/// With text right of the cursor the suggestion is the rest of one line, and
/// it does not repeat what is already there (the closing `);`).
#[test]
fn mid_line_suggestion_stays_on_its_line() {
    let server = start(Client::Inline);
    let fixture = "\
fn rectangle_area(width: u32, height: u32) -> u32 {
    width * height
}

fn main() {
    let width = 3;
    let height = 4;
    let area = rectangle_area($0);
    println!(\"{area}\");
}
";
    let doc = Doc::open(&server, "file:///work/demo/src/main.rs", "rust", fixture);
    let suggestion = inline_suggestion(&server, &doc.uri, doc.cursor)
        .unwrap_or_else(|| server.fail("no suggestion for the arguments"));
    eprintln!("suggestion: {suggestion:?}");
    assert!(!suggestion.contains('\n'), "one line only: {suggestion:?}");
    let trimmed = suggestion.trim_end();
    assert!(
        !trimmed.ends_with(')') && !trimmed.ends_with(';'),
        "the suggestion repeats the `);` right of the cursor: {suggestion:?}"
    );
}

/// When the model's first choice is refused, the user gets its next one, not
/// nothing. Here the model first closes the docstring, which the suffix
/// already closes (post-processing refuses a repeat of the line after the
/// cursor); its next choice is a sentence for the docstring.
#[test]
fn a_refused_first_choice_gives_way_to_the_next() {
    let server = start(Client::Inline);
    let fixture = r#"class BaseProtocol:
    def connection_made(self, transport):
        """Called when a connection is made.

        The argument is the transport representing the pipe connection.
        To receive data, wait for data_received() calls.
        When the connection is closed, connection_lost() is called.
        """

    def pause_writing(self):
        """Called when the transport's buffer goes over the high-water mark.

        $0
        """
"#;
    let doc = Doc::open(&server, "file:///work/demo/protocols.py", "python", fixture);
    let suggestion = inline_suggestion(&server, &doc.uri, doc.cursor)
        .unwrap_or_else(|| server.fail("no suggestion after the refused first choice"));
    eprintln!("suggestion: {suggestion:?}");
    assert!(
        !suggestion.trim_start().starts_with("\"\"\""),
        "it closes the docstring: {suggestion:?}"
    );
    assert!(suggestion.contains(char::is_alphabetic), "a sentence: {suggestion:?}");
    assert_python_parses(&doc.with(&suggestion));
}

/// Every suggestion in this file goes through `assert_no_special_tokens`;
/// this test adds the places where a leak is most likely: an empty file, the
/// end of a file (an empty FIM suffix), a comment, prose, and a language
/// without a grammar.
#[test]
fn no_special_tokens_in_suggestions() {
    let server = start(Client::Inline);
    let fixtures = [
        ("file:///work/demo/empty.rs", "rust", "$0"),
        ("file:///work/demo/end.rs", "rust", "fn main() {\n    println!(\"hi\");\n}\n\n$0"),
        ("file:///work/demo/todo.rs", "rust", "// TODO: $0\nfn main() {}\n"),
        ("file:///work/demo/notes.txt", "plaintext", "Shopping list:\n- milk\n- $0\n"),
        ("file:///work/demo/add.js", "javascript", "function add(a, b) {\n  $0\n}\n"),
        ("file:///work/demo/main.py", "python", "if __name__ == \"__main__\":\n    $0"),
    ];
    let mut answered = 0;
    for (uri, language_id, fixture) in fixtures {
        let doc = Doc::open(&server, uri, language_id, fixture);
        let suggestion = inline_suggestion(&server, &doc.uri, doc.cursor);
        eprintln!("{uri}: {suggestion:?}");
        answered += usize::from(suggestion.is_some());
    }
    // Empty answers would pass vacuously; most of these places get one.
    assert!(
        answered >= fixtures.len() / 2,
        "only {answered} of {} got suggestions",
        fixtures.len()
    );
}

/// A client without inline completion (Helix) gets one completion item that
/// replaces the word being typed with that word plus the suggestion, so the
/// client's word filter keeps it.
#[test]
fn menu_client_gets_one_labelled_item() {
    let server = start(Client::Menu);
    let fixture = "\
fn main() {
    let values = vec![3, 1, 2];
    let total: i32 = values$0
    println!(\"{total}\");
}
";
    let doc = Doc::open(&server, "file:///work/demo/src/main.rs", "rust", fixture);
    let params = json!({
        "textDocument": { "uri": doc.uri },
        "position": doc.cursor.to_json(),
        "context": { "triggerKind": 1 },
    });
    let result = server
        .request("textDocument/completion", params)
        .unwrap_or_else(|err| server.fail(&format!("completion failed: {err}")));
    eprintln!("result: {result}");
    assert_eq!(result["isIncomplete"], true, "the client asks again as the user types: {result}");
    let items = result["items"].as_array().unwrap_or_else(|| panic!("a list: {result}"));
    assert_eq!(items.len(), 1, "one item: {result}");
    let item = &items[0];

    let word = "values";
    let new_text = item["textEdit"]["newText"].as_str().unwrap_or_else(|| panic!("{item}"));
    assert!(new_text.starts_with(word), "the edit keeps the typed word: {item}");
    assert!(new_text.len() > word.len(), "the edit adds a suggestion: {item}");
    assert_no_special_tokens(new_text);
    let word_start = Position::new(doc.cursor.line, doc.cursor.character - word.len() as u32);
    assert_eq!(
        item["textEdit"]["range"],
        json!({ "start": word_start.to_json(), "end": doc.cursor.to_json() }),
        "the edit replaces the typed word, up to the cursor: {item}"
    );
    assert_eq!(item["filterText"], new_text, "the filter keeps the item: {item}");
    let label = item["label"].as_str().unwrap_or_else(|| panic!("a label: {item}"));
    let first_line = new_text.lines().next().unwrap_or_default().trim();
    assert!(!label.is_empty() && first_line.starts_with(label.trim_end_matches('…')), "{item}");
    assert!(item["detail"].as_str().is_some_and(|it| it.contains("Hearth")), "{item}");
    assert_eq!(item["preselect"], true, "{item}");
    assert!(item["sortText"].is_string(), "{item}");
    assert!(item["kind"].is_u64(), "{item}");
}

/// Neovim sends a request on every keystroke and never cancels. Each request
/// must get exactly one answer; the older ones are superseded (answered
/// empty), and the last is computed for the final text.
#[test]
fn typing_without_cancelling_answers_every_request_once() {
    let server = start(Client::Inline);
    let fixture = "\
fn main() {
    let values = vec![3, 1, 2];
    let total: i32 = v$0
    println!(\"{total}\");
}
";
    let doc = Doc::open(&server, "file:///work/demo/src/main.rs", "rust", fixture);
    let typed = "alues.iter";
    let mut cursor = doc.cursor;
    let mut requests = Vec::new();
    for (i, ch) in typed.chars().enumerate() {
        let version = i32::try_from(i).unwrap() + 2;
        server.did_change(&doc.uri, version, &[Change::range(cursor, cursor, ch.to_string())]);
        cursor.character += 1;
        let id = server.request_async(
            "textDocument/inlineCompletion",
            inline_params(&doc.uri, cursor, AUTOMATIC),
        );
        requests.push((id, cursor));
    }

    let mut suggestions = Vec::new();
    for (id, at) in &requests {
        let response = server.wait_response(*id, REQUEST_TIMEOUT);
        if response.get("error").is_some() {
            server.fail(&format!("request {id} failed: {response}"));
        }
        suggestions.push(check_inline_result(&server, &response["result"], *at));
    }
    eprintln!("suggestions while typing: {suggestions:?}");
    let last = suggestions.last().cloned().flatten();
    assert!(last.is_some(), "the last request is answered with a suggestion: {suggestions:?}");

    // A second answer would arrive after the first; give it a moment.
    std::thread::sleep(QUIET_PERIOD);
    for (id, _) in &requests {
        let answers = responses_to(&server, *id);
        assert_eq!(answers.len(), 1, "request {id} has exactly one answer: {answers:?}");
    }
    // For the report only: the same question asked on its own.
    let again = inline_suggestion(&server, &doc.uri, cursor);
    eprintln!("asked again for the final text: {again:?}");
}

/// A request for another document does not cancel the running one (an
/// editor with two files side by side): the new one waits its turn, and both
/// are answered with suggestions for their own documents.
#[test]
fn requests_for_two_documents_are_both_answered() {
    let server = start(Client::Inline);
    let sum = Doc::open(&server, "file:///work/demo/src/sum.rs", "rust", SUM_EVEN);
    let norm = Doc::open(&server, "file:///work/demo/src/point.rs", "rust", NORM);
    let first = server.request_async(
        "textDocument/inlineCompletion",
        inline_params(&sum.uri, sum.cursor, AUTOMATIC),
    );
    let second = server.request_async(
        "textDocument/inlineCompletion",
        inline_params(&norm.uri, norm.cursor, AUTOMATIC),
    );
    for (id, doc) in [(first, &sum), (second, &norm)] {
        let response = server.wait_response(id, REQUEST_TIMEOUT);
        eprintln!("{}: {response}", doc.uri);
        if response.get("error").is_some() {
            server.fail(&format!("request {id} failed: {response}"));
        }
        let suggestion = check_inline_result(&server, &response["result"], doc.cursor);
        assert!(suggestion.is_some(), "{} gets a suggestion: {response}", doc.uri);
    }
}

/// `$/cancelRequest` right after a request: the request gets one answer
/// (`RequestCancelled`, or a result if it was already done), and the
/// cancelled job frees the model for the next request.
#[test]
fn cancelled_request_is_answered_once_and_the_server_goes_on() {
    let server = start(Client::Inline);
    let doc = Doc::open(&server, "file:///work/demo/src/sum.rs", "rust", SUM_EVEN);
    let id = server.request_async(
        "textDocument/inlineCompletion",
        inline_params(&doc.uri, doc.cursor, AUTOMATIC),
    );
    server.notify("$/cancelRequest", json!({ "id": id }));
    let response = server.wait_response(id, REQUEST_TIMEOUT);
    eprintln!("cancelled request: {response}");
    match response.get("error") {
        Some(error) => assert_eq!(error["code"], codes::REQUEST_CANCELLED, "{response}"),
        // The cancellation raced with the end of the job; that is allowed,
        // but the result must still be well-formed.
        None => {
            check_inline_result(&server, &response["result"], doc.cursor);
        }
    }
    std::thread::sleep(QUIET_PERIOD);
    let answers = responses_to(&server, id);
    assert_eq!(answers.len(), 1, "exactly one answer: {answers:?}");

    let suggestion = inline_suggestion(&server, &doc.uri, doc.cursor);
    eprintln!("after the cancellation: {suggestion:?}");
    assert!(suggestion.is_some(), "the server completes normally after a cancellation");
}

/// Completion requests name an open document and a position inside it;
/// anything else is `InvalidParams`, for both completion methods.
#[test]
fn unknown_documents_and_positions_past_the_end_are_invalid_params() {
    let server = start(Client::Inline);
    let doc = Doc::open(&server, "file:///work/demo/src/lib.rs", "rust", "fn main() {$0}\n");
    let past_end = Position::new(5, 0);
    let cases = [
        ("file:///work/demo/src/unknown.rs", Position::new(0, 0), "an unknown document"),
        (doc.uri.as_str(), past_end, "a line past the end"),
    ];
    for method in ["textDocument/inlineCompletion", "textDocument/completion"] {
        for (uri, at, what) in cases {
            let err = server
                .request(method, inline_params(uri, at, INVOKED))
                .expect_err(&format!("{method} for {what} is an error"));
            assert_eq!(err.code, codes::INVALID_PARAMS, "{method} for {what}: {err}");
        }
    }
    // The document itself is still fine to complete in.
    let result = server
        .request("textDocument/inlineCompletion", inline_params(&doc.uri, doc.cursor, INVOKED))
        .unwrap_or_else(|err| server.fail(&format!("inlineCompletion failed: {err}")));
    check_inline_result(&server, &result, doc.cursor);
}

/// Typing after a completion extends the prompt the engine has cached (the
/// prompt is anchored at the start of the line); the next request must work
/// as well as the first.
#[test]
fn typing_after_a_completion_completes_again() {
    let server = start(Client::Inline);
    let fixture = "\
fn main() {
    let values = vec![3, 1, 2];
    let total: i32 = values$0
    println!(\"{total}\");
}
";
    let doc = Doc::open(&server, "file:///work/demo/src/main.rs", "rust", fixture);
    let first = inline_suggestion(&server, &doc.uri, doc.cursor)
        .unwrap_or_else(|| server.fail("no first suggestion"));
    let ch = first.chars().next().expect("a suggestion is not empty");
    server.did_change(&doc.uri, 2, &[Change::range(doc.cursor, doc.cursor, ch.to_string())]);
    let next = Position::new(doc.cursor.line, doc.cursor.character + 1);
    let second = inline_suggestion(&server, &doc.uri, next);
    eprintln!("first: {first:?}; after typing {ch:?}: {second:?}");
    if let Some(second) = &second {
        assert!(!second.contains('\n'), "still one line: {second:?}");
    }
}
