//! A small synchronous LSP client that drives the real `hearth` binary.
//!
//! The shape follows `/work/shared/eval/lsp_client.py`: the server runs as a
//! child process with piped stdin/stdout; a reader thread parses the
//! `Content-Length` framing, routes responses to waiting requests by id,
//! queues notifications, and answers the server's own requests. A writer
//! thread owns stdin, so that neither the test thread nor the reader thread
//! ever blocks on a full pipe while the other waits for it (the reader must
//! keep draining stdout for the server to make progress).
//!
//! Failures are meant to be diagnosable: a request that times out panics with
//! the tail of the server's stderr log, and a test that panics while a server
//! is alive prints that tail too.

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio},
    sync::{
        Arc, Condvar, Mutex, MutexGuard,
        atomic::{AtomicI64, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{
    binary::hearth_binary,
    text::{Change, Encoding, Position},
};

/// JSON-RPC and LSP error codes the tests check.
pub mod codes {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    /// LSP's `RequestCancelled`: the answer to a request the client cancelled.
    pub const REQUEST_CANCELLED: i64 = -32800;
}

/// How long a request may take before the test fails. Generous, because
/// tests share the machine with parallel builds and other tests; the server
/// normally answers within milliseconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The environment variables that change the server's behaviour. They are
/// removed from the inherited environment so that a developer's shell cannot
/// change a test's outcome; tests set them explicitly when they need them.
const SCRUBBED_ENV: [&str; 2] = ["HEARTH_MODEL", "HEARTH_DEBUG_API"];

/// A JSON-RPC error response.
#[derive(Clone, Debug, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    fn from_json(error: &Value) -> RpcError {
        RpcError {
            code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: error.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
            data: error.get("data").cloned(),
        }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON-RPC error {}: {}", self.code, self.message)?;
        if let Some(data) = &self.data {
            write!(f, " ({data})")?;
        }
        Ok(())
    }
}

impl std::error::Error for RpcError {}

/// How to start the server and what to tell it in `initialize`.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Extra environment variables for the server process.
    pub env: Vec<(String, String)>,
    /// Command-line arguments.
    pub args: Vec<String>,
    /// `initializationOptions`; omitted from `initialize` when `None`.
    pub init_options: Option<Value>,
    /// `capabilities.general.positionEncodings`; omitted when `None`.
    pub encodings: Option<Vec<&'static str>>,
    /// `capabilities.window.workDoneProgress`.
    pub work_done_progress: bool,
    /// Start the server with `HEARTH_DEBUG_API=1`.
    pub debug_api: bool,
    /// Declare `capabilities.textDocument.inlineCompletion`, as clients with
    /// ghost text do (VS Code, Neovim 0.12).
    pub inline_completion: bool,
    /// Declare that code actions' edits are resolved lazily
    /// (`codeAction.resolveSupport` with `edit`), as VS Code does.
    pub resolve_code_actions: bool,
    /// A command the server runs under, such as `["strace", "-f", "-o",
    /// FILE]` or `["unshare", "-n"]`: the binary's path and `args` follow
    /// it. Empty: the binary runs directly.
    pub wrapper: Vec<String>,
}

impl ServerOptions {
    /// The usual options for tests that look at documents: the debug API on,
    /// the model disabled (so no test waits for or depends on it).
    pub fn testing() -> ServerOptions {
        ServerOptions {
            debug_api: true,
            init_options: Some(json!({ "model": { "enabled": false } })),
            ..ServerOptions::default()
        }
    }

    /// Offers exactly `encoding` in `capabilities.general.positionEncodings`.
    pub fn encoding(mut self, encoding: Encoding) -> ServerOptions {
        self.encodings = Some(vec![encoding.name()]);
        self
    }

    /// Adds an environment variable for the server process.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> ServerOptions {
        self.env.push((key.to_owned(), value.into()));
        self
    }
}

/// What the reader thread has received, shared with the test thread.
#[derive(Default)]
struct Inbox {
    /// Responses not yet claimed, by request id.
    responses: HashMap<i64, Value>,
    /// Responses whose id is null (or not an integer), in arrival order.
    null_id_responses: VecDeque<Value>,
    /// Notifications not yet taken by `wait_notification`.
    notifications: VecDeque<Value>,
    /// Every message from the server, in arrival order, never cleared.
    log: Vec<Value>,
    /// When each message in `log` arrived.
    log_times: Vec<Instant>,
    /// The `hearth` section `workspace/configuration` answers with.
    configuration: Value,
    /// Requests the server sent to the client, in arrival order.
    server_requests: Vec<Value>,
    /// Why the reader stopped (end of output or a framing error), if it did.
    closed: Option<String>,
    /// The first error writing to the server's stdin, if any.
    write_error: Option<String>,
}

