//! Document synchronisation: `didOpen`, `didChange`, `didClose`.
//!
//! Each handler runs synchronously to completion under the documents lock and
//! returns the log messages to send afterwards, so no `.await` ever comes
//! between receiving an edit and applying it.

use std::{path::PathBuf, sync::Arc, time::Duration};

use hearth_grammars::Lang;
use tower_lsp_server::{
    gen_lsp_types::{
        DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
        MessageType, TextDocumentContentChangeEvent,
    },
    jsonrpc,
};

use super::{
    Backend, Shared, WORKSPACE_SCAN_LIMITS,
    convert::{self, LinePastEnd, local_path},
    ext::{DebugDocumentParams, DebugDocumentResult},
};
use crate::{
    documents::{Document, DocumentSnapshot, ParseOutcome, SyntaxConfig, parse_fresh},
    workspace,
};

/// Messages for the client's log, collected while the documents were locked.
#[derive(Default)]
pub(super) struct Report {
    pub(super) messages: Vec<(MessageType, String)>,
}

impl Report {
    fn push(&mut self, kind: MessageType, message: String) {
        match kind {
            MessageType::Error => tracing::error!("{message}"),
            MessageType::Warning => tracing::warn!("{message}"),
            _ => tracing::info!("{message}"),
        }
        self.messages.push((kind, message));
    }
}

/// What the user is told about a document above `documents.maxContextBytes`.
pub(super) fn too_large_message(uri: &str, bytes: usize, limit: usize) -> String {
    let mib = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
    format!(
        "Hearth: {uri} is {:.1} MiB, more than `documents.maxContextBytes` ({:.1} MiB): \
         no suggestions or code actions for it until it is smaller",
        mib(bytes),
        mib(limit)
    )
}

pub(super) fn did_open(backend: &Backend, params: DidOpenTextDocumentParams) -> Report {
    let mut report = Report::default();
    let item = params.text_document;
    let limits = backend.config().documents;
    let uri = item.uri.to_string();
    let too_large = limits.too_large(item.text.len());
    // A document too large for context is never parsed: no budget at all.
    let parse_budget = if too_large { Duration::ZERO } else { limits.parse_budget() };
    let language_id = String::from(item.language_id);
    let doc = Document::new(&language_id, item.version, &item.text, SyntaxConfig { parse_budget });
    let needs_background = doc.needs_reparse() && !too_large;
    if too_large {
        let message = too_large_message(&uri, item.text.len(), limits.max_context_bytes);
        report.push(MessageType::Warning, message);
    }
    if backend.shared.documents.lock().open(uri.clone(), doc).is_some() {
        report.push(
            MessageType::Warning,
            format!("Hearth: {uri} was opened again without being closed; using the new text"),
        );
    }
    if too_large {
        return report;
    }
    if needs_background {
        spawn_background_parse(backend, uri);
    } else {
        mark_for_index(&backend.shared, &uri);
    }
    report
}

pub(super) fn did_change(backend: &Backend, params: DidChangeTextDocumentParams) -> Report {
    let mut report = Report::default();
    let uri = params.text_document.text_document_identifier.uri.to_string();
    let version = params.text_document.version;
    let encoding = backend.encoding();
    let limits = backend.config().documents;
    let budget = limits.parse_budget();

    let mut documents = backend.shared.documents.lock();
    let Some(doc) = documents.get_mut(&uri) else {
        report.push(
            MessageType::Error,
            format!(
                "Hearth: ignored an edit to {uri}, which is not open (didOpen must come first)"
            ),
        );
        return report;
    };
    if version <= doc.version() {
        report.push(
            MessageType::Warning,
            format!(
                "Hearth: edit to {uri} has version {version}, not above the current {}; applying it anyway",
                doc.version()
            ),
        );
    }
    let was_too_large = limits.too_large(doc.text().len_bytes());
    let mut adjusted = 0usize;
    for change in params.content_changes {
        match change {
            TextDocumentContentChangeEvent::TextDocumentContentChangeWholeDocument(whole) => {
                doc.replace_all(&whole.text);
            }
            TextDocumentContentChangeEvent::TextDocumentContentChangePartial(partial) => {
                let text = doc.text();
                // Clamping cannot fail; edits are never dropped for a bad position.
                let resolve = |pos| convert::offset_of(text, pos, encoding, LinePastEnd::Clamp);
                let (Ok(start), Ok(end)) =
                    (resolve(partial.range.start), resolve(partial.range.end))
                else {
                    continue;
                };
                adjusted += usize::from(start.adjusted) + usize::from(end.adjusted);
                let (start, end) = (start.offset.min(end.offset), start.offset.max(end.offset));
                if let Err(err) = doc.edit(start..end, &partial.text) {
                    report
                        .push(MessageType::Error, format!("Hearth: edit to {uri} skipped: {err}"));
                }
            }
        }
    }
    doc.set_version(version);
    if adjusted > 0 {
        report.push(
            MessageType::Warning,
            format!("Hearth: {adjusted} position(s) in an edit to {uri} were outside the document and were clamped"),
        );
    }
    let len = doc.text().len_bytes();
    if limits.too_large(len) {
        // Kept in sync, never parsed: a reparse of this much text would
        // hold every other edit up, and its tree would not be used.
        drop(documents);
        if !was_too_large {
            report
                .push(MessageType::Warning, too_large_message(&uri, len, limits.max_context_bytes));
        }
        return report;
    }
    let out_of_budget = doc.reparse(budget) == ParseOutcome::OutOfBudget;
    drop(documents);
    if out_of_budget {
        spawn_background_parse(backend, uri);
    } else {
        mark_for_index(&backend.shared, &uri);
    }
    report
}

