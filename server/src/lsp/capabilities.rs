//! What Hearth tells the client it can do, given what the client can do.

use tower_lsp_server::gen_lsp_types::{
    ClientCapabilities, ServerCapabilities, TextDocumentSync, TextDocumentSyncKind,
    TextDocumentSyncOptions,
};

use super::convert::PositionEncoding;

/// The facts about the client that later handlers need.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientFacts {
    pub encoding: PositionEncoding,
    /// The client accepts `window/workDoneProgress/create`.
    pub work_done_progress: bool,
    /// The client answers `workspace/configuration`.
    pub configuration: bool,
}

impl ClientFacts {
    pub fn from_capabilities(caps: &ClientCapabilities) -> ClientFacts {
        let offered = caps.general.as_ref().and_then(|it| it.position_encodings.as_deref());
        ClientFacts {
            encoding: PositionEncoding::negotiate(offered),
            work_done_progress: caps
                .window
                .as_ref()
                .and_then(|it| it.work_done_progress)
                .unwrap_or(false),
            configuration: caps.workspace.as_ref().and_then(|it| it.configuration).unwrap_or(false),
        }
    }
}

pub fn server_capabilities(client: &ClientFacts) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(client.encoding.to_lsp()),
        text_document_sync: Some(TextDocumentSync::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::Incremental),
            ..TextDocumentSyncOptions::default()
        })),
        ..ServerCapabilities::default()
    }
}
