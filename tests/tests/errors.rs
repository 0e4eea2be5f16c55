//! Error handling: malformed input, unknown methods, misuse of documents and
//! panicking handlers must each get the documented answer, and the server
//! must keep serving afterwards.

use std::time::Duration;

use hearth_tests::{Position, Server, ServerOptions, codes, text::Change};
use serde_json::{Value, json};

/// Proves the server still answers requests: opens a document and reads it
/// back.
fn assert_still_serving(server: &Server, tag: &str) {
    let uri = format!("file:///alive/{tag}.txt");
    server.did_open(&uri, "plaintext", 1, tag);
    assert_eq!(server.text_of(&uri), tag, "the server must keep serving");
}

#[test]
fn malformed_json_gets_a_parse_error_with_a_null_id() {
    let server = Server::start(ServerOptions::testing());
    server.send_body(br#"{"jsonrpc": "2.0", "id": 99, "method": "#);
    let response = server.wait_null_id_response(Duration::from_secs(10));
    assert_eq!(response["id"], Value::Null, "{response}");
    assert_eq!(response["error"]["code"], codes::PARSE_ERROR, "{response}");
    assert_still_serving(&server, "after-parse-error");
    // A second one, of another shape, to show the first did not leave the
    // framing out of step.
    server.send_body(b"\xff\xfe not even UTF-8");
    let response = server.wait_null_id_response(Duration::from_secs(10));
    assert_eq!(response["error"]["code"], codes::PARSE_ERROR, "{response}");
    assert_still_serving(&server, "after-second-parse-error");
    let status = server.shutdown_and_exit();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn unknown_request_method_is_method_not_found() {
    let server = Server::start(ServerOptions::testing());
    let err = server.request("hearth/noSuchMethod", json!({})).expect_err("unknown method");
    assert_eq!(err.code, codes::METHOD_NOT_FOUND, "{err}");
    let err = server.request("textDocument/noSuchThing", json!({})).expect_err("unknown method");
    assert_eq!(err.code, codes::METHOD_NOT_FOUND, "{err}");
    assert_still_serving(&server, "after-unknown-method");
}

#[test]
fn unknown_notifications_are_ignored() {
    let server = Server::start(ServerOptions::testing());
    server.notify("hearth/noSuchNotification", json!({ "x": 1 }));
    server.notify("$/someClientNotification", json!({}));
    server.notify("workspace/noSuchThing", Value::Null);
    assert_still_serving(&server, "after-unknown-notifications");
    // Ignored means no error response of any kind.
    let errors: Vec<Value> =
        server.received().into_iter().filter(|m| m.get("error").is_some()).collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:?}");
}

#[test]
fn did_change_to_an_unopened_document_logs_an_error() {
    let server = Server::start(ServerOptions::testing());
    let uri = "file:///never/opened.rs";
    server.did_change(uri, 2, &[Change::range(Position::new(0, 0), Position::new(0, 0), "x")]);
    let message =
        server.wait_method("window/logMessage", Duration::from_secs(5), |p| p["type"] == 1);
    let text = message["params"]["message"].as_str().unwrap_or_default();
    assert!(text.contains(uri), "the message names the URI: {message}");
    assert!(text.contains("not open"), "the message says the document is not open: {message}");
    // The change must not have created the document.
    let err = server.debug_document(uri, None).expect_err("still unknown");
    assert_eq!(err.code, codes::INVALID_PARAMS, "{err}");
    assert_still_serving(&server, "after-unopened-change");
}

#[test]
fn a_panicking_handler_answers_internal_error_and_the_server_survives() {
    let server = Server::start(ServerOptions::testing());
    server.did_open("file:///before.txt", "plaintext", 1, "before");
    for attempt in 0..2 {
        let err = server.request("hearth/debugPanic", Value::Null).expect_err("the handler panics");
        assert_eq!(err.code, codes::INTERNAL_ERROR, "attempt {attempt}: {err}");
        assert!(err.message.to_lowercase().contains("panic"), "attempt {attempt}: {err}");
    }
    // State from before the panic is intact.
    assert_eq!(server.text_of("file:///before.txt"), "before");
    assert_still_serving(&server, "after-panic");
    let status = server.shutdown_and_exit();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn debug_document_with_an_out_of_range_line_is_invalid_params() {
    let server = Server::start(ServerOptions::testing());
    let uri = "file:///short.txt";
    server.did_open(uri, "plaintext", 1, "one\ntwo\n");
    for line in [3, 100, u32::MAX] {
        let err = server
            .debug_document(uri, Some(Position::new(line, 0)))
            .expect_err("a line past the end");
        assert_eq!(err.code, codes::INVALID_PARAMS, "line {line}: {err}");
    }
    // The last line (empty, after the final newline) is in range.
    let got = server.debug_document(uri, Some(Position::new(2, 0))).expect("the last line");
    assert_eq!(got["offset"], 8, "{got}");
    let err = server.debug_document("file:///unknown.txt", None).expect_err("an unknown document");
    assert_eq!(err.code, codes::INVALID_PARAMS, "{err}");
    assert_still_serving(&server, "after-invalid-params");
}

/// Without `HEARTH_DEBUG_API=1` the test-only requests do not exist.
#[test]
fn debug_requests_need_the_debug_api_env() {
    let options = ServerOptions { debug_api: false, ..ServerOptions::testing() };
    let server = Server::start(options);
    server.did_open("file:///a.txt", "plaintext", 1, "a");
    for method in ["hearth/debugDocument", "hearth/debugPanic"] {
        let err = server
            .request(method, json!({ "textDocument": { "uri": "file:///a.txt" } }))
            .expect_err("debug requests are off");
        assert_eq!(err.code, codes::METHOD_NOT_FOUND, "{method}: {err}");
    }
    let status = server.shutdown_and_exit();
    assert_eq!(status.code(), Some(0));
}