pub(super) fn did_close(backend: &Backend, params: DidCloseTextDocumentParams) -> Report {
    let mut report = Report::default();
    let uri = params.text_document.uri.to_string();
    let closed = backend.shared.documents.lock().close(&uri);
    let Some(doc) = closed else {
        report.push(MessageType::Warning, format!("Hearth: {uri} was closed but was not open"));
        return report;
    };
    let (repo, path) = index_path(&backend.shared, &uri);
    match (repo.is_empty(), doc.lang(), local_path(&uri)) {
        // A file outside the workspace is forgotten.
        (true, _, _) => backend.shared.related.lock().remove_file(&path),
        // A workspace file stays, as the disk has it: unsaved edits were
        // dropped with the document (and it may have been deleted).
        (false, Some(lang), Some(file)) => reload_from_disk(&backend.shared, path, lang, file),
        (false, _, _) => {}
    }
    report
}

/// Replaces a closed file's definitions with those on disk, on a blocking
/// thread, unless it is opened again meanwhile.
fn reload_from_disk(shared: &Arc<Shared>, path: String, lang: Lang, file: PathBuf) {
    let token = shared.related.lock().close_file(&path);
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || {
        let definitions =
            workspace::read_definitions(&file, lang, WORKSPACE_SCAN_LIMITS.max_file_bytes);
        shared.related.lock().reload(&path, token, definitions);
    });
}

/// The name a document's definitions are indexed under: its path in the
/// workspace, as the model sees it, with the workspace's name (empty for a
/// file outside every workspace folder).
fn index_path(shared: &Shared, uri: &str) -> (String, String) {
    convert::workspace_path(uri, &shared.session.lock().workspace_roots)
}

/// Tells the definition index that a document changed, if its tree is
/// current. O(1): the index keeps the rope and tree (shared, not copied)
/// and extracts definitions only when another file's completion needs them.
fn mark_for_index(shared: &Shared, uri: &str) {
    let snapshot = shared.documents.lock().get(uri).map(Document::snapshot);
    let Some(DocumentSnapshot { text, lang: Some(lang), tree: Some(tree), .. }) = snapshot else {
        return;
    };
    let (_, path) = index_path(shared, uri);
    shared.related.lock().mark_changed(&path, lang, text, tree);
}

/// Finishes parsing a document that did not fit the synchronous budget, on a
/// blocking thread, and installs the tree if the document is still open.
fn spawn_background_parse(backend: &Backend, uri: String) {
    let shared = backend.shared.clone();
    let Some(parse) =
        shared.documents.lock().get_mut(&uri).and_then(|doc| doc.start_background_parse())
    else {
        return;
    };
    tracing::debug!("parsing {uri} in the background");
    let budget = backend.config().documents.parse_budget();
    tokio::task::spawn_blocking(move || {
        let tree = parse.run();
        let mut documents = shared.documents.lock();
        if let Some(doc) = documents.get_mut(&uri) {
            doc.finish_background_parse(&parse, tree, budget);
        }
        drop(documents);
        mark_for_index(&shared, &uri);
    });
}

pub(super) fn debug_document(
    backend: &Backend,
    params: &DebugDocumentParams,
) -> jsonrpc::Result<DebugDocumentResult> {
    let uri = params.text_document.uri.to_string();
    let encoding = backend.encoding();
    let mut documents = backend.shared.documents.lock();
    let doc = documents
        .get_mut(&uri)
        .ok_or_else(|| jsonrpc::Error::invalid_params(format!("{uri} is not open")))?;
    let offset = params
        .position
        .map(|pos| convert::offset_of(doc.text(), pos, encoding, LinePastEnd::Reject))
        .transpose()
        .map_err(|err| jsonrpc::Error::invalid_params(err.to_string()))?
        .map(|it| it.offset);
    // A debug request may wait for a complete parse, except of a document
    // that is never parsed.
    let too_large = backend.config().documents.too_large(doc.text().len_bytes());
    if !too_large {
        doc.reparse(Duration::from_secs(30));
    }
    let text = doc.text().to_string();
    Ok(DebugDocumentResult {
        uri,
        language_id: doc.language_id().to_owned(),
        version: doc.version(),
        tree: doc.tree().map(|it| it.root_node().to_sexp()),
        fresh_tree: doc
            .lang()
            .filter(|_| !too_large)
            .and_then(|lang| parse_fresh(lang, &text))
            .map(|it| it.root_node().to_sexp()),
        text,
        offset,
    })
}
