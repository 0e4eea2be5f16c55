//! The inference engine: one thread that owns llama.cpp.
//!
//! Architecture invariant: this module is the only code that knows llama.cpp
//! (`llama_cpp_2` is imported in `engine/llama.rs` alone), and exactly one
//! thread, the owner, ever calls into it. The rest of the server talks to the
//! owner through [`Engine`], a handle that sends commands over a channel, and
//! hears back through [`EngineEvent`]s. Nothing in the async runtime blocks on
//! the model.

mod gguf;
mod llama;

use std::{
    path::PathBuf,
    sync::mpsc,
    thread::{self, JoinHandle},
    time::Duration,
};

pub use gguf::{GgufHeader, ModelFileError, check_model_file, parse_header};

/// What the owner thread needs to load and run a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    pub model_path: PathBuf,
    pub context_size: u32,
    pub threads: u32,
    pub batch_size: u32,
    pub gpu_layers: u32,
}

/// Facts about a loaded model.
#[derive(Clone, Debug)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub description: String,
    pub architecture: String,
    pub file_size: u64,
    pub context_size: u32,
    pub training_context: u32,
    pub load_time: Duration,
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    File(#[from] ModelFileError),
    #[error(
        "llama.cpp could not load {path} (the file may be damaged or of an unsupported kind; the log has llama.cpp's reason)"
    )]
    Model { path: PathBuf },
    #[error(
        "not enough memory for a {context_size}-token context with {path}; try a smaller `model.contextSize`"
    )]
    Context { path: PathBuf, context_size: u32 },
    #[error("the llama.cpp backend could not start: {0}")]
    Backend(String),
}

/// What the owner thread reports while it works.
#[derive(Debug)]
pub enum EngineEvent {
    /// Loading has made progress (0.0 to 1.0).
    Loading {
        progress: f32,
    },
    Ready(ModelInfo),
    Failed(LoadError),
}

/// A handle to the owner thread. Dropping it stops the thread once its current
/// command is done; the model's memory is freed by then.
pub struct Engine {
    commands: mpsc::Sender<Command>,
    owner: Option<JoinHandle<()>>,
}

enum Command {
    Shutdown,
}

impl Engine {
    /// Starts the owner thread, which loads the model and reports through `on_event`.
    ///
    /// Returns at once: loading happens on the owner thread.
    pub fn start(
        config: EngineConfig,
        on_event: impl FnMut(EngineEvent) + Send + 'static,
    ) -> std::io::Result<Engine> {
        let (commands, inbox) = mpsc::channel();
        let owner = thread::Builder::new()
            .name("hearth-engine".to_owned())
            .spawn(move || llama::run_owner(&config, &inbox, on_event))?;
        Ok(Engine { commands, owner: Some(owner) })
    }

    /// Stops the owner thread and waits for it, so its memory is free on return.
    /// Blocking: call it off the async runtime.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(owner) = self.owner.take()
            && owner.join().is_err()
        {
            tracing::error!("the engine thread panicked while stopping");
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Detach rather than block whoever drops the handle; the thread ends
        // after its current command.
        let _ = self.commands.send(Command::Shutdown);
    }
}