struct Shared {
    inbox: Mutex<Inbox>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inbox> {
        // A panic on another thread while holding the lock must not hide the
        // original failure behind a poison error.
        self.inbox.lock().unwrap_or_else(|it| it.into_inner())
    }
}

enum Outgoing {
    Bytes(Vec<u8>),
    Close,
}

/// A running `hearth` process and the client end of its LSP connection.
pub struct Server {
    child: Child,
    shared: Arc<Shared>,
    outgoing: mpsc::Sender<Outgoing>,
    next_id: AtomicI64,
    options: ServerOptions,
    stderr_path: PathBuf,
    /// Holds the directory of the stderr log alive as long as the server.
    _stderr_dir: tempfile::TempDir,
    /// The `initialize` result, once `initialize` has been answered.
    pub initialize_result: Option<Value>,
    /// How long `request` waits for an answer.
    pub timeout: Duration,
    exited: Option<ExitStatus>,
}

impl Server {
    /// Starts the server process without sending anything.
    pub fn spawn(options: ServerOptions) -> Server {
        let binary = hearth_binary();
        let stderr_dir = tempfile::tempdir().expect("create a temporary directory");
        let stderr_path = stderr_dir.path().join("hearth-stderr.log");
        let stderr = std::fs::File::create(&stderr_path).expect("create the stderr log");
        let mut command = match options.wrapper.split_first() {
            Some((program, wrapper_args)) => {
                let mut command = Command::new(program);
                command.args(wrapper_args).arg(&binary);
                command
            }
            None => Command::new(&binary),
        };
        command
            .args(&options.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        for key in SCRUBBED_ENV {
            command.env_remove(key);
        }
        if options.debug_api {
            command.env("HEARTH_DEBUG_API", "1");
        }
        command.envs(options.env.iter().map(|(k, v)| (k, v)));
        let mut child = command.spawn().unwrap_or_else(|err| {
            panic!("cannot start {} (wrapper {:?}): {err}", binary.display(), options.wrapper)
        });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");

        let shared =
            Arc::new(Shared { inbox: Mutex::new(Inbox::default()), changed: Condvar::new() });
        let (outgoing, receiver) = mpsc::channel();
        {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("hearth-writer".into())
                .spawn(move || write_loop(stdin, receiver, &shared))
                .expect("spawn the writer thread");
        }
        {
            let shared = shared.clone();
            let outgoing = outgoing.clone();
            std::thread::Builder::new()
                .name("hearth-reader".into())
                .spawn(move || read_loop(stdout, &outgoing, &shared))
                .expect("spawn the reader thread");
        }
        Server {
            child,
            shared,
            outgoing,
            next_id: AtomicI64::new(0),
            options,
            stderr_path,
            _stderr_dir: stderr_dir,
            initialize_result: None,
            timeout: DEFAULT_TIMEOUT,
            exited: None,
        }
    }

    /// Starts the server and completes the handshake (`initialize`, then
    /// `initialized`).
    pub fn start(options: ServerOptions) -> Server {
        let mut server = Server::spawn(options);
        server.initialize().unwrap_or_else(|err| server.fail(&format!("initialize failed: {err}")));
        server.initialized();
        server
    }

    /// The `initialize` params these options describe.
    pub fn initialize_params(&self) -> Value {
        let mut capabilities = json!({
            "window": { "workDoneProgress": self.options.work_done_progress },
            "workspace": { "configuration": true },
            "textDocument": {
                "synchronization": { "dynamicRegistration": false },
            },
        });
        if let Some(encodings) = &self.options.encodings {
            capabilities["general"] = json!({ "positionEncodings": encodings });
        }
        if self.options.inline_completion {
            capabilities["textDocument"]["inlineCompletion"] = json!({});
        }
        capabilities["textDocument"]["codeAction"] = json!({
            "codeActionLiteralSupport": {
                "codeActionKind": { "valueSet": ["quickfix", "refactor"] },
            },
        });
        if self.options.resolve_code_actions {
            capabilities["textDocument"]["codeAction"]["resolveSupport"] =
                json!({ "properties": ["edit"] });
        }
        let mut params = json!({
            "processId": std::process::id(),
            "clientInfo": { "name": "hearth-tests", "version": env!("CARGO_PKG_VERSION") },
            "rootUri": null,
            "capabilities": capabilities,
        });
        if let Some(init) = &self.options.init_options {
            params["initializationOptions"] = init.clone();
        }
        params
    }

    /// Sends `initialize` and records its result.
    pub fn initialize(&mut self) -> Result<Value, RpcError> {
        let params = self.initialize_params();
        let result = self.request("initialize", params)?;
        self.initialize_result = Some(result.clone());
        Ok(result)
    }

    /// Sends the `initialized` notification.
    pub fn initialized(&self) {
        self.notify("initialized", json!({}));
    }

    /// The position encoding the server chose (UTF-16 when it did not say,
    /// as LSP specifies).
    pub fn position_encoding(&self) -> Encoding {
        let name = self
            .initialize_result
            .as_ref()
            .and_then(|it| it.pointer("/capabilities/positionEncoding"))
            .and_then(Value::as_str)
            .unwrap_or("utf-16");
        Encoding::from_name(name).unwrap_or_else(|| panic!("unknown position encoding {name:?}"))
    }

    // ----- Sending -----

    fn send_message(&self, message: &Value) {
        let body = serde_json::to_vec(message).expect("serialize a message");
        self.send_body(&body);
    }

    /// Sends `body` with correct `Content-Length` framing, whatever it holds
    /// (for malformed JSON).
    pub fn send_body(&self, body: &[u8]) {
        let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        framed.extend_from_slice(body);
        self.send_raw(&framed);
    }

    /// Sends bytes exactly as given, framing included.
    pub fn send_raw(&self, bytes: &[u8]) {
        // The writer thread only ends after `close_stdin`; sending afterwards
        // is a test bug that the server's missing answer will reveal.
        let _ = self.outgoing.send(Outgoing::Bytes(bytes.to_vec()));
    }

    /// Sends a notification; `Value::Null` params are omitted.
    pub fn notify(&self, method: &str, params: Value) {
        let mut message = json!({ "jsonrpc": "2.0", "method": method });
        if !params.is_null() {
            message["params"] = params;
        }
        self.send_message(&message);
    }

    /// Sends a request without waiting; returns its id for
    /// [`Server::wait_response`]. `Value::Null` params are omitted.
    pub fn request_async(&self, method: &str, params: Value) -> i64 {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        let mut message = json!({ "jsonrpc": "2.0", "id": id, "method": method });
        if !params.is_null() {
            message["params"] = params;
        }
        self.send_message(&message);
        id
    }

    /// Sends a request and waits for its result, for at most `self.timeout`.
    ///
    /// # Panics
    ///
    /// Panics, with the server's stderr tail, when no answer comes in time or
    /// the server's output ends.
    pub fn request(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.request_timeout(method, params, self.timeout)
    }

    /// [`Server::request`] with an explicit timeout.
    pub fn request_timeout(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, RpcError> {
        let id = self.request_async(method, params);
        let response = self.wait_response_for(id, method, timeout);
        match response.get("error") {
            Some(error) => Err(RpcError::from_json(error)),
            None => Ok(response.get("result").cloned().unwrap_or(Value::Null)),
        }
    }

    /// Waits for the whole response message to request `id`.
    pub fn wait_response(&self, id: i64, timeout: Duration) -> Value {
        self.wait_response_for(id, "a request", timeout)
    }

    fn wait_response_for(&self, id: i64, method: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let mut inbox = self.shared.lock();
        loop {
            if let Some(response) = inbox.responses.remove(&id) {
                return response;
            }
            if let Some(why) = inbox.closed.clone() {
                drop(inbox);
                self.fail(&format!("no response to {method} (id {id}): {why}"));
            }
            let now = Instant::now();
            if now >= deadline {
                drop(inbox);
                self.fail(&format!("no response to {method} (id {id}) within {timeout:?}"));
            }
            inbox = self.shared.changed.wait_timeout(inbox, deadline - now).expect("wait").0;
        }
    }

    /// Waits for a response whose id is null (the answer to a message the
    /// server could not parse).
    pub fn wait_null_id_response(&self, timeout: Duration) -> Value {
        self.wait_for(timeout, "a response with a null id", |inbox| {
            inbox.null_id_responses.pop_front()
        })
    }

    /// Takes the first queued notification that satisfies `predicate`,
    /// waiting up to `timeout` for one to arrive. Panics when none does.
    pub fn wait_notification(
        &self,
        timeout: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Value {
        self.wait_for(timeout, "a matching notification", |inbox| {
            let index = inbox.notifications.iter().position(&predicate)?;
            inbox.notifications.remove(index)
        })
    }

    /// Takes the first queued notification with method `method` whose params
    /// satisfy `predicate`.
    pub fn wait_method(
        &self,
        method: &str,
        timeout: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Value {
        self.wait_notification(timeout, |m| {
            m["method"] == method && predicate(m.get("params").unwrap_or(&Value::Null))
        })
    }

    /// Like [`Server::wait_notification`], but returns `None` on timeout.
    pub fn try_wait_notification(
        &self,
        timeout: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        let mut inbox = self.shared.lock();
        loop {
            if let Some(index) = inbox.notifications.iter().position(&predicate) {
                return inbox.notifications.remove(index);
            }
            let now = Instant::now();
            if now >= deadline || inbox.closed.is_some() {
                return None;
            }
            inbox = self.shared.changed.wait_timeout(inbox, deadline - now).expect("wait").0;
        }
    }

    fn wait_for<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut take: impl FnMut(&mut Inbox) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        let mut inbox = self.shared.lock();
        loop {
            if let Some(found) = take(&mut inbox) {
                return found;
            }
            if let Some(why) = inbox.closed.clone() {
                drop(inbox);
                self.fail(&format!("waiting for {what}: {why}"));
            }
            let now = Instant::now();
            if now >= deadline {
                drop(inbox);
                self.fail(&format!("no {what} within {timeout:?}"));
            }
            inbox = self.shared.changed.wait_timeout(inbox, deadline - now).expect("wait").0;
        }
    }

    /// Waits until at least `at_least` notifications with method `method`
    /// whose params satisfy `predicate` have been received (taken or not),
    /// and returns all of them. Panics on timeout.
    pub fn wait_logged(
        &self,
        method: &str,
        at_least: usize,
        timeout: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let matching = |inbox: &Inbox| -> Vec<Value> {
            inbox
                .log
                .iter()
                .filter(|m| {
                    m.get("id").is_none()
                        && m["method"] == method
                        && predicate(m.get("params").unwrap_or(&Value::Null))
                })
                .cloned()
                .collect()
        };
        let what = format!("{at_least} {method} notification(s) matching the test's predicate");
        self.wait_for(timeout, &what, |inbox| {
            let found = matching(inbox);
            (found.len() >= at_least).then_some(found)
        })
    }

    /// Every message received from the server so far, in order.
    pub fn received(&self) -> Vec<Value> {
        self.shared.lock().log.clone()
    }

    /// Every message received from the server so far, in order, with the
    /// time it arrived (read from the server's output).
    pub fn received_with_times(&self) -> Vec<(Instant, Value)> {
        let inbox = self.shared.lock();
        inbox.log_times.iter().copied().zip(inbox.log.iter().cloned()).collect()
    }

    /// Sets what the client answers `workspace/configuration` with (the
    /// `hearth` section; `null`, the default, means no settings), and tells
    /// the server with `workspace/didChangeConfiguration`, as an editor does
    /// when the user changes a setting.
    pub fn change_configuration(&self, hearth: Value) {
        self.shared.lock().configuration = hearth;
        self.notify("workspace/didChangeConfiguration", json!({ "settings": null }));
    }

    /// The process id of the server, or of its wrapper (see
    /// [`ServerOptions::wrapper`]) when that runs the server as a child.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every notification with method `method` received so far, whether or
    /// not it was taken by a wait.
    pub fn received_notifications(&self, method: &str) -> Vec<Value> {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|m| m.get("id").is_none() && m["method"] == method)
            .cloned()
            .collect()
    }

    /// Every request the server has sent to the client, in order.
    pub fn server_requests(&self) -> Vec<Value> {
        self.shared.lock().server_requests.clone()
    }

    // ----- Document helpers -----

    pub fn did_open(&self, uri: &str, language_id: &str, version: i32, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": {
                "uri": uri, "languageId": language_id, "version": version, "text": text,
            }}),
        );
    }

    pub fn did_change(&self, uri: &str, version: i32, changes: &[Change]) {
        let changes: Vec<Value> = changes.iter().map(Change::to_json).collect();
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": changes,
            }),
        );
    }

    pub fn did_close(&self, uri: &str) {
        self.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri } }));
    }

    /// `hearth/debugDocument` (needs [`ServerOptions::debug_api`]).
    pub fn debug_document(&self, uri: &str, position: Option<Position>) -> Result<Value, RpcError> {
        let mut params = json!({ "textDocument": { "uri": uri } });
        if let Some(position) = position {
            params["position"] = position.to_json();
        }
        self.request("hearth/debugDocument", params)
    }

    /// Fails the test with the first difference unless the server's text of
    /// `uri` is `expected`; returns the rest of what `hearth/debugDocument`
    /// said (the version, the trees).
    pub fn expect_text(&self, uri: &str, expected: &str) -> Value {
        let got = self
            .debug_document(uri, None)
            .unwrap_or_else(|err| self.fail(&format!("debugDocument {uri} failed: {err}")));
        let text = got["text"].as_str().unwrap_or_default();
        if let Some(difference) = crate::text::describe_difference(expected, text) {
            self.fail(&format!("{uri} differs from the client's text: {difference}"));
        }
        got
    }

    /// The server's text of `uri`; panics if the server does not know it.
    pub fn text_of(&self, uri: &str) -> String {
        let doc = self
            .debug_document(uri, None)
            .unwrap_or_else(|err| self.fail(&format!("debugDocument {uri}: {err}")));
        doc["text"].as_str().unwrap_or_else(|| panic!("no text in {doc}")).to_owned()
    }

    // ----- Ending -----

    /// Closes the server's stdin (the end of input, as when an editor dies).
    pub fn close_stdin(&self) {
        let _ = self.outgoing.send(Outgoing::Close);
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.exited {
            return Some(status);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.exited = Some(status);
                    return Some(status);
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(None) => return None,
                Err(err) => panic!("cannot wait for the server: {err}"),
            }
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.wait_exit(Duration::ZERO).is_none()
    }

    /// `shutdown` (which must succeed with a null result), then `exit`; waits
    /// up to 10 s for the process to end and returns its status.
    pub fn shutdown_and_exit(mut self) -> ExitStatus {
        match self.request("shutdown", Value::Null) {
            Ok(Value::Null) => {}
            Ok(other) => self.fail(&format!("shutdown returned {other}, expected null")),
            Err(err) => self.fail(&format!("shutdown failed: {err}")),
        }
        self.notify("exit", Value::Null);
        match self.wait_exit(Duration::from_secs(10)) {
            Some(status) => status,
            None => self.fail("the server did not exit within 10 s of `exit`"),
        }
    }

    /// The last few kilobytes of the server's stderr.
    pub fn stderr_tail(&self) -> String {
        tail_of_file(&self.stderr_path, 8 * 1024)
    }

    /// Panics with `message`, the server's stderr tail and what it sent last.
    pub fn fail(&self, message: &str) -> ! {
        let (recent, write_error) = {
            let inbox = self.shared.lock();
            let from = inbox.log.len().saturating_sub(10);
            let recent: Vec<String> = inbox.log[from..]
                .iter()
                .map(|m| {
                    let s = m.to_string();
                    if s.len() > 400 { format!("{}…", truncate(&s, 400)) } else { s }
                })
                .collect();
            (recent, inbox.write_error.clone())
        };
        panic!(
            "{message}\n--- last messages from the server ---\n{}\n--- write error ---\n{}\n\
             --- server stderr (tail) ---\n{}",
            recent.join("\n"),
            write_error.as_deref().unwrap_or("none"),
            self.stderr_tail(),
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- hearth stderr (tail) ---\n{}", self.stderr_tail());
        }
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = self.outgoing.send(Outgoing::Close);
    }
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn tail_of_file(path: &Path, max: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let from = bytes.len().saturating_sub(max);
            String::from_utf8_lossy(&bytes[from..]).into_owned()
        }
        Err(err) => format!("(cannot read {}: {err})", path.display()),
    }
}

