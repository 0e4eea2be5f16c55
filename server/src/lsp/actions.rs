//! Code actions: `textDocument/codeAction`, `codeAction/resolve` and the
//! `hearth.applyAction` / `hearth.rewrite` commands.
//!
//! Listing is synchronous and never touches the model: the targets come
//! from the tree (`actions::offers`). The edit is computed on resolve, or,
//! for clients that cannot resolve, by the `hearth.applyAction` command,
//! which applies it through `workspace/applyEdit`. Each action carries the
//! document version it was listed for; an action for an older version fails
//! with a clear error instead of editing text that moved. The work shows as
//! cancellable `window/workDoneProgress`.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicU64, AtomicUsize, Ordering},
    time::Instant,
};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower_lsp_server::{
    gen_lsp_types::{
        CodeAction, CodeActionKind, CodeActionParams, CodeActionResponse, Command,
        Diagnostic as LspDiagnostic, ExecuteCommandParams, Message, ProgressToken, Range,
        WorkspaceEdit,
    },
    jsonrpc,
};

use super::{
    Backend,
    convert::{self, LinePastEnd},
};
use crate::{
    actions::{
        self, ActionKind, Diagnostic,
        run::{ActionInput, RunError},
    },
    documents::DocumentSnapshot,
    engine::{CancelOnDrop, CancelToken},
};

/// Computes an action's edit and applies it (clients without resolve).
pub const APPLY_ACTION: &str = "hearth.applyAction";
/// Rewrites a range following an instruction the editor asked the user for.
pub const REWRITE: &str = "hearth.rewrite";

/// What travels in an action's `data` from listing to resolving.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionData {
    uri: String,
    version: i32,
    kind: ActionKind,
    /// The target's byte range in that version.
    target: (usize, usize),
    /// Diagnostics in the target (byte ranges and messages), for Fix.
    #[serde(default)]
    diagnostics: Vec<(usize, usize, String)>,
    #[serde(default)]
    instruction: Option<String>,
    /// The title it was listed with, for progress and logs.
    #[serde(default)]
    title: Option<String>,
}

/// `hearth.rewrite`'s argument.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RewriteArgs {
    text_document: UriArg,
    range: Range,
    instruction: String,
}

#[derive(Debug, Deserialize)]
struct UriArg {
    uri: String,
}

/// Whether the client resolves code actions' edits lazily.
pub(super) fn client_resolves_edits(capabilities: &Value) -> bool {
    capabilities["textDocument"]["codeAction"]["resolveSupport"]["properties"]
        .as_array()
        .is_some_and(|it| it.iter().any(|p| p == "edit"))
}

fn snapshot(backend: &Backend, uri: &str) -> jsonrpc::Result<DocumentSnapshot> {
    let documents = backend.shared.documents.lock();
    let doc = documents
        .get(uri)
        .ok_or_else(|| jsonrpc::Error::invalid_params(format!("{uri} is not open")))?;
    Ok(doc.snapshot())
}

