//! Hearth: a language server that completes code with a local model.
//!
//! See `ARCHITECTURE.md` at the repository root for the bird's-eye view. In
//! reading order: `lsp` is the protocol edge, `completion` runs one request
//! through `context` (pure prompt building) and `engine` (the only code that
//! knows llama.cpp), `documents` holds open files, `config` the settings.

pub mod actions;
pub mod cli;
pub mod completion;
pub mod config;
pub mod context;
pub mod documents;
pub mod engine;
pub mod logging;
pub mod lsp;
pub mod workspace;

/// What the fuzz targets in `fuzz/` drive that is not public otherwise: the
/// input side of the stdio transport. Not an API; it may change at any time.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::lsp::transport::{Frame, read_frame};
}