fn write_loop(mut stdin: ChildStdin, receiver: mpsc::Receiver<Outgoing>, shared: &Shared) {
    while let Ok(message) = receiver.recv() {
        match message {
            Outgoing::Bytes(bytes) => {
                if let Err(err) = stdin.write_all(&bytes).and_then(|()| stdin.flush()) {
                    let mut inbox = shared.lock();
                    inbox.write_error.get_or_insert_with(|| err.to_string());
                }
            }
            Outgoing::Close => break,
        }
    }
    // Dropping `stdin` closes the pipe: the server sees the end of input.
}

fn read_loop(stdout: ChildStdout, outgoing: &mpsc::Sender<Outgoing>, shared: &Shared) {
    let mut reader = BufReader::new(stdout);
    let why = loop {
        match read_message(&mut reader) {
            Ok(Some(message)) => dispatch(message, outgoing, shared),
            Ok(None) => break "the server closed its output".to_owned(),
            Err(err) => break format!("bad message from the server: {err}"),
        }
    };
    shared.lock().closed = Some(why);
    shared.changed.notify_all();
}

/// Reads one framed message; `Ok(None)` at a clean end of output.
fn read_message(reader: &mut impl BufRead) -> Result<Option<Value>, String> {
    let mut length = None;
    let mut first = true;
    loop {
        let mut line = Vec::new();
        let n = reader.read_until(b'\n', &mut line).map_err(|e| e.to_string())?;
        if n == 0 {
            return if first { Ok(None) } else { Err("output ended inside a header".into()) };
        }
        first = false;
        if !line.ends_with(b"\r\n") {
            return Err(format!(
                "header line not ended by CRLF: {:?}",
                String::from_utf8_lossy(&line)
            ));
        }
        let line = String::from_utf8_lossy(&line[..line.len() - 2]).into_owned();
        if line.is_empty() {
            break;
        }
        let (name, value) =
            line.split_once(':').ok_or_else(|| format!("malformed header {line:?}"))?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| format!("bad Content-Length {line:?}"))?,
            );
        }
    }
    let length = length.ok_or("a message without Content-Length")?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).map_err(|e| format!("reading a {length}-byte body: {e}"))?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| format!("invalid JSON body ({e}): {}", String::from_utf8_lossy(&body)))
}

