//! The stdio transport's input side on arbitrary bytes: `Content-Length`
//! framing, then the JSON-RPC check that decides which bodies reach
//! tower-lsp-server, then decoding into the LSP types the server handles.
//!
//! Invariants:
//! - reading never panics and always ends, each frame taking at least one
//!   byte, and at the end of input every byte has been consumed;
//! - a rejected frame is answered with a JSON-RPC error response whose id is
//!   valid, with code -32700 (parse error) or -32600 (invalid request);
//! - a passed-on frame is a JSON-RPC 2.0 object that tower-lsp-server's own
//!   message type decodes (if it did not, tower-lsp-server would stop
//!   reading and end the session), and it reads back the same when framed
//!   again as the transport frames it for the server.

#![no_main]

use std::sync::OnceLock;

use hearth::fuzzing::{Frame, read_frame};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::Value;
use tokio::{io::BufReader, runtime::Runtime};
use tower_lsp_server::{
    gen_lsp_types::{
        DidChangeTextDocumentParams, DidOpenTextDocumentParams, InitializeParams,
        InlineCompletionParams,
    },
    jsonrpc::{Request, Response},
};

/// tower-lsp-server's incoming message type (`jsonrpc::Message`, private to
/// it), spelled the same way: what its codec decodes every body into.
#[derive(Deserialize)]
#[serde(untagged)]
enum Message {
    Response(#[allow(dead_code)] Response),
    Request(#[allow(dead_code)] Request),
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().build().expect("a current-thread runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(check(data));
});

async fn check(data: &[u8]) {
    let mut input = BufReader::new(data);
    let mut remaining = data.len();
    loop {
        let frame = match read_frame(&mut input).await {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                assert_eq!(unread(&input), 0, "input left unread at the end");
                return;
            }
            // Only a body cut short by the end of input is an I/O error.
            Err(err) => {
                assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
                return;
            }
        };
        let now = unread(&input);
        assert!(now < remaining, "a frame consumed no input");
        remaining = now;
        match frame {
            Frame::Message(message) => check_message(&message.body).await,
            Frame::Reject(response) => check_rejection(&response),
        }
    }
}

/// Bytes neither buffered nor yet read from the slice.
fn unread(input: &BufReader<&[u8]>) -> usize {
    input.buffer().len() + input.get_ref().len()
}

async fn check_message(body: &[u8]) {
    let value: Value = serde_json::from_slice(body).expect("a passed-on body is JSON");
    let object = value.as_object().expect("a passed-on body is an object");
    assert_eq!(object.get("jsonrpc"), Some(&Value::from("2.0")));
    // Decoded as what it is: a request (or notification) if it has a method.
    let is_request = object.contains_key("method");
    match serde_json::from_slice::<Message>(body) {
        Ok(Message::Request(_)) if is_request => {}
        Ok(Message::Response(_)) if !is_request => {}
        Ok(_) => panic!(
            "tower-lsp-server takes a {} for the other kind:\n{}",
            if is_request { "request" } else { "response" },
            String::from_utf8_lossy(body)
        ),
        Err(err) => panic!(
            "tower-lsp-server cannot decode a message the transport passed on: {err}\n{}",
            String::from_utf8_lossy(body)
        ),
    }

    // The transport re-frames the body for the server: it must read back as is.
    let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    framed.extend_from_slice(body);
    let mut again = BufReader::new(framed.as_slice());
    match read_frame(&mut again).await {
        Ok(Some(Frame::Message(same))) => assert_eq!(same.body, body),
        other => panic!("a re-framed message reads back as {other:?}"),
    }

    // What the handlers then decode; failing is fine (an invalid-params
    // error), panicking is not.
    let params = object.get("params").cloned().unwrap_or(Value::Null);
    match object.get("method").and_then(Value::as_str) {
        Some("initialize") => drop(serde_json::from_value::<InitializeParams>(params)),
        Some("textDocument/didOpen") => {
            drop(serde_json::from_value::<DidOpenTextDocumentParams>(params));
        }
        Some("textDocument/didChange") => {
            drop(serde_json::from_value::<DidChangeTextDocumentParams>(params));
        }
        Some("textDocument/inlineCompletion") => {
            drop(serde_json::from_value::<InlineCompletionParams>(params));
        }
        _ => {}
    }
}

fn check_rejection(response: &Value) {
    let object = response.as_object().expect("an error response is an object");
    assert_eq!(object.get("jsonrpc"), Some(&Value::from("2.0")));
    match &object["id"] {
        Value::Null | Value::String(_) => {}
        Value::Number(n) => assert!(n.is_i64(), "id {n}"),
        id => panic!("an error response has the id {id}"),
    }
    let error = &object["error"];
    let code = error["code"].as_i64().expect("an error code");
    assert!(code == -32700 || code == -32600, "code {code}");
    assert!(error["message"].as_str().is_some_and(|it| it.starts_with("Hearth: ")));
    // A valid JSON-RPC error response, as the client's library reads one.
    let text = response.to_string();
    let decoded = serde_json::from_str::<Response>(&text);
    assert!(decoded.is_ok_and(|it| it.is_error()), "{text}");
}
