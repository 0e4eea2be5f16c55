//! The language-server protocol edge: the only code that knows tower-lsp-server
//! and LSP types.
//!
//! Handlers here are thin: they convert positions (in `convert`), take the
//! locks they need for as short as possible, and delegate to the domain
//! modules. Architecture invariants kept here:
//! - Document notifications mutate state synchronously, before any `.await`,
//!   so the order in which the transport first polls them is the order they
//!   are applied in.
//! - No lock is held across an `.await` (locks are `parking_lot` guards, which
//!   are not `Send`, so the compiler enforces it inside handler futures).
//! - A panic inside a handler is caught, logged with a backtrace and answered
//!   as an internal error; the server keeps running.

mod actions;
mod capabilities;
mod completion;
pub mod convert;
mod ext;
mod model;
mod text_sync;
// `pub(crate)` for `crate::fuzzing`.
pub(crate) mod transport;

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use futures::FutureExt;
use parking_lot::Mutex;
use tower_lsp_server::{
    Client, LanguageServer, LspService, Server,
    gen_lsp_types::{
        CodeAction, CodeActionParams, CodeActionResponse, CompletionParams, CompletionResponse,
        DidChangeConfigurationParams, DidChangeTextDocumentParams, DidCloseTextDocumentParams,
        DidOpenTextDocumentParams, ExecuteCommandParams, InitializeParams, InitializeResult,
        InitializedParams, InlineCompletionParams, InlineCompletionResponse, MessageType,
        ServerInfo,
    },
    jsonrpc,
};

use crate::{
    completion::Completer,
    config::Config,
    documents::DocumentStore,
    engine::Engine,
    workspace::{self, DefinitionIndex, ScanLimits},
};

pub use ext::DEBUG_API_ENV;

use self::capabilities::ClientFacts;

/// How to run the server.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServeOptions {
    /// Register the `hearth/debug*` requests used by tests.
    pub debug_api: bool,
}

/// Far above tower-lsp's default of 4: every request and notification is a
/// future in one bounded stream, and a handful of requests waiting on the
/// model must never keep `didChange` from being read.
const CONCURRENCY_LEVEL: usize = 256;

/// How long `shutdown` waits for the engine to stop before it answers.
const ENGINE_STOP_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// How long requests in flight may still finish after the input ends.
const INPUT_CLOSED_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

/// Serves LSP on stdin/stdout until `exit` or the end of input. Returns whether
/// `shutdown` came first, which decides the exit code.
pub async fn serve_stdio(options: ServeOptions) -> bool {
    let (service, socket) = build_service(options);
    // The server reads and writes through pipes; `transport` stands between
    // them and stdio and answers malformed messages itself.
    let (server_in, client_side_in) = tokio::io::duplex(1 << 16);
    let (server_out, client_side_out) = tokio::io::duplex(1 << 16);
    let (errors_tx, errors_rx) = tokio::sync::mpsc::unbounded_channel();
    let session_end = Arc::new(transport::SessionEnd::default());
    let mut input = tokio::spawn(transport::pump_input(
        tokio::io::stdin(),
        client_side_in,
        errors_tx,
        session_end.clone(),
    ));
    let output = tokio::spawn(transport::pump_output(
        client_side_out,
        tokio::io::stdout(),
        errors_rx,
        session_end.clone(),
    ));
    let (server_read, server_write) = (server_in, server_out);
    let mut serving = Box::pin(
        Server::new(server_read, server_write, socket)
            .concurrency_level(CONCURRENCY_LEVEL)
            .serve(service),
    );
    tokio::select! {
        () = &mut serving => {}
        _ = &mut input => {
            // The end of input: `exit` came (the pump reads nothing after
            // it), or the editor is gone. tower-lsp would now wait for every
            // request in flight, a generation of seconds included, for a
            // client that will not read the answers; dropping them cancels
            // their model work.
            let _ = tokio::time::timeout(INPUT_CLOSED_GRACE, &mut serving).await;
        }
    }
    // Closes the server's output, which ends the output pump below.
    drop(serving);
    input.abort();
    let _ = output.await;
    // Every `shutdown` the server handled came through the transport, which
    // also counts one that `exit` cut short before its handler ran.
    session_end.shutdown_requested()
}

