//! Support code for Hearth's integration tests.
//!
//! Every test in `tests/tests/` drives the real `hearth` binary over stdio,
//! exactly as an editor would. This crate provides the pieces they share:
//!
//! - [`client`]: a small synchronous LSP client (framing, request/response
//!   routing, notification queue, answers to server-to-client requests);
//! - [`binary`]: where to find the `hearth` binary under test;
//! - [`text`]: position encodings, position/offset conversion with the
//!   server's clamping rules, and a reference document model;
//! - [`edits`]: a seeded random-edit generator and the driver that checks the
//!   server's view of documents against the reference model;
//! - [`rng`]: a tiny seeded PRNG, so failures reproduce from a printed seed;
//! - [`model`]: where the default model lives, and starting the server with
//!   it, for the model-backed tests;
//! - [`fixtures`]: the sources the code action tests and bench resolve
//!   actions on;
//! - [`process`]: what `/proc` says about the server process (memory,
//!   threads, CPU time), for the load and fault tests;
//! - [`stats`]: percentiles, for the tests' and benchmarks' reports.

pub mod binary;
pub mod client;
pub mod edits;
pub mod fixtures;
pub mod model;
pub mod process;
pub mod rng;
pub mod stats;
pub mod text;

pub use client::{RpcError, Server, ServerOptions, codes};
pub use text::{Encoding, Position};