/// Lists the actions at a range. No model call: tree queries only.
pub(super) fn code_action(
    backend: &Backend,
    params: &CodeActionParams,
) -> jsonrpc::Result<Option<Vec<CodeActionResponse>>> {
    let started = Instant::now();
    let uri = params.text_document.uri.to_string();
    let snapshot = snapshot(backend, &uri)?;
    let (Some(lang), Some(tree)) = (snapshot.lang, snapshot.tree.as_ref()) else {
        return Ok(Some(Vec::new()));
    };
    let encoding = backend.encoding();
    let text = &snapshot.text;
    let at = |pos| convert::offset_of(text, pos, encoding, LinePastEnd::Clamp).map(|it| it.offset);
    let invalid =
        |err: convert::PositionOutOfRange| jsonrpc::Error::invalid_params(err.to_string());
    let start = at(params.range.start).map_err(invalid)?;
    let end = at(params.range.end).map_err(invalid)?.max(start);
    // Each diagnostic in bytes, beside the client's own (sent back with Fix).
    let converted: Vec<(Diagnostic, &LspDiagnostic)> = params
        .context
        .diagnostics
        .iter()
        .filter_map(|it| {
            let from = at(it.range.start).ok()?;
            let to = at(it.range.end).ok()?.max(from);
            let message = match &it.message {
                Message::String(text) => text.clone(),
                Message::MarkupContent(markup) => markup.value.clone(),
            };
            Some((Diagnostic { range: from..to, message }, it))
        })
        .collect();
    let diagnostics: Vec<Diagnostic> = converted.iter().map(|(it, _)| it.clone()).collect();
    let source = text.to_string();
    let offers = actions::offers(lang, &source, tree, start..end, &diagnostics);
    let resolves = backend.shared.session.lock().client.resolve_code_actions;
    let mut listed = Vec::new();
    for offer in offers {
        // Rewriting needs an instruction, which the editor asks the user
        // for and sends with `hearth.rewrite`.
        if offer.kind == ActionKind::Rewrite {
            continue;
        }
        let in_target: Vec<&(Diagnostic, &LspDiagnostic)> = converted
            .iter()
            .filter(|(it, _)| {
                it.range.start <= offer.target.end && offer.target.start <= it.range.end
            })
            .collect();
        let data = ActionData {
            uri: uri.clone(),
            version: snapshot.version,
            kind: offer.kind,
            target: (offer.target.start, offer.target.end),
            diagnostics: in_target
                .iter()
                .map(|(it, _)| (it.range.start, it.range.end, it.message.clone()))
                .collect(),
            instruction: None,
            title: Some(offer.title.clone()),
        };
        let data = serde_json::to_value(&data).map_err(|_| jsonrpc::Error::internal_error())?;
        let kind = match offer.kind {
            ActionKind::Fix => CodeActionKind::QuickFix,
            _ => CodeActionKind::Refactor,
        };
        let fixes = (offer.kind == ActionKind::Fix)
            .then(|| in_target.iter().map(|(_, lsp)| (*lsp).clone()).collect());
        let mut action = CodeAction {
            title: offer.title.clone(),
            kind: Some(kind),
            diagnostics: fixes,
            ..CodeAction::default()
        };
        if resolves {
            action.data = Some(data);
        } else {
            action.command = Some(Command {
                title: offer.title,
                command: APPLY_ACTION.to_owned(),
                arguments: Some(vec![data]),
                ..Command::default()
            });
        }
        listed.push(CodeActionResponse::CodeAction(action));
    }
    tracing::debug!("{} code actions for {uri} in {:?}", listed.len(), started.elapsed());
    Ok(Some(listed))
}

/// Fills in a listed action's edit.
pub(super) async fn resolve(
    backend: &Backend,
    mut action: CodeAction,
) -> jsonrpc::Result<CodeAction> {
    let Some(data) = action.data.clone() else {
        // An action listed in command form (for clients that should not
        // resolve) has nothing to fill in; some resolve it anyway.
        if action.command.as_ref().is_some_and(|it| it.command == APPLY_ACTION) {
            return Ok(action);
        }
        return Err(jsonrpc::Error::invalid_params("this code action is not Hearth's"));
    };
    let data: ActionData = serde_json::from_value(data)
        .map_err(|err| jsonrpc::Error::invalid_params(format!("not a Hearth action: {err}")))?;
    action.edit = Some(compute(backend, &data, &action.title).await?);
    Ok(action)
}

/// Runs `hearth.applyAction` and `hearth.rewrite`: computes the edit and
/// asks the client to apply it.
pub(super) async fn execute_command(
    backend: &Backend,
    params: ExecuteCommandParams,
) -> jsonrpc::Result<Option<Value>> {
    let argument = params.arguments.and_then(|it| it.into_iter().next()).unwrap_or(Value::Null);
    let (data, title) = match params.command.as_str() {
        APPLY_ACTION => {
            let data: ActionData = serde_json::from_value(argument).map_err(|err| {
                jsonrpc::Error::invalid_params(format!("{APPLY_ACTION} needs an action: {err}"))
            })?;
            let title = data.title.clone().unwrap_or_else(|| data.kind.title("code"));
            (data, title)
        }
        REWRITE => {
            let args: RewriteArgs = serde_json::from_value(argument).map_err(|err| {
                jsonrpc::Error::invalid_params(format!(
                    "{REWRITE} needs {{textDocument: {{uri}}, range, instruction}}: {err}"
                ))
            })?;
            (rewrite_data(backend, args)?, ActionKind::Rewrite.title("selection"))
        }
        other => {
            return Err(jsonrpc::Error::invalid_params(format!("unknown command {other:?}")));
        }
    };
    let edit = compute(backend, &data, &title).await?;
    let applied = backend
        .client
        .apply_edit(edit)
        .await
        .map_err(|err| jsonrpc::Error::invalid_params(format!("the editor refused: {err}")))?;
    Ok(Some(serde_json::to_value(applied).unwrap_or(Value::Null)))
}

