//! The real server and model, driven the way each editor drives them.
//!
//! - VS Code: inline completions; cancels the previous request as the user
//!   types, asks explicitly, accepts a suggestion and presses Enter.
//! - Neovim 0.12: inline completions requested automatically after every
//!   keystroke, never cancelled.
//! - Helix: no inline completion; completion lists re-requested after every
//!   keystroke (the list is incomplete), never cancelled.
//!
//! Each burst is 50 keystrokes with a request after each. The checks are what
//! users see: every request gets exactly one well-formed answer, the newest
//! request's answer is computed for the newest text (no stale suggestion for
//! an older version) and it comes last, and no suggestion repeats text typed
//! after the version it was asked for. Timing is never asserted.

use std::time::Duration;

use hearth_tests::{
    Position, Server, ServerOptions,
    model::{start_with_default_model, unhurried_completions},
    text::{Change, position_of},
};
use serde_json::{Value, json};

/// How long loading the model and each request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// How long to keep listening for a second answer to a request.
const QUIET_PERIOD: Duration = Duration::from_millis(500);

const INVOKED: u8 = 1;
const AUTOMATIC: u8 = 2;
/// `CompletionTriggerKind.TriggerForIncompleteCompletions`.
const FOR_INCOMPLETE: u8 = 3;

const FIXTURE: &str = "\
fn main() {
    let values = vec![3, 1, 2];
    let total: i32 = $0
    println!(\"{total}\");
}
";

/// 42 characters typed, then 8 taken back: 50 keystrokes.
const TYPED: &str = "values.iter().map(|v| v * 2).sum::<i32>();";
const BACKSPACES: usize = 8;

/// Starts the server with the default model, for a client with inline
/// completion or without, and waits for the model. Token limits and stop
/// rules, not the load of a busy machine, decide where a suggestion ends.
fn start(inline: bool) -> Server {
    let options = ServerOptions {
        inline_completion: inline,
        init_options: Some(unhurried_completions()),
        ..ServerOptions::default()
    };
    start_with_default_model(options, REQUEST_TIMEOUT)
}

/// One keystroke: the edit, the document's version after it, and the text
/// of the cursor's line up to the cursor.
struct Keystroke {
    change: Change,
    version: i32,
    cursor: Position,
    typed: String,
}

/// The 50 keystrokes of a burst, from the fixture's cursor.
fn keystrokes(start: Position) -> Vec<Keystroke> {
    let mut keys = Vec::new();
    let mut typed = String::new();
    let mut at = start;
    let column = |typed: &str| start.character + u32::try_from(typed.len()).unwrap();
    for ch in TYPED.chars() {
        typed.push(ch);
        let next = Position::new(at.line, column(&typed));
        keys.push(Keystroke {
            change: Change::range(at, at, ch),
            version: 0,
            cursor: next,
            typed: typed.clone(),
        });
        at = next;
    }
    for _ in 0..BACKSPACES {
        typed.pop();
        let next = Position::new(at.line, column(&typed));
        keys.push(Keystroke {
            change: Change::range(next, at, ""),
            version: 0,
            cursor: next,
            typed: typed.clone(),
        });
        at = next;
    }
    for (i, key) in keys.iter_mut().enumerate() {
        key.version = i32::try_from(i).unwrap() + 2;
    }
    assert_eq!(keys.len(), 50);
    keys
}

fn open(server: &Server, uri: &str) -> Position {
    let offset = FIXTURE.find("$0").unwrap();
    let text = FIXTURE.replacen("$0", "", 1);
    server.did_open(uri, "rust", 1, &text);
    position_of(&text, offset, server.position_encoding())
}

/// Where in everything received the answer to request `id` is.
fn arrival(server: &Server, id: i64) -> usize {
    let received = server.received();
    received
        .iter()
        .position(|message| message["id"] == id && message.get("method").is_none())
        .unwrap_or_else(|| server.fail(&format!("no answer to request {id}")))
}

/// Every request was answered exactly once, and the last one last.
fn assert_answered_once_in_order(server: &Server, ids: &[i64]) {
    std::thread::sleep(QUIET_PERIOD);
    let received = server.received();
    for id in ids {
        let answers = received
            .iter()
            .filter(|message| message["id"] == *id && message.get("method").is_none())
            .count();
        assert_eq!(answers, 1, "request {id} has exactly one answer");
    }
    let last = arrival(server, *ids.last().unwrap());
    for id in &ids[..ids.len() - 1] {
        assert!(arrival(server, *id) < last, "request {id} is answered before the newest one");
    }
}

