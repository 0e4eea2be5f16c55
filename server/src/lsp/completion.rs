//! `textDocument/inlineCompletion` and its fallback `textDocument/completion`.
//!
//! Both run the same `Completer`; they differ only in how the suggestion is
//! dressed: ghost text for clients with inline completion (VS Code, Neovim
//! 0.12), one clearly labelled, pre-selected completion item for the others
//! (Helix, Zed).

use std::{sync::Arc, time::Duration};

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
    Backend, CompleterState,
    convert::{self, LinePastEnd},
};
use crate::{
    completion::{Completer, CompletionError, CompletionRequest, Trigger},
    context::{fim::FileBlock, related},
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
    /// Definitions from other files, shown before this one.
    other_files: Vec<FileBlock>,
}

fn pin(backend: &Backend, at: &TextDocumentPositionParams) -> jsonrpc::Result<Pinned> {
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
    let (repo_name, path) = {
        let session = backend.shared.session.lock();
        convert::workspace_path(&uri, &session.workspace_roots)
    };
    let other_files = related_files(backend, &snapshot, cursor, &path);
    Ok(Pinned { uri, snapshot, cursor, repo_name, path, other_files })
}

/// Definitions of the names used before the cursor's line, from other
/// files. They depend only on text that typing on the cursor's line leaves
/// alone, so the prompt they start stays the same (see `context::related`).
fn related_files(
    backend: &Backend,
    snapshot: &DocumentSnapshot,
    cursor: usize,
    path: &str,
) -> Vec<FileBlock> {
    let index = &backend.shared.related;
    workspace::refresh_pending(index, path);
    let config = backend.config().completion_config().context;
    let blocks = related::blocks_at(&index.lock(), &snapshot.text, cursor, path, &config);
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
    let mut state = backend.shared.completer.subscribe();
    let ready = state.wait_for(|it| !matches!(it, CompleterState::Loading));
    match tokio::time::timeout(MODEL_WAIT, ready).await {
        Ok(Ok(state)) => match &*state {
            CompleterState::Ready(completer) => Some(completer.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// The suggestion for a pinned request, if any.
async fn run(backend: &Backend, pinned: &Pinned, trigger: Trigger) -> Option<String> {
    let completer = completer(backend).await?;
    let request = CompletionRequest {
        key: &pinned.uri,
        text: &pinned.snapshot.text,
        cursor: pinned.cursor,
        path: &pinned.path,
        repo_name: &pinned.repo_name,
        lang: pinned.snapshot.lang,
        tree: pinned.snapshot.tree.as_ref(),
        other_files: &pinned.other_files,
        trigger,
    };
    match completer.complete(&request).await {
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
    let pinned = pin(backend, &params.text_document_position_params)?;
    let trigger = match params.context.trigger_kind {
        InlineCompletionTriggerKind::Invoked => Trigger::Invoked,
        _ => Trigger::Automatic,
    };
    let items = match run(backend, &pinned, trigger).await {
        Some(suggestion) => {
            let at = convert::position_of(&pinned.snapshot.text, pinned.cursor, backend.encoding());
            vec![InlineCompletionItem {
                insert_text: InsertText::String(suggestion),
                filter_text: None,
                range: Some(Range { start: at, end: at }),
                command: None,
            }]
        }
        None => Vec::new(),
    };
    Ok(Some(InlineCompletionResponse::InlineCompletionList(InlineCompletionList { items })))
}

pub(super) async fn completion(
    backend: &Backend,
    params: CompletionParams,
) -> jsonrpc::Result<Option<CompletionResponse>> {
    let pinned = pin(backend, &params.text_document_position_params)?;
    // Only an explicit request is the user's; clients that re-ask while the
    // user types (an incomplete list) are typing along.
    let trigger = match params.context.map(|it| it.trigger_kind) {
        Some(CompletionTriggerKind::Invoked) => Trigger::Invoked,
        _ => Trigger::Automatic,
    };
    let items = match run(backend, &pinned, trigger).await {
        Some(suggestion) => vec![completion_item(backend, &pinned, &suggestion)],
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
