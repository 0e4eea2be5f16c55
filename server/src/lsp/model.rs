//! Loading the model in the background and telling the user how it went.
//!
//! After `initialized` (and after each settings change) the settings are
//! fetched, and when the model settings differ from those in force the engine
//! is restarted. Progress goes out as `window/workDoneProgress` when the client
//! supports it and as `hearth/modelStatus` always; a failure reaches the user
//! once, as a `window/showMessage` naming the path and the fix.

use std::sync::Arc;

use tower_lsp_server::{
    Client,
    gen_lsp_types::{ConfigurationItem, MessageType, ProgressToken},
};

use super::{
    CompleterState, Shared,
    ext::{ModelState, ModelStatus, ModelStatusParams},
};
use crate::{
    completion::Completer,
    config::{Config, FETCH_MODEL_COMMAND, ModelSource},
    context::fim::FimFamily,
    engine::{Engine, EngineEvent, LoadError},
};

/// Fetches the `hearth` settings section (when the client offers it) and
/// (re)starts the engine if the model settings changed.
pub(super) async fn refresh_config_and_model(client: &Client, shared: &Shared) {
    let facts = shared.session.lock().client;
    if facts.configuration {
        let item = ConfigurationItem { scope_uri: None, section: Some("hearth".to_owned()) };
        match client.configuration(vec![item]).await {
            Ok(values) => {
                let value = values.into_iter().next().unwrap_or_default();
                if !value.is_null() {
                    apply_settings(client, shared, value).await;
                }
            }
            Err(err) => tracing::warn!("workspace/configuration failed: {err}"),
        }
    }
    restart_engine_if_needed(client, shared).await;
}

async fn apply_settings(client: &Client, shared: &Shared, value: serde_json::Value) {
    match Config::from_json(value) {
        Ok((config, warnings)) => {
            shared.session.lock().config = config;
            for warning in warnings {
                client.show_message(MessageType::Warning, format!("Hearth: {warning}")).await;
            }
        }
        Err(err) => {
            client
                .show_message(
                    MessageType::Error,
                    format!("Hearth: {err}; keeping the previous settings"),
                )
                .await;
        }
    }
}