/// No suggestion repeats what was typed after the version it answers: a
/// suggestion computed for an older text would. Suggestions that answer
/// different texts are therefore different.
fn assert_no_stale_suggestions(answers: &[(String, Option<String>)]) {
    for (i, (typed, suggestion)) in answers.iter().enumerate() {
        let Some(suggestion) = suggestion else { continue };
        for (earlier_typed, earlier) in &answers[..i] {
            if earlier_typed != typed && earlier.as_deref() == Some(suggestion.as_str()) {
                panic!("{suggestion:?} answers both {earlier_typed:?} and {typed:?}");
            }
        }
        assert!(
            !format!("{typed}{suggestion}").contains(";;"),
            "a suggestion that repeats typed text: {typed:?} + {suggestion:?}"
        );
    }
}

/// The parameters of an inline completion or a completion request.
fn completion_params(uri: &str, at: Position, trigger_kind: u8) -> Value {
    json!({
        "textDocument": { "uri": uri },
        "position": at.to_json(),
        "context": { "triggerKind": trigger_kind },
    })
}

/// The suggestion in an inline completion result, after checking its shape.
fn inline_item(result: &Value, at: Position) -> Option<String> {
    let items = result["items"].as_array().unwrap_or_else(|| panic!("an items list: {result}"));
    assert!(items.len() <= 1, "one suggestion at most: {result}");
    let item = items.first()?;
    let text = item["insertText"].as_str().unwrap_or_else(|| panic!("insertText: {result}"));
    assert_eq!(item["range"], json!({ "start": at.to_json(), "end": at.to_json() }), "{result}");
    assert!(!text.trim().is_empty() && !text.contains("<|"), "{result}");
    Some(text.to_owned())
}

/// The suggestion in a completion list, after checking its shape: the item
/// replaces the word before the cursor with that word and the suggestion.
fn menu_item(result: &Value, at: Position, typed: &str) -> Option<String> {
    assert_eq!(result["isIncomplete"], true, "{result}");
    let items = result["items"].as_array().unwrap_or_else(|| panic!("an items list: {result}"));
    assert!(items.len() <= 1, "one suggestion at most: {result}");
    let item = items.first()?;
    let edit = &item["textEdit"];
    let new_text = edit["newText"].as_str().unwrap_or_else(|| panic!("a text edit: {item}"));
    assert_eq!(edit["range"]["end"], at.to_json(), "the edit ends at the cursor: {item}");
    let start = edit["range"]["start"]["character"].as_u64().unwrap();
    let word_len = typed.chars().rev().take_while(|c| c.is_alphanumeric() || *c == '_').count();
    assert_eq!(start, u64::from(at.character) - word_len as u64, "replaces the word: {item}");
    assert_eq!(item["filterText"], new_text, "{item}");
    assert!(!new_text.contains("<|"), "{item}");
    Some(new_text[word_len..].to_owned())
}

/// Types a burst the way Neovim and Helix do: after each keystroke a
/// `method` request with `trigger_kind`, never cancelled. Every request gets
/// one well-formed answer (`item` reads its suggestion after checking its
/// shape), in order, none of them stale, and the newest answer is the one for
/// the newest text: asking again, explicitly, gives the same.
fn burst_without_cancelling(
    server: &Server,
    method: &str,
    trigger_kind: u8,
    item: impl Fn(&Value, &Keystroke) -> Option<String>,
) {
    let uri = "file:///work/demo/src/main.rs";
    let cursor = open(server, uri);
    let keys = keystrokes(cursor);
    let ids: Vec<i64> = keys
        .iter()
        .map(|key| {
            server.did_change(uri, key.version, std::slice::from_ref(&key.change));
            server.request_async(method, completion_params(uri, key.cursor, trigger_kind))
        })
        .collect();
    let answers: Vec<(String, Option<String>)> = ids
        .iter()
        .zip(&keys)
        .map(|(id, key)| {
            let response = server.wait_response(*id, REQUEST_TIMEOUT);
            assert!(response.get("error").is_none(), "{response}");
            (key.typed.clone(), item(&response["result"], key))
        })
        .collect();
    eprintln!("answers: {answers:?}");
    assert_answered_once_in_order(server, &ids);
    assert_no_stale_suggestions(&answers);

    let last = keys.last().unwrap();
    let again = server
        .request(method, completion_params(uri, last.cursor, INVOKED))
        .unwrap_or_else(|err| server.fail(&format!("{err}")));
    let again = item(&again, last);
    let newest = answers.last().unwrap().1.clone();
    assert!(newest.is_some(), "the newest request gets a suggestion: {answers:?}");
    assert_eq!(newest, again, "the newest answer is for the newest text");
}