fn dispatch(message: Value, outgoing: &mpsc::Sender<Outgoing>, shared: &Shared) {
    let has_id = message.get("id").is_some();
    let method = message.get("method").and_then(Value::as_str).map(str::to_owned);
    let mut inbox = shared.lock();
    inbox.log.push(message.clone());
    inbox.log_times.push(Instant::now());
    match (has_id, method) {
        (true, Some(method)) => {
            // A request from the server: answer it the way a plain editor
            // would, so the server never waits on us.
            let id = message["id"].clone();
            let reply = match method.as_str() {
                "workspace/configuration" => {
                    let items = message
                        .pointer("/params/items")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len);
                    let result = vec![inbox.configuration.clone(); items];
                    json!({ "jsonrpc": "2.0", "id": id, "result": result })
                }
                "window/workDoneProgress/create" | "client/registerCapability" => {
                    json!({ "jsonrpc": "2.0", "id": id, "result": null })
                }
                // The edit is recorded (see `server_requests`); tests apply
                // it to their own copy of the text.
                "workspace/applyEdit" => {
                    json!({ "jsonrpc": "2.0", "id": id, "result": { "applied": true } })
                }
                _ => json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "error": { "code": codes::METHOD_NOT_FOUND, "message": "not supported by the test client" },
                }),
            };
            inbox.server_requests.push(message);
            let body = serde_json::to_vec(&reply).expect("serialize a reply");
            let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
            framed.extend_from_slice(&body);
            let _ = outgoing.send(Outgoing::Bytes(framed));
        }
        (true, None) => match message["id"].as_i64() {
            Some(id) => {
                inbox.responses.insert(id, message);
            }
            None => inbox.null_id_responses.push_back(message),
        },
        (false, _) => inbox.notifications.push_back(message),
    }
    drop(inbox);
    shared.changed.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_framed_messages() {
        let bytes = b"Content-Length: 2\r\nContent-Type: x\r\n\r\n{}Content-Length: 4\r\n\r\nnull";
        let mut reader = &bytes[..];
        assert_eq!(read_message(&mut reader), Ok(Some(json!({}))));
        assert_eq!(read_message(&mut reader), Ok(Some(Value::Null)));
        assert_eq!(read_message(&mut reader), Ok(None));
    }

    #[test]
    fn rejects_truncated_messages() {
        let mut reader = &b"Content-Length: 10\r\n\r\n{}"[..];
        assert!(read_message(&mut reader).is_err());
        let mut reader = &b"Content-Length: 2\n\n{}"[..];
        assert!(read_message(&mut reader).is_err());
    }
}
