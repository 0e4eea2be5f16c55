//! Logging: `tracing` to stderr, never stdout, which carries the protocol.
//!
//! The filter comes from `HEARTH_LOG` (for example `HEARTH_LOG=hearth=debug`),
//! default `info`. llama.cpp's own logging is routed into `tracing` by the
//! engine when it starts (see `engine/llama.rs`); its verbose load chatter is
//! kept at `warn` unless asked for.
//! A panic hook logs the message and a backtrace before the handler that
//! panicked is answered with an error.

use tracing_subscriber::EnvFilter;

pub const LOG_ENV: &str = "HEARTH_LOG";

pub fn init() {
    let filter = EnvFilter::try_from_env(LOG_ENV)
        .unwrap_or_else(|_| EnvFilter::new("info,llama_cpp_2=warn,llama-cpp-2=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(true)
        .try_init();
    std::panic::set_hook(Box::new(|info| {
        let backtrace = std::backtrace::Backtrace::force_capture();
        tracing::error!("panic: {info}\n{backtrace}");
    }));
}
