//! What Hearth tells the client it can do, given what the client can do.

use tower_lsp_server::gen_lsp_types::{
    ClientCapabilities, ClientInfo, CompletionOptions, InlineCompletionProvider,
    ServerCapabilities, TextDocumentSync, TextDocumentSyncKind, TextDocumentSyncOptions,
};

use super::convert::PositionEncoding;
use crate::config::CompletionItems;

/// The facts about the client that later handlers need.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientFacts {
    pub encoding: PositionEncoding,
    /// The client accepts `window/workDoneProgress/create`.
    pub work_done_progress: bool,
    /// The client answers `workspace/configuration`.
    pub configuration: bool,
    /// The client shows `textDocument/inlineCompletion` results as ghost text.
    pub inline_completion: bool,
    /// The client fills in code actions' edits with `codeAction/resolve`.
    pub resolve_code_actions: bool,
}

impl ClientFacts {
    pub fn new(caps: &ClientCapabilities, info: Option<&ClientInfo>) -> ClientFacts {
        let mut facts = ClientFacts::from_capabilities(caps);
        // Helix declares `codeAction/resolve` but resolves on its main thread
        // (`block_on`): the editor freezes while the model writes, and it
        // cannot answer the server's own requests meanwhile. The command form
        // runs in the background there, with progress and `workspace/applyEdit`.
        if info.is_some_and(|it| it.name.eq_ignore_ascii_case("helix")) {
            facts.resolve_code_actions = false;
        }
        facts
    }

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
            inline_completion: caps
                .text_document
                .as_ref()
                .is_some_and(|it| it.inline_completion.is_some()),
            resolve_code_actions: serde_json::to_value(caps)
                .is_ok_and(|caps| super::actions::client_resolves_edits(&caps)),
        }
    }
}

pub fn server_capabilities(client: &ClientFacts, menu: CompletionItems) -> ServerCapabilities {
    let items = match menu {
        // Clients with ghost text get only inline completions, so the same
        // suggestion is not also offered in their completion menu.
        CompletionItems::Auto => !client.inline_completion,
        CompletionItems::Always => true,
        CompletionItems::Never => false,
    };
    ServerCapabilities {
        position_encoding: Some(client.encoding.to_lsp()),
        text_document_sync: Some(TextDocumentSync::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::Incremental),
            ..TextDocumentSyncOptions::default()
        })),
        inline_completion_provider: client
            .inline_completion
            .then_some(InlineCompletionProvider::Bool(true)),
        completion_provider: items.then(CompletionOptions::default),
        // Listing is instant; edits come from `codeAction/resolve`, or from
        // the `hearth.applyAction` command for clients that cannot resolve.
        code_action_provider: serde_json::from_value(serde_json::json!({
            "codeActionKinds": ["quickfix", "refactor"],
            "resolveProvider": true,
        }))
        .ok(),
        execute_command_provider: serde_json::from_value(serde_json::json!({
            "commands": [super::actions::APPLY_ACTION, super::actions::REWRITE],
        }))
        .ok(),
        ..ServerCapabilities::default()
    }
}
