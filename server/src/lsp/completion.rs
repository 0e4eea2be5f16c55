//! `textDocument/inlineCompletion` and its fallback `textDocument/completion`.
//!
//! Both run the same `Completer`; they differ only in how the suggestion is
//! dressed: ghost text for clients with inline completion (VS Code, Neovim
//! 0.12), one clearly labelled, pre-selected completion item for the others
//! (Helix, Zed).

use std::{future::Future, sync::Arc, time::Duration};

use tower_lsp_server::{
    gen_lsp_types::{
        CompletionItem, CompletionItemKind, CompletionItemTextEdit, CompletionList,
        CompletionParams, CompletionResponse, CompletionTriggerKind, InlineCompletionItem,
        InlineCompletionList, InlineCompletionParams, InlineCompletionResponse,
        InlineCompletionTriggerKind, InsertText, Range, TextDocumentPositionParams, TextEdit,
    },
    jsonrpc,
};

use super::{
    Backend, CompleterState, Shared,
    convert::{self, LinePastEnd},
};
use crate::{
    completion::{Completer, CompletionError, CompletionRequest, Trigger, scheduler},
    context::{ContextConfig, fim::FileBlock, related},
    documents::DocumentSnapshot,
    workspace,
};

/// A request pinned to a document snapshot, ready to run without locks.
struct Pinned {
    uri: String,
    snapshot: DocumentSnapshot,
    cursor: usize,
    repo_name: String,
    path: String,
    trigger: Trigger,
    /// When the request arrived, for the scheduler's "newest wins".
    arrival: u64,
    /// `completion.requestBudgetMs`.
    budget: Duration,
    context: ContextConfig,
}

/// Why a request is answered without asking the model.
enum Unpinned {
    Error(jsonrpc::Error),
    /// No suggestions here (the message says why): the document is above
    /// `documents.maxContextBytes`, or it is not text.
    Declined(String),
}

impl From<jsonrpc::Error> for Unpinned {
    fn from(err: jsonrpc::Error) -> Unpinned {
        Unpinned::Error(err)
    }
}

/// Takes the document as it is now. Cheap and synchronous: it runs before
/// any later edit is applied, so the request sees the text it was made for.
fn pin(
    backend: &Backend,
    at: &TextDocumentPositionParams,
    trigger: Trigger,
) -> Result<Pinned, Unpinned> {
    let uri = at.text_document.uri.to_string();
    let encoding = backend.encoding();
    let snapshot = {
        let documents = backend.shared.documents.lock();
        let doc = documents
            .get(&uri)
            .ok_or_else(|| jsonrpc::Error::invalid_params(format!("{uri} is not open")))?;
        doc.snapshot()
    };
    let cursor = convert::offset_of(&snapshot.text, at.position, encoding, LinePastEnd::Reject)
        .map_err(|err| jsonrpc::Error::invalid_params(err.to_string()))?
        .offset;
    let config = backend.config();
    if config.documents.too_large(snapshot.text.len_bytes()) {
        return Err(Unpinned::Declined(super::text_sync::too_large_message(
            &uri,
            snapshot.text.len_bytes(),
            config.documents.max_context_bytes,
        )));
    }
    let context = config.completion_config().context;
    if has_nul_near(&snapshot.text, cursor, &context) {
        // A binary file opened as text: its bytes make thousands of tokens
        // of noise (tens of seconds of prompt reading) for no suggestion.
        return Err(Unpinned::Declined(format!(
            "Hearth: {uri} has NUL characters near the cursor, so it is not text; no suggestions for it"
        )));
    }
    let (repo_name, path) = {
        let session = backend.shared.session.lock();
        convert::workspace_path(&uri, &session.workspace_roots)
    };
    Ok(Pinned {
        uri,
        snapshot,
        cursor,
        repo_name,
        path,
        trigger,
        arrival: scheduler::arrival(),
        budget: config.completion.request_budget(),
        context,
    })
}

/// Whether the text the prompt would show around `cursor` has a NUL
/// character, which no source file has and every binary one does.
fn has_nul_near(text: &ropey::Rope, cursor: usize, context: &ContextConfig) -> bool {
    let from = cursor.saturating_sub(context.prefix_bytes);
    let to = cursor.saturating_add(context.suffix_bytes).min(text.len_bytes());
    let (from, to) = (text.byte_to_char(from), text.byte_to_char(to));
    text.slice(from..to).chunks().any(|chunk| chunk.contains('\0'))
}

