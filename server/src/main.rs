//! The `hearth` command: with no arguments, a language server on stdio.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};

/// Inline code completion and code actions from a local model, as a language
/// server. Editors start `hearth` with no arguments and speak LSP on stdin and
/// stdout.
#[derive(Parser, Debug)]
#[command(name = "hearth", version, about, long_about = None)]
struct Cli {
    /// Serve on stdio (the default; accepted for editors that pass it).
    #[arg(long)]
    stdio: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Complete the code at FILE:LINE:COLUMN (1-based) and print the suggestion.
    Complete {
        /// Where the cursor is, as FILE:LINE:COLUMN.
        location: hearth::cli::FileLocation,
        /// A GGUF model file (default: as the server finds it).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Print the suggestion and timings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print every setting as JSON: names, types, defaults and descriptions,
    /// in the shape of VS Code's `contributes.configuration.properties`.
    SettingsSchema,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    configure_openmp();
    hearth::logging::init();
    match cli.command {
        Some(Command::Complete { location, model, json }) => {
            let options = hearth::cli::CompleteOptions { location, model, json };
            match hearth::cli::complete(&options) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!("{err:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::SettingsSchema) => match hearth::cli::print_settings() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                tracing::error!("{err:#}");
                ExitCode::FAILURE
            }
        },
        None => serve(),
    }
}

/// llama.cpp's OpenMP threads spin between parallel regions by default. Two
/// spinning programs on a 2-core laptop slow each other down a hundredfold,
/// and an editor always has neighbours, so idle threads sleep instead unless
/// the user chose otherwise.
fn configure_openmp() {
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        // SAFETY: called first thing in `main`, before any other thread exists.
        unsafe { std::env::set_var("OMP_WAIT_POLICY", "passive") };
    }
}

fn serve() -> ExitCode {
    let options = hearth::lsp::ServeOptions {
        debug_api: std::env::var_os(hearth::lsp::DEBUG_API_ENV).is_some_and(|it| it == "1"),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Parses of large documents and file reads run as blocking tasks; a
        // burst of opened files queues for these few threads instead of
        // starting hundreds (tokio's default allows 512) that would all
        // compete with the editor for the CPU.
        .max_blocking_threads(4)
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
    exit_now(if clean { 0 } else { 1 })
}

/// Ends the process without running C++ static destructors.
///
/// Without `shutdown` the model's threads may still be at work when `main`
/// returns (the editor went away while a prompt was read), and llama.cpp's
/// and OpenMP's destructors would then tear their state down under them:
/// a crash on the way out, in the editor's log and as a core dump. The
/// transport has flushed its output and the logs are written unbuffered, so
/// nothing is left to do but end.
fn exit_now(code: i32) -> ExitCode {
    #[cfg(target_os = "linux")]
    // SAFETY: `_exit` ends the process at once; it has no preconditions.
    unsafe {
        libc::_exit(code)
    }
    #[cfg(not(target_os = "linux"))]
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