fn build_service(options: ServeOptions) -> (LspService<Backend>, tower_lsp_server::ClientSocket) {
    let mut builder = LspService::build(Backend::new)
        .custom_method(ext::COMPLETION_STATS, Backend::completion_stats)
        .custom_method(ext::STATUS, Backend::status)
        .custom_method("window/workDoneProgress/cancel", Backend::progress_cancel);
    if options.debug_api {
        builder = builder
            .custom_method(ext::DEBUG_DOCUMENT, Backend::debug_document)
            .custom_method(ext::DEBUG_PANIC, Backend::debug_panic);
    }
    builder.finish()
}

/// State shared by all handlers.
pub(crate) struct Shared {
    session: Mutex<Session>,
    documents: Mutex<DocumentStore>,
    engine: Mutex<Option<Engine>>,
    /// The completion pipeline of the loaded model, as it becomes available.
    completer: tokio::sync::watch::Sender<CompleterState>,
    /// The settings the current engine was started with.
    loaded_config: Mutex<Option<crate::engine::EngineConfig>>,
    /// Set by `shutdown`: the workspace scan stops. (The exit code comes
    /// from the transport, which sees every `shutdown`.)
    shutdown_requested: AtomicBool,
    /// Definitions in the workspace's files, for cross-file context: filled
    /// by a scan after `initialized` and kept current by document edits.
    related: Mutex<DefinitionIndex>,
    /// Code actions being computed, by progress token.
    running_actions: actions::RunningActions,
    /// The model's state as last announced, for `hearth/status`.
    model_status: Mutex<ext::ModelStatusParams>,
}

/// Whether completions can be served.
#[derive(Clone)]
pub(crate) enum CompleterState {
    /// A model is loading: completion requests wait for it (a while).
    Loading,
    Ready(Arc<Completer>),
    /// No model (disabled, or it failed to load): requests get empty answers.
    Unavailable,
}

/// What was agreed at `initialize` and the settings in force.
#[derive(Default)]
struct Session {
    client: ClientFacts,
    config: Config,
    /// Settings problems found before the client could be told.
    pending_warnings: Vec<String>,
    /// Workspace folder URIs, to name files as the model should see them.
    workspace_roots: Vec<String>,
}

pub(crate) struct Backend {
    client: Client,
    shared: Arc<Shared>,
}

impl Backend {
    fn new(client: Client) -> Backend {
        let shared = Shared {
            session: Mutex::new(Session::default()),
            documents: Mutex::new(DocumentStore::default()),
            engine: Mutex::new(None),
            completer: tokio::sync::watch::Sender::new(CompleterState::Unavailable),
            loaded_config: Mutex::new(None),
            shutdown_requested: AtomicBool::new(false),
            related: Mutex::new(DefinitionIndex::default()),
            running_actions: actions::RunningActions::default(),
            // The model starts loading once the client has sent `initialized`.
            model_status: Mutex::new(ext::ModelStatusParams {
                state: ext::ModelState::Loading,
                path: None,
                message: Some("waiting for the editor to finish initializing".to_owned()),
            }),
        };
        Backend { client, shared: Arc::new(shared) }
    }

    fn config(&self) -> Config {
        self.shared.session.lock().config.clone()
    }

    fn encoding(&self) -> convert::PositionEncoding {
        self.shared.session.lock().client.encoding
    }
}

/// Runs a request handler, turning a panic into an internal-error response.
async fn catch_request<T>(
    method: &str,
    handler: impl Future<Output = jsonrpc::Result<T>>,
) -> jsonrpc::Result<T> {
    match AssertUnwindSafe(handler).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => {
            let message = panic_message(&*payload);
            tracing::error!("handler for {method} panicked: {message}");
            Err(jsonrpc::Error {
                code: jsonrpc::ErrorCode::InternalError,
                message: format!("Hearth: internal error (panic) in {method}: {message}").into(),
                data: None,
            })
        }
    }
}

