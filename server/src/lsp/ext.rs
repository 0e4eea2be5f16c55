//! Hearth's own protocol extensions.
//!
//! `hearth/modelStatus` is a server-to-client notification that editors use for
//! a status display. `hearth/status` is a request for the same state and the
//! completion counters, for health checks and status displays that start late.
//! `hearth/completionStats` is a request for the completion counters alone
//! (answers by source, the last latency), for the typing-replay benchmark. The `hearth/debug*` requests exist only when the server
//! runs with `HEARTH_DEBUG_API=1`: they let tests see the server's view of a
//! document and are never advertised in the capabilities.

use serde::{Deserialize, Serialize};
use tower_lsp_server::gen_lsp_types::{
    LspNotificationMethod, MessageDirection, Notification, Position, TextDocumentIdentifier,
};

/// The environment variable that turns the debug requests on.
pub const DEBUG_API_ENV: &str = "HEARTH_DEBUG_API";

/// The state of the model, sent whenever it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelStatusParams {
    pub state: ModelState,
    pub path: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ModelState {
    Loading,
    Ready,
    Error,
    Disabled,
}

pub enum ModelStatus {}

impl Notification for ModelStatus {
    type Params = ModelStatusParams;
    const METHOD: LspNotificationMethod<'static> =
        LspNotificationMethod::Custom("hearth/modelStatus");
    const MESSAGE_DIRECTION: MessageDirection = MessageDirection::ServerToClient;
}

pub const COMPLETION_STATS: &str = "hearth/completionStats";
pub const STATUS: &str = "hearth/status";

/// The answer to `hearth/status`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusResult {
    /// The server's version.
    pub version: &'static str,
    /// The model's state, as last sent in `hearth/modelStatus`.
    pub model: ModelStatusParams,
    /// The completion counters since the model loaded; `null` while no
    /// model is ready.
    pub completion: Option<crate::completion::CompletionStats>,
}

pub const DEBUG_DOCUMENT: &str = "hearth/debugDocument";
pub const DEBUG_PANIC: &str = "hearth/debugPanic";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DebugDocumentParams {
    pub text_document: TextDocumentIdentifier,
    pub position: Option<Position>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DebugDocumentResult {
    pub uri: String,
    pub language_id: String,
    pub version: i32,
    pub text: String,
    /// The incrementally maintained tree, as an S-expression.
    pub tree: Option<String>,
    /// A fresh parse of `text`, to compare with `tree`.
    pub fresh_tree: Option<String>,
    /// The byte offset of `position`, if one was given.
    pub offset: Option<usize>,
}