/// Pins a request, or says how to answer it without the model: an error,
/// or (where Hearth declines to complete) nothing, with the reason in an
/// error only when the user asked explicitly.
fn pin_or_answer(
    backend: &Backend,
    at: &TextDocumentPositionParams,
    trigger: Trigger,
) -> Result<Option<Pinned>, jsonrpc::Error> {
    match pin(backend, at, trigger) {
        Ok(pinned) => Ok(Some(pinned)),
        Err(Unpinned::Error(err)) => Err(err),
        Err(Unpinned::Declined(message)) if trigger == Trigger::Invoked => {
            Err(super::actions::failed(message))
        }
        Err(Unpinned::Declined(_)) => Ok(None),
    }
}

/// Definitions of the names used before the cursor's line, from other
/// files. They depend only on text that typing on the cursor's line leaves
/// alone, so the prompt they start stays the same (see `context::related`).
fn related_files(shared: &Shared, pinned: &Pinned) -> Vec<FileBlock> {
    let index = &shared.related;
    let path = &pinned.path;
    workspace::refresh_pending(index, path);
    let text = &pinned.snapshot.text;
    let blocks = related::blocks_at(&index.lock(), text, pinned.cursor, path, &pinned.context);
    tracing::debug!(
        "cross-file context for {path}: {:?}",
        blocks.iter().map(|it| (&it.path, it.text.len())).collect::<Vec<_>>()
    );
    blocks
}

/// How long a request waits for a model that is still loading.
pub(super) const MODEL_WAIT: Duration = Duration::from_secs(60);

/// The completion pipeline, waiting for a model that is loading.
pub(super) async fn completer(backend: &Backend) -> Option<Arc<Completer>> {
    ready_completer(&backend.shared).await
}