/// Runs a synchronous notification handler, logging a panic instead of
/// unwinding into the transport (which would end the server).
fn catch_notification<T>(method: &str, handler: impl FnOnce() -> T) -> Option<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(handler)) {
        Ok(it) => Some(it),
        Err(payload) => {
            tracing::error!("handler for {method} panicked: {}", panic_message(&*payload));
            None
        }
    }
}

/// The workspace folders' URIs, else the root URI.
fn workspace_roots(params: &InitializeParams) -> Vec<String> {
    let folders =
        serde_json::to_value(&params.workspace_folders_initialize_params.workspace_folders)
            .unwrap_or_default();
    let mut roots: Vec<String> = folders
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|it| it.get("uri")?.as_str().map(str::to_owned))
        .collect();
    #[allow(deprecated)]
    if roots.is_empty()
        && let Some(root) = &params.root_uri
    {
        roots.push(root.to_string());
    }
    roots
}

/// Bounds on the workspace scan after `initialized`, per root: 2,000 files,
/// 256 KiB a file, 16 MiB and 50,000 directory entries in all, which is a
/// few seconds of one background thread at most, even for a huge folder.
const WORKSPACE_SCAN_LIMITS: ScanLimits = ScanLimits::DEFAULT;

/// Indexes the definitions in each workspace root's files. Blocking; stops
/// early when the server shuts down.
fn scan_workspace_roots(shared: &Shared) {
    let roots = shared.session.lock().workspace_roots.clone();
    for root in roots {
        let Some(dir) = convert::local_path(&root) else {
            tracing::debug!("not scanning {root}: not a local folder");
            continue;
        };
        let started = std::time::Instant::now();
        let mut added = 0usize;
        for file in workspace::scan_workspace(&dir, WORKSPACE_SCAN_LIMITS) {
            if shared.shutdown_requested.load(Ordering::Relaxed) {
                return;
            }
            added += usize::from(shared.related.lock().add_scanned(file));
        }
        tracing::info!("indexed {added} files of {} in {:?}", dir.display(), started.elapsed());
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|it| (*it).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> jsonrpc::Result<InitializeResult> {
        catch_request("initialize", async {
            let client = ClientFacts::new(&params.capabilities, params.client_info.as_ref());
            let workspace_roots = workspace_roots(&params);
            let options = params.initialization_options.unwrap_or_default();
            let hearth_options = options.get("hearth").cloned().unwrap_or(options);
            let (config, warnings) = match Config::from_json(hearth_options) {
                Ok(it) => it,
                Err(err) => (Config::default(), vec![format!("{err}; using the defaults")]),
            };
            let menu = config.completion.completion_items;
            let mut session = self.shared.session.lock();
            *session = Session { client, config, pending_warnings: warnings, workspace_roots };
            Ok(InitializeResult {
                capabilities: capabilities::server_capabilities(&client, menu),
                server_info: Some(ServerInfo {
                    name: "hearth".to_owned(),
                    version: Some(env!("CARGO_PKG_VERSION").to_owned()),
                }),
            })
        })
        .await
    }

    async fn initialized(&self, _: InitializedParams) {
        // Requests that come before loading starts must wait for the model,
        // not be answered empty.
        if self.config().model.enabled {
            self.shared.completer.send_replace(CompleterState::Loading);
        }
        let warnings = std::mem::take(&mut self.shared.session.lock().pending_warnings);
        for warning in warnings {
            self.client.show_message(MessageType::Warning, format!("Hearth: {warning}")).await;
        }
        let client = self.client.clone();
        let shared = self.shared.clone();
        tokio::spawn(async move {
            model::refresh_config_and_model(&client, &shared).await;
        });
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || scan_workspace_roots(&shared));
    }

    async fn shutdown(&self) -> jsonrpc::Result<()> {
        self.shared.shutdown_requested.store(true, Ordering::SeqCst);
        let engine = self.shared.engine.lock().take();
        if let Some(engine) = engine {
            // Free the model's memory before answering, off the async
            // threads, but answer within half a second: the engine stops
            // after its current job, which may be a long generation, and the
            // client may be about to send `exit`.
            let stopping = tokio::task::spawn_blocking(move || engine.shutdown());
            if tokio::time::timeout(ENGINE_STOP_WAIT, stopping).await.is_err() {
                tracing::info!("answering `shutdown` while the engine finishes its job");
            }
        }
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let report = catch_notification("didOpen", || text_sync::did_open(self, params));
        self.log_report(report).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let report = catch_notification("didChange", || text_sync::did_change(self, params));
        self.log_report(report).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let report = catch_notification("didClose", || text_sync::did_close(self, params));
        self.log_report(report).await;
    }

    async fn inline_completion(
        &self,
        params: InlineCompletionParams,
    ) -> jsonrpc::Result<Option<InlineCompletionResponse>> {
        catch_request("textDocument/inlineCompletion", completion::inline_completion(self, params))
            .await
    }

    async fn completion(
        &self,
        params: CompletionParams,
    ) -> jsonrpc::Result<Option<CompletionResponse>> {
        catch_request("textDocument/completion", completion::completion(self, params)).await
    }

    async fn code_action(
        &self,
        params: CodeActionParams,
    ) -> jsonrpc::Result<Option<Vec<CodeActionResponse>>> {
        catch_request("textDocument/codeAction", async { actions::code_action(self, &params) })
            .await
    }

    async fn code_action_resolve(&self, params: CodeAction) -> jsonrpc::Result<CodeAction> {
        catch_request("codeAction/resolve", actions::resolve(self, params)).await
    }

    async fn execute_command(
        &self,
        params: ExecuteCommandParams,
    ) -> jsonrpc::Result<Option<serde_json::Value>> {
        catch_request("workspace/executeCommand", actions::execute_command(self, params)).await
    }

    async fn did_change_configuration(&self, _: DidChangeConfigurationParams) {
        let client = self.client.clone();
        let shared = self.shared.clone();
        tokio::spawn(async move {
            model::refresh_config_and_model(&client, &shared).await;
        });
    }
}

