//! The `hearth` command: with no arguments, a language server on stdio.

use std::{process::ExitCode, time::Duration};

use clap::Parser;

/// Inline code completion and code actions from a local model, as a language
/// server. Editors start `hearth` with no arguments and speak LSP on stdin and
/// stdout.
#[derive(Parser, Debug)]
#[command(name = "hearth", version, about, long_about = None)]
struct Cli {
    /// Serve on stdio (the default; accepted for editors that pass it).
    #[arg(long)]
    stdio: bool,
}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    hearth::logging::init();
    let options = hearth::lsp::ServeOptions {
        debug_api: std::env::var_os(hearth::lsp::DEBUG_API_ENV).is_some_and(|it| it == "1"),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("hearth-lsp")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let clean = runtime.block_on(hearth::lsp::serve_stdio(options));
    // Background parses or a loading model must not hold the exit back.
    runtime.shutdown_timeout(Duration::from_millis(200));
    tracing::info!("exiting ({})", if clean { "after shutdown" } else { "without shutdown" });
    // LSP: exit code 0 after `shutdown`, 1 otherwise.
    if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