fn rewrite_data(backend: &Backend, args: RewriteArgs) -> jsonrpc::Result<ActionData> {
    let uri = args.text_document.uri;
    let snapshot = snapshot(backend, &uri)?;
    let encoding = backend.encoding();
    let at = |pos| {
        convert::offset_of(&snapshot.text, pos, encoding, LinePastEnd::Clamp)
            .map(|it| it.offset)
            .map_err(|err| jsonrpc::Error::invalid_params(err.to_string()))
    };
    let start = at(args.range.start)?;
    let end = at(args.range.end)?.max(start);
    if args.instruction.trim().is_empty() {
        return Err(jsonrpc::Error::invalid_params("Hearth: the instruction is empty"));
    }
    Ok(ActionData {
        uri,
        version: snapshot.version,
        kind: ActionKind::Rewrite,
        target: (start, end),
        diagnostics: Vec::new(),
        instruction: Some(args.instruction),
        title: None,
    })
}

/// A request error the editor shows as it is (LSP's `RequestFailed`).
pub(super) fn failed(message: impl Into<String>) -> jsonrpc::Error {
    jsonrpc::Error {
        code: jsonrpc::ErrorCode::ServerError(-32803),
        message: message.into().into(),
        data: None,
    }
}

/// The edit for an action, from the document version it was listed for.
async fn compute(
    backend: &Backend,
    data: &ActionData,
    title: &str,
) -> jsonrpc::Result<WorkspaceEdit> {
    let started = Instant::now();
    let snapshot = snapshot(backend, &data.uri)?;
    if snapshot.version != data.version {
        return Err(failed(format!(
            "Hearth: the document changed since this action was listed (version {} is now {}); ask for actions again",
            data.version, snapshot.version
        )));
    }
    let config = backend.config();
    if config.documents.too_large(snapshot.text.len_bytes()) {
        let limit = config.documents.max_context_bytes;
        return Err(failed(super::text_sync::too_large_message(
            &data.uri,
            snapshot.text.len_bytes(),
            limit,
        )));
    }
    let (Some(lang), Some(tree)) = (snapshot.lang, snapshot.tree.clone()) else {
        return Err(failed("Hearth: this document has no syntax tree (yet); try again"));
    };
    // Counted from here until the edit is made, waiting for the model
    // included: each waiting action holds one of the transport's request
    // slots, and enough of them would stop edits from being read at all.
    let Some(_queued) = backend.shared.running_actions.enter(config.model.max_queued_actions)
    else {
        return Err(failed(format!(
            "Hearth: {} code actions are already running or waiting for the model \
             (`model.maxQueuedActions`); try again when one has finished",
            config.model.max_queued_actions
        )));
    };
    let Some(engine) = engine(backend).await else {
        return Err(failed("Hearth: no model is loaded; see the server's log"));
    };
    let source = snapshot.text.to_string();
    let diagnostics: Vec<Diagnostic> = data
        .diagnostics
        .iter()
        .map(|(from, to, message)| Diagnostic { range: *from..*to, message: message.clone() })
        .collect();
    let input = ActionInput {
        kind: data.kind,
        lang,
        source: &source,
        tree: &tree,
        target: data.target.0..data.target.1,
        diagnostics: &diagnostics,
        instruction: data.instruction.as_deref(),
    };
    let cancel = CancelToken::new();
    // A cancelled request (`$/cancelRequest`) drops this future.
    let _guard = CancelOnDrop(cancel.clone());
    let progress = Progress::begin(backend, title, &cancel);
    let result = actions::run::run(&engine, &input, &cancel).await;
    progress.end(backend);
    let result = result.map_err(|err| match err {
        RunError::Action(err) => failed(err.to_string()),
        // The user cancelled (`window/workDoneProgress/cancel`): not a
        // failure, and editors show nothing for `RequestCancelled`.
        RunError::Engine(crate::engine::JobError::Cancelled) => jsonrpc::Error {
            code: jsonrpc::ErrorCode::RequestCancelled,
            message: "Hearth: the action was cancelled".into(),
            data: None,
        },
        RunError::Engine(err) => failed(format!("Hearth: the model failed: {err}")),
    })?;
    tracing::info!(
        "{title}: {} tokens, {} preemptions, {:?}; reply: {:?}",
        result.generated_tokens,
        result.preemptions,
        started.elapsed(),
        result.reply
    );
    // The user may have typed while the model wrote.
    if snapshot_version(backend, &data.uri) != Some(data.version) {
        return Err(failed("Hearth: the document changed while the action ran; ask again"));
    }
    let encoding = backend.encoding();
    let edits: Vec<Value> = result
        .edits
        .iter()
        .map(|edit| {
            let start = convert::position_of(&snapshot.text, edit.range.start, encoding);
            let end = convert::position_of(&snapshot.text, edit.range.end, encoding);
            json!({
                "range": { "start": start, "end": end },
                "newText": edit.new_text,
            })
        })
        .collect();
    // Versioned, so the editor refuses the edit if the text moved on.
    let edit = json!({
        "documentChanges": [{
            "textDocument": { "uri": data.uri, "version": data.version },
            "edits": edits,
        }],
    });
    serde_json::from_value(edit).map_err(|_| jsonrpc::Error::internal_error())
}

