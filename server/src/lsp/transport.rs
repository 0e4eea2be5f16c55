//! A guard in front of tower-lsp-server's stdio transport.
//!
//! tower-lsp-server answers a message it cannot decode with an error and then
//! stops reading (its framed reader ends after the first decoding error), so
//! one malformed message would end the session. This layer reads the frames
//! itself, answers malformed ones (bad framing, invalid JSON, not a JSON-RPC
//! message) with the right error, and passes only well-formed messages on.
//! The server's own output is passed through frame by frame, so the error
//! answers are interleaved between whole frames and never inside one.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader},
    sync::{mpsc, watch},
};
use tower_lsp_server::jsonrpc;

/// Messages larger than this are refused rather than buffered.
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// What one frame of input turned out to be.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A well-formed message, to pass on.
    Message(Message),
    /// A malformed one, with the error response to send back.
    Reject(Value),
}

/// A well-formed message and whether it ends the session, found while it
/// was checked (its JSON is not read again for that).
#[derive(Debug, PartialEq)]
pub struct Message {
    pub body: Vec<u8>,
    lifecycle: Option<Lifecycle>,
}

/// Reads one frame. `Ok(None)` at the end of input.
pub async fn read_frame<R: AsyncRead + Unpin>(
    input: &mut BufReader<R>,
) -> std::io::Result<Option<Frame>> {
    let mut content_length: Option<usize> = None;
    let mut header_error = None;
    let mut line = String::new();
    let mut saw_header = false;
    loop {
        line.clear();
        let mut raw = Vec::new();
        if input.read_until(b'\n', &mut raw).await? == 0 {
            return Ok(None);
        }
        line.push_str(&String::from_utf8_lossy(&raw));
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            if saw_header {
                break;
            }
            // Stray blank lines between messages are harmless.
            continue;
        }
        saw_header = true;
        let Some((name, value)) = trimmed.split_once(':') else {
            header_error = Some(format!("malformed header line {trimmed:?}"));
            continue;
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            match value.trim().parse::<usize>() {
                Ok(n) if n <= MAX_MESSAGE_BYTES => content_length = Some(n),
                _ => header_error = Some(format!("invalid Content-Length {:?}", value.trim())),
            }
        }
    }
    let Some(length) = content_length else {
        let reason = header_error.unwrap_or_else(|| "missing Content-Length header".to_owned());
        return Ok(Some(Frame::Reject(error_response(Value::Null, -32700, &reason))));
    };
    let mut body = vec![0; length];
    input.read_exact(&mut body).await?;
    Ok(Some(check_body(body)))
}

/// Checks that a body is a JSON-RPC 2.0 message tower-lsp-server can decode.
pub(crate) fn check_body(body: Vec<u8>) -> Frame {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(err) => {
            let Err(not_utf8) = std::str::from_utf8(&body) else {
                let reason = format!("invalid JSON: {err}");
                return Frame::Reject(error_response(Value::Null, -32700, &reason));
            };
            // A request whose only fault is a byte that is not UTF-8 still
            // has a readable id, and its sender waits for an answer to it.
            let id = serde_json::from_str::<Value>(&String::from_utf8_lossy(&body))
                .ok()
                .and_then(|it| it.get("id").cloned())
                .filter(|id| id.is_string() || id.as_i64().is_some())
                .unwrap_or(Value::Null);
            let at = not_utf8.valid_up_to();
            let reason = format!(
                "the message is not valid UTF-8 (byte {:#04x} at offset {at}); it was ignored",
                body[at]
            );
            return Frame::Reject(error_response(id, -32700, &reason));
        }
    };
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    let id_ok = match &id {
        Value::Null | Value::String(_) => true,
        Value::Number(n) => n.is_i64(),
        _ => false,
    };
    let reject = |reason: &str| {
        let id = if id_ok { id.clone() } else { Value::Null };
        Frame::Reject(error_response(id, -32600, reason))
    };
    let Some(object) = value.as_object() else { return reject("a message must be a JSON object") };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return reject("\"jsonrpc\" must be \"2.0\"");
    }
    if !id_ok {
        return reject("\"id\" must be an integer, a string or null");
    }
    // tower-lsp-server decodes a body as a response if it can, else as a
    // request, and stops reading at one it cannot decode, which the checks
    // on `value` alone do not rule out: a member given twice is fine for
    // `Value` (the last one wins) but not for its derived types.
    let decodes = |as_response: bool| {
        let decoded = if as_response {
            serde_json::from_slice::<jsonrpc::Response>(&body).err()
        } else {
            serde_json::from_slice::<jsonrpc::Request>(&body).err()
        };
        decoded.map(|err| format!("cannot decode the message: {err}"))
    };
    match object.get("method") {
        // It would be taken for a response.
        Some(_) if object.contains_key("result") || object.contains_key("error") => {
            reject("a request must not have \"result\" or \"error\"")
        }
        Some(Value::String(method)) => match decodes(false) {
            None => {
                // With an id, even null, tower-lsp-server reads a request.
                let lifecycle = match (method.as_str(), object.get("id")) {
                    ("shutdown", Some(id)) => Some(Lifecycle::Shutdown(id.clone())),
                    ("exit", None) => Some(Lifecycle::Exit),
                    _ => None,
                };
                Frame::Message(Message { body, lifecycle })
            }
            Some(reason) => reject(&reason),
        },
        Some(_) => reject("\"method\" must be a string"),
        None => {
            let has_result = object.contains_key("result");
            let error_ok = object.get("error").is_some_and(|it| {
                it.get("code").is_some_and(Value::is_i64)
                    && it.get("message").is_some_and(Value::is_string)
            });
            if !object.contains_key("id") || has_result == error_ok {
                return reject("not a request, notification or response");
            }
            match decodes(true) {
                None => Frame::Message(Message { body, lifecycle: None }),
                Some(reason) => reject(&reason),
            }
        }
    }
}