impl Backend {
    /// Sends the messages a synchronous handler collected, after its mutation.
    async fn log_report(&self, report: Option<text_sync::Report>) {
        let Some(report) = report else {
            self.client
                .log_message(
                    MessageType::Error,
                    "Hearth: internal error while applying a document event; see the server log",
                )
                .await;
            return;
        };
        for (kind, message) in report.messages {
            self.client.log_message(kind, message).await;
        }
    }

    /// The user cancelled an action from its progress display.
    async fn progress_cancel(&self, params: serde_json::Value) {
        if let Some(token) = params["token"].as_str() {
            self.shared.running_actions.cancel(token);
        }
    }

    /// The completion counters of the loaded model (`null` without one).
    async fn completion_stats(
        &self,
    ) -> jsonrpc::Result<Option<crate::completion::CompletionStats>> {
        catch_request(ext::COMPLETION_STATS, async {
            Ok(match &*self.shared.completer.borrow() {
                CompleterState::Ready(completer) => Some(completer.stats()),
                _ => None,
            })
        })
        .await
    }

    async fn status(&self) -> jsonrpc::Result<ext::StatusResult> {
        catch_request(ext::STATUS, async {
            let completion = match &*self.shared.completer.borrow() {
                CompleterState::Ready(completer) => Some(completer.stats()),
                _ => None,
            };
            Ok(ext::StatusResult {
                version: env!("CARGO_PKG_VERSION"),
                model: self.shared.model_status.lock().clone(),
                completion,
            })
        })
        .await
    }

    async fn debug_document(
        &self,
        params: ext::DebugDocumentParams,
    ) -> jsonrpc::Result<ext::DebugDocumentResult> {
        catch_request(ext::DEBUG_DOCUMENT, async { text_sync::debug_document(self, &params) }).await
    }

    async fn debug_panic(&self) -> jsonrpc::Result<()> {
        catch_request(ext::DEBUG_PANIC, async {
            panic!("deliberate panic from {}", ext::DEBUG_PANIC);
        })
        .await
    }
}