async fn ready_completer(shared: &Shared) -> Option<Arc<Completer>> {
    let mut state = shared.completer.subscribe();
    let ready = state.wait_for(|it| !matches!(it, CompleterState::Loading));
    match tokio::time::timeout(MODEL_WAIT, ready).await {
        Ok(Ok(state)) => match &*state {
            CompleterState::Ready(completer) => Some(completer.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Runs `work` as a task of its own and waits for it. The transport polls
/// every request and notification on one task, so anything slow done
/// inside a request's own future (gathering other files' definitions,
/// building the prompt, parsing the document with the suggestion in it)
/// would hold up the edits behind it. Dropping the returned future (a
/// cancelled request) aborts the task, which cancels its model job.
async fn detached<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> T {
    struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);
    impl<T> Drop for AbortOnDrop<T> {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let mut task = AbortOnDrop(tokio::spawn(work));
    match (&mut task.0).await {
        Ok(it) => it,
        // The panic was logged where it happened; `catch_request` answers it.
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(err) => panic!("a completion task ended early: {err}"),
    }
}

/// The suggestion for a pinned request, if any, within the request's time
/// budget (`completion.requestBudgetMs`), and only while it is current.
/// Gives the request back with the answer.
async fn run(shared: Arc<Shared>, pinned: Pinned) -> (Option<String>, Pinned) {
    let (suggestion, pinned) = {
        let shared = shared.clone();
        detached(async move {
            let suggestion = run_within_budget(&shared, &pinned).await;
            (suggestion, pinned)
        })
        .await
    };
    // A suggestion for text the user has since changed would be shown
    // against the new text by clients that do not check versions (Helix,
    // Neovim); the cache keeps it for the request that follows the edit.
    // Checked here, on the transport's task, where edits are applied: the
    // answer leaves before any later edit is applied, or it is dropped.
    let version = shared.documents.lock().get(&pinned.uri).map(|doc| doc.version());
    if suggestion.is_some() && version != Some(pinned.snapshot.version) {
        tracing::debug!(
            "dropped a suggestion for version {} of {}: it is now {version:?}",
            pinned.snapshot.version,
            pinned.uri
        );
        return (None, pinned);
    }
    (suggestion, pinned)
}

async fn run_within_budget(shared: &Shared, pinned: &Pinned) -> Option<String> {
    // Running out of time drops the work's future, which cancels its job.
    let work = run_unbounded(shared, pinned);
    let Ok(suggestion) = tokio::time::timeout(pinned.budget, work).await else {
        tracing::warn!(
            "no completion for {}: it took longer than completion.requestBudgetMs ({} ms)",
            pinned.uri,
            pinned.budget.as_millis()
        );
        return None;
    };
    suggestion
}

async fn run_unbounded(shared: &Shared, pinned: &Pinned) -> Option<String> {
    let completer = ready_completer(shared).await?;
    let other_files = related_files(shared, pinned);
    let request = CompletionRequest {
        key: &pinned.uri,
        text: &pinned.snapshot.text,
        cursor: pinned.cursor,
        path: &pinned.path,
        repo_name: &pinned.repo_name,
        lang: pinned.snapshot.lang,
        tree: pinned.snapshot.tree.as_ref(),
        other_files: &other_files,
        trigger: pinned.trigger,
    };
    match completer.complete_arrived(&request, pinned.arrival).await {
        Ok(completion) => completion.text,
        Err(CompletionError::Superseded | CompletionError::Cancelled) => None,
        Err(err) => {
            tracing::warn!("no completion for {}: {err}", pinned.uri);
            None
        }
    }
}

pub(super) async fn inline_completion(
    backend: &Backend,
    params: InlineCompletionParams,
) -> jsonrpc::Result<Option<InlineCompletionResponse>> {
    let trigger = match params.context.trigger_kind {
        InlineCompletionTriggerKind::Invoked => Trigger::Invoked,
        _ => Trigger::Automatic,
    };
    let Some(pinned) = pin_or_answer(backend, &params.text_document_position_params, trigger)?
    else {
        return Ok(Some(InlineCompletionResponse::InlineCompletionList(InlineCompletionList {
            items: Vec::new(),
        })));
    };
    let items = match run(backend.shared.clone(), pinned).await {
        (Some(suggestion), pinned) => {
            let at = convert::position_of(&pinned.snapshot.text, pinned.cursor, backend.encoding());
            vec![InlineCompletionItem {
                insert_text: InsertText::String(suggestion),
                filter_text: None,
                range: Some(Range { start: at, end: at }),
                command: None,
            }]
        }
        (None, _) => Vec::new(),
    };
    Ok(Some(InlineCompletionResponse::InlineCompletionList(InlineCompletionList { items })))
}

pub(super) async fn completion(
    backend: &Backend,
    params: CompletionParams,
) -> jsonrpc::Result<Option<CompletionResponse>> {
    // Only an explicit request is the user's; clients that re-ask while the
    // user types (an incomplete list) are typing along.
    let trigger = match params.context.map(|it| it.trigger_kind) {
        Some(CompletionTriggerKind::Invoked) => Trigger::Invoked,
        _ => Trigger::Automatic,
    };
    let items = match pin_or_answer(backend, &params.text_document_position_params, trigger)? {
        Some(pinned) => match run(backend.shared.clone(), pinned).await {
            (Some(suggestion), pinned) => vec![completion_item(backend, &pinned, &suggestion)],
            (None, _) => Vec::new(),
        },
        None => Vec::new(),
    };
    // Incomplete: the client asks again as the user types instead of
    // filtering a stale suggestion.
    Ok(Some(CompletionResponse::CompletionList(CompletionList {
        is_incomplete: true,
        items,
        ..CompletionList::default()
    })))
}

/// The suggestion as a completion item that replaces the word being typed,
/// so the client's word filter keeps it (`filterText` starts with that word).
fn completion_item(backend: &Backend, pinned: &Pinned, suggestion: &str) -> CompletionItem {
    let text = &pinned.snapshot.text;
    let line_start = text.line_to_byte(text.byte_to_line(pinned.cursor));
    let before = text.byte_slice(line_start..pinned.cursor).to_string();
    let word_len = before
        .chars()
        .rev()
        .take_while(|ch| ch.is_alphanumeric() || *ch == '_')
        .map(char::len_utf8)
        .sum::<usize>();
    let word = &before[before.len() - word_len..];
    let encoding = backend.encoding();
    let range = Range {
        start: convert::position_of(text, pinned.cursor - word_len, encoding),
        end: convert::position_of(text, pinned.cursor, encoding),
    };
    let new_text = format!("{word}{suggestion}");
    let first_line = new_text.lines().next().unwrap_or_default().trim();
    let label = if first_line.chars().count() > 60 {
        format!("{}…", first_line.chars().take(60).collect::<String>())
    } else {
        first_line.to_owned()
    };
    CompletionItem {
        label,
        kind: Some(CompletionItemKind::Snippet),
        detail: Some("Hearth (local model)".to_owned()),
        documentation: None,
        preselect: Some(true),
        sort_text: Some("\u{0}".to_owned()),
        filter_text: Some(new_text.clone()),
        text_edit: Some(CompletionItemTextEdit::TextEdit(TextEdit { range, new_text })),
        ..CompletionItem::default()
    }
}
