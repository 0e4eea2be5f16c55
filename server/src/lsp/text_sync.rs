//! Document synchronisation: `didOpen`, `didChange`, `didClose`.
//!
//! Each handler runs synchronously to completion under the documents lock and
//! returns the log messages to send afterwards, so no `.await` ever comes
//! between receiving an edit and applying it.

use std::time::Duration;

use tower_lsp_server::{
    gen_lsp_types::{
        DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
        MessageType, TextDocumentContentChangeEvent,
    },
    jsonrpc,
};

use super::{
    Backend,
    convert::{self, LinePastEnd},
    ext::{DebugDocumentParams, DebugDocumentResult},
};
use crate::documents::{Document, ParseOutcome, SyntaxConfig, parse_fresh};

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

pub(super) fn did_open(backend: &Backend, params: DidOpenTextDocumentParams) -> Report {
    let mut report = Report::default();
    let item = params.text_document;
    let syntax = SyntaxConfig { parse_budget: backend.config().documents.parse_budget() };
    let language_id = String::from(item.language_id);
    let doc = Document::new(&language_id, item.version, &item.text, syntax);
    let needs_background = doc.needs_reparse();
    let uri = item.uri.to_string();
    if backend.shared.documents.lock().open(uri.clone(), doc).is_some() {
        report.push(
            MessageType::Warning,
            format!("Hearth: {uri} was opened again without being closed; using the new text"),
        );
    }
    if needs_background {
        spawn_background_parse(backend, uri);
    }
    report
}

pub(super) fn did_change(backend: &Backend, params: DidChangeTextDocumentParams) -> Report {
    let mut report = Report::default();
    let uri = params.text_document.text_document_identifier.uri.to_string();
    let version = params.text_document.version;
    let encoding = backend.encoding();
    let budget = backend.config().documents.parse_budget();

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
    let out_of_budget = doc.reparse(budget) == ParseOutcome::OutOfBudget;
    drop(documents);
    if out_of_budget {
        spawn_background_parse(backend, uri);
    }
    report
}

pub(super) fn did_close(backend: &Backend, params: DidCloseTextDocumentParams) -> Report {
    let mut report = Report::default();
    let uri = params.text_document.uri.to_string();
    if backend.shared.documents.lock().close(&uri).is_none() {
        report.push(MessageType::Warning, format!("Hearth: {uri} was closed but was not open"));
    }
    report
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
    // A debug request may wait for a complete parse.
    doc.reparse(Duration::from_secs(30));
    let text = doc.text().to_string();
    Ok(DebugDocumentResult {
        uri,
        language_id: doc.language_id().to_owned(),
        version: doc.version(),
        tree: doc.tree().map(|it| it.root_node().to_sexp()),
        fresh_tree: doc
            .lang()
            .and_then(|lang| parse_fresh(lang, &text))
            .map(|it| it.root_node().to_sexp()),
        text,
        offset,
    })
}
