//! The owner thread's body: the only code that calls llama.cpp.

use std::{
    sync::{OnceLock, mpsc},
    time::Instant,
};

use llama_cpp_2::{
    context::params::LlamaContextParams,
    llama_backend::LlamaBackend,
    model::{LlamaModel, params::LlamaModelParams},
};

use super::{Command, EngineConfig, EngineEvent, LoadError, ModelInfo, check_model_file};

/// llama.cpp's backend may be initialised once per process; reloading a model
/// after a settings change reuses it.
static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();

fn backend() -> Result<&'static LlamaBackend, LoadError> {
    BACKEND
        .get_or_init(|| {
            // Route llama.cpp's and ggml's own logging into `tracing` (stderr),
            // before anything can print to stdout, which carries the protocol.
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|err| err.to_string())
        })
        .as_ref()
        .map_err(|err| LoadError::Backend(err.clone()))
}

pub(super) fn run_owner(
    config: &EngineConfig,
    inbox: &mpsc::Receiver<Command>,
    mut on_event: impl FnMut(EngineEvent),
) {
    let started = Instant::now();
    let loaded = load(config, &mut on_event);
    let (model, mut info) = match loaded {
        Ok(it) => it,
        Err(err) => {
            on_event(EngineEvent::Failed(err));
            return;
        }
    };
    let context_params = LlamaContextParams::default()
        .with_n_ctx(std::num::NonZeroU32::new(config.context_size))
        .with_n_batch(config.batch_size)
        .with_n_ubatch(config.batch_size)
        .with_n_threads(i32::try_from(config.threads).unwrap_or(1))
        .with_n_threads_batch(i32::try_from(config.threads).unwrap_or(1));
    let Ok(backend) = backend() else { return };
    let context = match model.new_context(backend, context_params) {
        Ok(context) => context,
        Err(err) => {
            tracing::error!("creating the llama.cpp context failed: {err}");
            on_event(EngineEvent::Failed(LoadError::Context {
                path: config.model_path.clone(),
                context_size: config.context_size,
            }));
            return;
        }
    };
    info.context_size = context.n_ctx();
    info.load_time = started.elapsed();
    tracing::info!(
        "model ready: {} ({} bytes, context {} tokens) in {:?}",
        info.description,
        info.file_size,
        info.context_size,
        info.load_time
    );
    on_event(EngineEvent::Ready(info));

    while let Ok(command) = inbox.recv() {
        match command {
            Command::Shutdown => break,
        }
    }
    drop(context);
    drop(model);
}

fn load(
    config: &EngineConfig,
    on_event: &mut impl FnMut(EngineEvent),
) -> Result<(LlamaModel, ModelInfo), LoadError> {
    let path = &config.model_path;
    check_model_file(path)?;
    let backend = backend()?;
    let (progress_tx, progress_rx) = mpsc::channel();
    let params = LlamaModelParams::default()
        .with_n_gpu_layers(config.gpu_layers)
        .with_progress_callback(move |progress| {
            let _ = progress_tx.send(progress);
            true
        });
    // The progress callback runs on this thread inside llama.cpp; events are
    // forwarded after the call so `on_event` never runs under llama.cpp.
    let model = LlamaModel::load_from_file(backend, path, &params)
        .map_err(|_| LoadError::Model { path: path.clone() });
    drop(params);
    let mut last_reported = -1.0f32;
    for progress in progress_rx.try_iter() {
        if progress - last_reported >= 0.25 || progress >= 1.0 {
            on_event(EngineEvent::Loading { progress });
            last_reported = progress;
        }
    }
    let model = model?;
    let meta = |key: &str| model.meta_val_str(key).unwrap_or_default();
    let file_size = std::fs::metadata(path).map(|it| it.len()).unwrap_or_default();
    let info = ModelInfo {
        path: path.clone(),
        description: meta("general.name"),
        architecture: meta("general.architecture"),
        file_size,
        context_size: 0,
        training_context: model.n_ctx_train(),
        load_time: std::time::Duration::ZERO,
    };
    Ok((model, info))
}