/// The end of a session, as the client asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Lifecycle {
    /// The `shutdown` request, with its id.
    Shutdown(Value),
    /// The `exit` notification.
    Exit,
}

/// What the input and output pumps share about the end of the session.
///
/// tower-lsp-server cancels every request in flight when `exit` arrives, the
/// `shutdown` request included, and Helix sends `exit` right behind
/// `shutdown`: it would get "Canceled" for an answer, and then hang. So the
/// input pump holds `exit` back until the output pump has written the answer
/// to `shutdown` (for a moment at most).
pub(crate) struct SessionEnd {
    /// The id of the `shutdown` request forwarded to the server.
    shutdown_id: parking_lot::Mutex<Option<Value>>,
    /// Whether the answer to `shutdown` has been written.
    answered: watch::Sender<bool>,
}

impl Default for SessionEnd {
    fn default() -> Self {
        SessionEnd {
            shutdown_id: parking_lot::Mutex::new(None),
            answered: watch::Sender::new(false),
        }
    }
}

impl SessionEnd {
    /// Whether the client sent `shutdown` (the server forwarded it): the
    /// process then exits with code 0, even if `exit` stopped the server
    /// before the request's handler ran.
    pub(crate) fn shutdown_requested(&self) -> bool {
        self.shutdown_id.lock().is_some()
    }

    /// Whether a message the server writes is the answer to `shutdown`.
    fn answers_shutdown(&self, body: &[u8]) -> bool {
        #[derive(serde::Deserialize)]
        struct Response {
            id: Value,
            method: Option<serde::de::IgnoredAny>,
        }
        let Some(shutdown_id) = self.shutdown_id.lock().clone() else { return false };
        body.len() <= 256
            && serde_json::from_slice::<Response>(body)
                .is_ok_and(|it| it.method.is_none() && it.id == shutdown_id)
    }

    /// Notes that the answer to `shutdown` has been written.
    fn mark_answered(&self) {
        self.answered.send_replace(true);
    }

    /// Waits until `shutdown` has been answered, for `limit` at most.
    async fn wait_answered(&self, limit: std::time::Duration) {
        let mut answered = self.answered.subscribe();
        if tokio::time::timeout(limit, answered.wait_for(|it| *it)).await.is_err() {
            tracing::warn!("`shutdown` is still unanswered; passing `exit` on");
        }
    }
}

/// How long `exit` waits for the answer to `shutdown`.
const SHUTDOWN_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

fn error_response(id: Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": format!("Hearth: {message}") } })
}

fn encode(body: &[u8]) -> Vec<u8> {
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    frame
}

