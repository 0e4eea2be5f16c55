//! Hearth: a language server that completes code with a local model.
//!
//! See `ARCHITECTURE.md` at the repository root for the bird's-eye view. In
//! reading order: `lsp` is the protocol edge, `documents` holds open files,
//! `engine` owns llama.cpp, and `config` holds the typed settings.

pub mod config;
pub mod documents;
pub mod engine;
pub mod logging;
pub mod lsp;