async fn restart_engine_if_needed(client: &Client, shared: &Shared) {
    let (config, facts) = {
        let session = shared.session.lock();
        (session.config.clone(), session.client)
    };
    let model = &config.model;
    if !model.enabled {
        stop_engine(shared, CompleterState::Unavailable).await;
        send_status(
            client,
            shared,
            ModelState::Disabled,
            None,
            Some("model loading is disabled by `model.enabled`"),
        )
        .await;
        return;
    }
    let (path, source) = model.resolve_path();
    let engine_config = model.engine_config();
    if shared.loaded_config.lock().as_ref() == Some(&engine_config) {
        return;
    }
    // Requests keep waiting through the restart: they never see the old
    // engine gone before the new one is loading.
    stop_engine(shared, CompleterState::Loading).await;
    *shared.loaded_config.lock() = Some(engine_config.clone());

    let path_text = path.display().to_string();
    send_status(client, shared, ModelState::Loading, Some(&path_text), None).await;
    let progress = if facts.work_done_progress {
        let token = ProgressToken::String("hearth/loadModel".to_owned());
        match client.create_work_done_progress(token.clone()).await {
            Ok(()) => Some(
                client
                    .progress(token, "Hearth")
                    .with_message(format!("loading {path_text}"))
                    .with_percentage(0)
                    .begin()
                    .await,
            ),
            Err(err) => {
                tracing::warn!("the client refused a progress token: {err}");
                None
            }
        }
    } else {
        None
    };

    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let engine = match Engine::start(engine_config, move |event| {
        let _ = events_tx.send(event);
    }) {
        Ok(engine) => engine,
        Err(err) => {
            tracing::error!("cannot start the engine thread: {err}");
            shared.completer.send_replace(CompleterState::Unavailable);
            let message = format!("cannot start the engine thread: {err}");
            send_status(client, shared, ModelState::Error, Some(&path_text), Some(&message)).await;
            return;
        }
    };
    *shared.engine.lock() = Some(engine);

    let mut progress = progress;
    while let Some(event) = events.recv().await {
        match event {
            EngineEvent::Loading { progress: fraction } => {
                if let Some(progress) = &progress {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let percent = (fraction * 100.0).clamp(0.0, 100.0) as u32;
                    progress.report(percent).await;
                }
            }
            EngineEvent::Ready(info) => {
                let fim = config.fim.or_else(|| FimFamily::detect(&info.control_tokens));
                let Some(fim) = fim else {
                    let message = format!(
                        "Hearth: {} has no fill-in-the-middle tokens that Hearth knows; set `fim` to one of qwen, starCoder2, deepSeek, codeLlama, codestral",
                        info.description
                    );
                    shared.completer.send_replace(CompleterState::Unavailable);
                    send_status(
                        client,
                        shared,
                        ModelState::Error,
                        Some(&path_text),
                        Some(&message),
                    )
                    .await;
                    client.show_message(MessageType::Error, message).await;
                    continue;
                };
                let handle = shared.engine.lock().as_ref().map(Engine::handle);
                if let Some(handle) = handle {
                    let completer =
                        Completer::new(Arc::new(handle), fim, config.completion_config());
                    shared.completer.send_replace(CompleterState::Ready(Arc::new(completer)));
                }
                if let Some(progress) = progress.take() {
                    progress
                        .finish_with_message(format!("model ready: {}", info.description))
                        .await;
                }
                if info.training_context > 0 && config.model.context_size > info.training_context {
                    let warning = format!(
                        "Hearth: `model.contextSize` {} is more than {} was trained for; using {} tokens",
                        config.model.context_size, info.description, info.training_context
                    );
                    client.show_message(MessageType::Warning, warning).await;
                }
                let message = format!(
                    "{} loaded in {:.1} s ({}-token context)",
                    info.description,
                    info.load_time.as_secs_f64(),
                    info.context_size
                );
                send_status(client, shared, ModelState::Ready, Some(&path_text), Some(&message))
                    .await;
            }
            EngineEvent::Failed(err) => {
                if let Some(progress) = progress.take() {
                    progress.finish_with_message("model failed to load").await;
                }
                // The failed engine has nothing to keep; a later settings
                // change retries.
                shared.engine.lock().take();
                shared.completer.send_replace(CompleterState::Unavailable);
                let hint = match source {
                    ModelSource::Setting => "Fix the `model.path` setting",
                    ModelSource::Environment => "Fix the HEARTH_MODEL environment variable",
                    ModelSource::DefaultCache => "Install the default model",
                };
                let message = match err {
                    // The file is fine: the setting that sized the context is
                    // what to change, and the error says to what.
                    LoadError::OutOfMemory { .. } | LoadError::Context { .. } => format!(
                        "Hearth could not start its model: {err}. Completions are off until then."
                    ),
                    _ => format!(
                        "Hearth could not load its model: {err}. {hint}, or run `{FETCH_MODEL_COMMAND}` \
                         from the Hearth repository to install the default model. Completions are off until then."
                    ),
                };
                tracing::error!("{message}");
                send_status(
                    client,
                    shared,
                    ModelState::Error,
                    Some(&path_text),
                    Some(&err.to_string()),
                )
                .await;
                client.show_message(MessageType::Error, message).await;
            }
        }
    }
}

/// Stops the engine; completion requests see `next` from now on.
async fn stop_engine(shared: &Shared, next: CompleterState) {
    shared.loaded_config.lock().take();
    shared.completer.send_replace(next);
    let engine = shared.engine.lock().take();
    if let Some(engine) = engine {
        let _ = tokio::task::spawn_blocking(move || engine.shutdown()).await;
    }
}

/// Records the model's new state for `hearth/status` and tells the client.
async fn send_status(
    client: &Client,
    shared: &Shared,
    state: ModelState,
    path: Option<&str>,
    message: Option<&str>,
) {
    let params = ModelStatusParams {
        state,
        path: path.map(str::to_owned),
        message: message.map(str::to_owned),
    };
    *shared.model_status.lock() = params.clone();
    client.send_notification::<ModelStatus>(params).await;
}