/// Forwards well-formed input frames to `to_server` and sends rejections to
/// `errors`. Ends (closing `to_server`) at the end of input or after the
/// `exit` notification, which it holds back until `shutdown` is answered
/// (see [`SessionEnd`]).
pub(crate) async fn pump_input<R, W>(
    input: R,
    mut to_server: W,
    errors: mpsc::UnboundedSender<Value>,
    session_end: Arc<SessionEnd>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut input = BufReader::new(input);
    loop {
        match read_frame(&mut input).await {
            Ok(Some(Frame::Message(Message { body, lifecycle }))) => {
                match &lifecycle {
                    Some(Lifecycle::Shutdown(id)) => {
                        *session_end.shutdown_id.lock() = Some(id.clone());
                    }
                    Some(Lifecycle::Exit) if session_end.shutdown_requested() => {
                        session_end.wait_answered(SHUTDOWN_ANSWER_WAIT).await;
                    }
                    _ => {}
                }
                if to_server.write_all(&encode(&body)).await.is_err()
                    || to_server.flush().await.is_err()
                {
                    break;
                }
                // Nothing after `exit` counts, and the server must now stop
                // even if the client keeps its end open while it waits for
                // the process (Helix): input ends here, as at end of input.
                if lifecycle == Some(Lifecycle::Exit) {
                    tracing::debug!("exit notification: no more input is read");
                    break;
                }
            }
            Ok(Some(Frame::Reject(response))) => {
                tracing::warn!("malformed message from the client: {response}");
                let _ = errors.send(response);
            }
            Ok(None) => break,
            // Stopping the runtime after `exit` cancels the blocking read
            // of stdin that tokio runs on a thread of its own: not an error.
            Err(err) if err.to_string().contains("cancelled") => {
                tracing::debug!("stopped reading from the client: {err}");
                break;
            }
            Err(err) => {
                tracing::error!("reading from the client failed: {err}");
                break;
            }
        }
    }
    let _ = to_server.shutdown().await;
}