fn snapshot_version(backend: &Backend, uri: &str) -> Option<i32> {
    backend.shared.documents.lock().get(uri).map(|doc| doc.version())
}

/// The engine, waiting for a model that is still loading.
async fn engine(backend: &Backend) -> Option<crate::engine::EngineHandle> {
    super::completion::completer(backend).await?;
    backend.shared.engine.lock().as_ref().map(|engine| engine.handle())
}

/// Progress tokens of running actions, for `window/workDoneProgress/cancel`,
/// and how many actions are running or waiting.
#[derive(Default)]
pub(super) struct RunningActions {
    next: AtomicU64,
    cancels: parking_lot::Mutex<HashMap<String, CancelToken>>,
    queued: AtomicUsize,
}

impl RunningActions {
    pub(super) fn cancel(&self, token: &str) {
        if let Some(cancel) = self.cancels.lock().get(token) {
            cancel.cancel();
        }
    }

    /// Counts an action in, unless `max` are in already.
    fn enter(&self, max: usize) -> Option<Queued<'_>> {
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1))
            .ok()
            .map(|_| Queued(&self.queued))
    }
}

/// One action counted in [`RunningActions`]; counted out when dropped, which
/// a cancelled request does too.
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The client's progress display for one action, if it has one.
///
/// The work never waits for the client: creating the progress token is a
/// request to the client, and a client that blocks on our answer (Helix
/// resolves code actions on its main thread) cannot reply until we are done.
/// So a task of its own creates the token, shows `begin` if the action is
/// still running by then, and `end` when it finishes.
struct Progress {
    token: Option<String>,
    finished: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Progress {
    fn begin(backend: &Backend, title: &str, cancel: &CancelToken) -> Progress {
        if !backend.shared.session.lock().client.work_done_progress {
            return Progress { token: None, finished: None };
        }
        let running = &backend.shared.running_actions;
        let token = format!("hearth/action/{}", running.next.fetch_add(1, Ordering::Relaxed));
        running.cancels.lock().insert(token.clone(), cancel.clone());
        let (finished, mut finished_rx) = tokio::sync::oneshot::channel::<()>();
        let client = backend.client.clone();
        let title = title.to_owned();
        let task_token = token.clone();
        tokio::spawn(async move {
            let token = task_token;
            if client.create_work_done_progress(ProgressToken::String(token.clone())).await.is_err()
            {
                return;
            }
            // Done before the client answered: nothing to show.
            if !matches!(
                finished_rx.try_recv(),
                Err(tokio::sync::oneshot::error::TryRecvError::Empty)
            ) {
                return;
            }
            let begin = json!({
                "token": token,
                "value": { "kind": "begin", "title": title, "cancellable": true,
                           "message": "asking the local model" },
            });
            client.send_notification::<ProgressNotification>(begin).await;
            let _ = finished_rx.await;
            let end = json!({ "token": token, "value": { "kind": "end" } });
            client.send_notification::<ProgressNotification>(end).await;
        });
        Progress { token: Some(token), finished: Some(finished) }
    }

    fn end(self, backend: &Backend) {
        let Some(token) = self.token else { return };
        backend.shared.running_actions.cancels.lock().remove(&token);
        if let Some(finished) = self.finished {
            let _ = finished.send(());
        }
    }
}

/// `$/progress` with a raw payload (the typed one hides `cancellable`
/// behind a builder that owns the token).
enum ProgressNotification {}

impl tower_lsp_server::gen_lsp_types::Notification for ProgressNotification {
    type Params = Value;
    const METHOD: tower_lsp_server::gen_lsp_types::LspNotificationMethod<'static> =
        tower_lsp_server::gen_lsp_types::LspNotificationMethod::Custom("$/progress");
    const MESSAGE_DIRECTION: tower_lsp_server::gen_lsp_types::MessageDirection =
        tower_lsp_server::gen_lsp_types::MessageDirection::ServerToClient;
}