#[test]
fn neovim_burst_of_automatic_inline_requests_without_cancelling() {
    let server = start(true);
    burst_without_cancelling(&server, "textDocument/inlineCompletion", AUTOMATIC, |result, key| {
        inline_item(result, key.cursor)
    });
}

#[test]
fn helix_burst_of_completion_requests_without_cancelling() {
    let server = start(false);
    burst_without_cancelling(&server, "textDocument/completion", FOR_INCOMPLETE, |result, key| {
        menu_item(result, key.cursor, &key.typed)
    });
}

/// VS Code cancels the request in flight when the user types on, asks for
/// ghost text, and the user accepts it with Tab and presses Enter. The next
/// line's suggestion was computed while the user was reading (speculation).
#[test]
fn vscode_cancels_accepts_and_continues_on_the_next_line() {
    let server = start(true);
    let uri = "file:///work/demo/src/main.rs";
    let cursor = open(&server, uri);
    let keys: Vec<Keystroke> = keystrokes(cursor).into_iter().take(6).collect();
    let mut previous: Option<i64> = None;
    let mut ids = Vec::new();
    for key in &keys {
        if let Some(id) = previous {
            server.notify("$/cancelRequest", json!({ "id": id }));
        }
        server.did_change(uri, key.version, std::slice::from_ref(&key.change));
        let id = server.request_async(
            "textDocument/inlineCompletion",
            completion_params(uri, key.cursor, AUTOMATIC),
        );
        ids.push(id);
        previous = Some(id);
    }
    // Cancelled requests are answered too: empty, or with the cancel error.
    for id in &ids {
        let response = server.wait_response(*id, REQUEST_TIMEOUT);
        if let Some(error) = response.get("error") {
            assert_eq!(error["code"], -32800, "{response}");
        }
    }
    std::thread::sleep(QUIET_PERIOD);
    for id in &ids {
        let count = server
            .received()
            .iter()
            .filter(|message| message["id"] == *id && message.get("method").is_none())
            .count();
        assert_eq!(count, 1, "request {id} has exactly one answer");
    }

    // The user asks explicitly and accepts what is shown.
    let last = keys.last().unwrap();
    let result = server
        .request("textDocument/inlineCompletion", completion_params(uri, last.cursor, INVOKED))
        .unwrap_or_else(|err| server.fail(&format!("{err}")));
    let suggestion = inline_item(&result, last.cursor)
        .unwrap_or_else(|| server.fail(&format!("no suggestion to accept: {result}")));
    eprintln!("accepted {:?} after {:?}", suggestion, last.typed);
    assert!(!suggestion.contains('\n'), "mid-line, one line: {suggestion:?}");
    let mut version = last.version + 1;
    server.did_change(uri, version, &[Change::range(last.cursor, last.cursor, suggestion.clone())]);
    let end = Position::new(last.cursor.line, last.cursor.character + suggestion.len() as u32);
    // VS Code asks again right after the edit: the line is complete.
    let after = server
        .request("textDocument/inlineCompletion", completion_params(uri, end, AUTOMATIC))
        .unwrap_or_else(|err| server.fail(&format!("{err}")));
    assert_eq!(inline_item(&after, end), None, "nothing more on a completed line: {after}");

    // Enter, with the editor's indentation.
    version += 1;
    server.did_change(uri, version, &[Change::range(end, end, "\n    ")]);
    let next_line = Position::new(end.line + 1, 4);
    let next = server
        .request("textDocument/inlineCompletion", completion_params(uri, next_line, AUTOMATIC))
        .unwrap_or_else(|err| server.fail(&format!("{err}")));
    let next = inline_item(&next, next_line);
    eprintln!("on the next line: {next:?}");
    let stats = server
        .request("hearth/completionStats", Value::Null)
        .unwrap_or_else(|err| server.fail(&format!("{err}")));
    eprintln!("stats: {stats}");
    assert_eq!(stats["fromSpeculation"], 1, "the next line was computed ahead: {stats}");
    assert_eq!(stats["lastSource"], "speculation", "{stats}");
}