/// Writes the server's output frames and the rejections to `output`, whole
/// frames at a time.
pub(crate) async fn pump_output<R, W>(
    from_server: R,
    mut output: W,
    mut errors: mpsc::UnboundedReceiver<Value>,
    session_end: Arc<SessionEnd>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut from_server = BufReader::new(from_server);
    loop {
        let mut answers_shutdown = false;
        let frame = tokio::select! {
            frame = read_frame(&mut from_server) => match frame {
                Ok(Some(Frame::Message(message))) => {
                    answers_shutdown = session_end.answers_shutdown(&message.body);
                    encode(&message.body)
                }
                Ok(Some(Frame::Reject(response))) => {
                    tracing::error!("the server wrote a malformed frame: {response}");
                    continue;
                }
                Ok(None) | Err(_) => break,
            },
            Some(response) = errors.recv() => encode(response.to_string().as_bytes()),
        };
        if output.write_all(&frame).await.is_err() || output.flush().await.is_err() {
            break;
        }
        if answers_shutdown {
            session_end.mark_answered();
        }
    }
    // Rejections queued after the server stopped still get their answer.
    while let Ok(response) = errors.try_recv() {
        let _ = output.write_all(&encode(response.to_string().as_bytes())).await;
    }
    let _ = output.flush().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected_code(body: &str) -> Option<i64> {
        match check_body(body.as_bytes().to_vec()) {
            Frame::Message(_) => None,
            Frame::Reject(value) => value["error"]["code"].as_i64(),
        }
    }

    #[test]
    fn accepts_requests_notifications_and_responses() {
        assert_eq!(rejected_code(r#"{"jsonrpc":"2.0","id":1,"method":"x"}"#), None);
        assert_eq!(rejected_code(r#"{"jsonrpc":"2.0","method":"x","params":[1]}"#), None);
        assert_eq!(rejected_code(r#"{"jsonrpc":"2.0","id":"a","result":null}"#), None);
        assert_eq!(
            rejected_code(r#"{"jsonrpc":"2.0","id":2,"error":{"code":1,"message":"m"}}"#),
            None
        );
    }

    #[test]
    fn rejects_malformed_bodies() {
        assert_eq!(rejected_code(r#"{"jsonrpc": "2.0", "id": 99, "method": "#), Some(-32700));
        assert_eq!(rejected_code("\u{feff}nonsense"), Some(-32700));
        assert_eq!(rejected_code("[1, 2]"), Some(-32600));
        assert_eq!(rejected_code(r#"{"id":1,"method":"x"}"#), Some(-32600));
        assert_eq!(rejected_code(r#"{"jsonrpc":"2.0","id":{"a":1},"method":"x"}"#), Some(-32600));
        assert_eq!(rejected_code(r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#), Some(-32600));
        assert_eq!(rejected_code(r#"{"jsonrpc":"2.0","id":1}"#), Some(-32600));
        assert_eq!(rejected_code(r#"{"jsonrpc":"2.0","id":1,"method":3}"#), Some(-32600));
    }

    #[test]
    fn messages_tower_lsp_server_cannot_decode_are_rejected() {
        // Found by `fuzz/jsonrpc_framing`: a member given twice is valid JSON,
        // but tower-lsp-server cannot decode it and would stop reading.
        assert_eq!(
            rejected_code(r#"{"jsonrpc":"2.0","method":"init2.0","method":"exit"}"#),
            Some(-32600)
        );
        assert_eq!(rejected_code(r#"{"jsonrpc":"2.0","id":1,"result":1,"id":2}"#), Some(-32600));
        assert_eq!(
            rejected_code(r#"{"jsonrpc":"2.0","id":1,"result":1,"result":2}"#),
            Some(-32600)
        );
        // It would decode this request as a response to request 1.
        assert_eq!(
            rejected_code(r#"{"jsonrpc":"2.0","id":1,"method":"x","result":1}"#),
            Some(-32600)
        );
    }

    #[test]
    fn a_rejected_request_keeps_its_id() {
        let Frame::Reject(value) = check_body(br#"{"jsonrpc":"1.0","id":7,"method":"x"}"#.to_vec())
        else {
            panic!("accepted a 1.0 message")
        };
        assert_eq!(value["id"], 7);
    }

    #[test]
    fn a_request_with_bytes_that_are_not_utf8_is_answered_by_its_id() {
        let body = b"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"x\",\"params\":\"a\xff\xfeb\"}";
        let Frame::Reject(value) = check_body(body.to_vec()) else { panic!("accepted") };
        assert_eq!(
            (value["id"].as_i64(), value["error"]["code"].as_i64()),
            (Some(8), Some(-32700))
        );
        // Without an id (a notification) the answer has a null one.
        let body = b"{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":\"\xff\"}";
        let Frame::Reject(value) = check_body(body.to_vec()) else { panic!("accepted") };
        assert_eq!(value["id"], Value::Null);
    }

    #[tokio::test]
    async fn framing_errors_are_answered_and_reading_goes_on() {
        let input = b"Content-Type: x\r\n\r\nContent-Length: 2\r\n\r\n{}Content-Length: 40\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"initialized\"}";
        let mut reader = BufReader::new(&input[..]);
        assert!(matches!(read_frame(&mut reader).await.unwrap(), Some(Frame::Reject(_))));
        assert!(matches!(read_frame(&mut reader).await.unwrap(), Some(Frame::Reject(_))));
        assert!(matches!(read_frame(&mut reader).await.unwrap(), Some(Frame::Message(_))));
        assert_eq!(read_frame(&mut reader).await.unwrap(), None);
    }

    #[tokio::test]
    async fn input_ends_after_the_exit_notification() {
        let frames: Vec<u8> = [
            r#"{"jsonrpc":"2.0","id":5,"method":"shutdown"}"#,
            r#"{"jsonrpc":"2.0","method":"exit"}"#,
            r#"{"jsonrpc":"2.0","method":"initialized"}"#,
        ]
        .iter()
        .flat_map(|it| encode(it.as_bytes()))
        .collect();
        // The client keeps its end open: the input never ends by itself.
        let (mut client, input) = tokio::io::duplex(1024);
        client.write_all(&frames).await.unwrap();
        let (server_side, mut server) = tokio::io::duplex(1024);
        let (errors, _) = mpsc::unbounded_channel();
        let session_end = Arc::new(SessionEnd::default());
        // Nobody answers `shutdown` here: `exit` goes on after the wait.
        let pumped = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            pump_input(input, server_side, errors, session_end.clone()),
        );
        pumped.await.expect("the pump stops after `exit`");
        assert!(session_end.shutdown_requested());
        let mut forwarded = Vec::new();
        server.read_to_end(&mut forwarded).await.unwrap();
        let forwarded = String::from_utf8(forwarded).unwrap();
        assert!(forwarded.contains("\"shutdown\"") && forwarded.contains("\"exit\""));
        assert!(!forwarded.contains("initialized"), "read past `exit`: {forwarded}");
        // A request named `exit` is not the notification.
        let Frame::Message(exit) =
            check_body(br#"{"jsonrpc":"2.0","id":1,"method":"exit"}"#.to_vec())
        else {
            panic!("a well-formed request")
        };
        assert_eq!(exit.lifecycle, None);
        // The answer to `shutdown` is recognised by its id.
        assert!(session_end.answers_shutdown(br#"{"jsonrpc":"2.0","result":null,"id":5}"#));
        assert!(!session_end.answers_shutdown(br#"{"jsonrpc":"2.0","result":null,"id":6}"#));
    }

    #[tokio::test]
    async fn exit_waits_for_the_answer_to_shutdown() {
        let session_end = Arc::new(SessionEnd::default());
        *session_end.shutdown_id.lock() = Some(json!(5));
        let answered_at = std::time::Instant::now() + std::time::Duration::from_millis(100);
        let waiter = session_end.clone();
        let waiting = tokio::spawn(async move {
            waiter.wait_answered(std::time::Duration::from_secs(5)).await;
            std::time::Instant::now()
        });
        tokio::time::sleep_until(answered_at.into()).await;
        session_end.mark_answered();
        let woke = waiting.await.unwrap();
        assert!(woke >= answered_at && woke < answered_at + std::time::Duration::from_secs(2));
    }
}
