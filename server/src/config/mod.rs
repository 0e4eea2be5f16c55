//! Typed settings, validated once where they enter the server.
//!
//! Settings arrive as JSON (LSP `initializationOptions`, then the `hearth`
//! section of `workspace/configuration`). They are parsed here into plain
//! structs; nothing below this module sees untyped JSON. Unknown keys are
//! reported, not fatal, so a newer editor extension can talk to an older server.

mod schema;

pub use schema::editor_settings;

use std::{
    env,
    path::{Path, PathBuf},
    time::Duration,
};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    completion::{CompletionConfig, Pipeline},
    context::{ContextConfig, fim::FimFamily, mode::ModeConfig},
    engine::{EngineConfig, Sampling},
};

/// The file name of the default model, as `scripts/fetch-model` installs it.
pub const DEFAULT_MODEL_FILE: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";
/// The command that installs the default model; named in every model error.
pub const FETCH_MODEL_COMMAND: &str = "scripts/fetch-model";
/// The environment variable that names a model file.
pub const MODEL_ENV: &str = "HEARTH_MODEL";

/// All of Hearth's settings.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Config {
    pub model: ModelConfig,
    pub documents: DocumentsConfig,
    pub completion: CompletionSettings,
    /// The model's fill-in-the-middle format; detected from the model's
    /// vocabulary when absent.
    pub fim: Option<FimFamily>,
}

/// How suggestions are made.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct CompletionSettings {
    /// Most tokens for the rest of a line.
    #[schemars(range(min = 1))]
    pub max_tokens_line: u32,
    /// Most tokens for a multi-line suggestion.
    #[schemars(range(min = 1))]
    pub max_tokens_block: u32,
    /// Most lines in a multi-line suggestion.
    pub max_lines: usize,
    /// Milliseconds one generation may take, after the prompt is read.
    pub time_budget_ms: u64,
    /// Milliseconds one completion request may take in all: waiting for the
    /// model to load or for its turn, reading the prompt and generating. An
    /// answer that late is no use to someone typing; the request is then
    /// answered empty and its work stopped.
    #[schemars(range(min = 1))]
    pub request_budget_ms: u64,
    /// Bytes of text before the cursor's line given to the model.
    pub prefix_bytes: usize,
    /// Bytes of text after the cursor given to the model.
    pub suffix_bytes: usize,
    /// Token choice; temperature 0 means greedy.
    pub sampling: Sampling,
    /// `full`, or `rawFim`: plain FIM without Hearth's context building,
    /// post-processing and caches, as a baseline for evaluation.
    pub pipeline: Pipeline,
    /// Suggest inside comments and strings while typing (an explicit
    /// request always gets a suggestion).
    pub in_comments_and_strings: bool,
    /// Whether suggestions are also offered as completion items.
    pub completion_items: CompletionItems,
}

/// When to offer suggestions in the completion menu (`textDocument/completion`).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum CompletionItems {
    /// Only to clients without inline completion (Helix, Zed, Neovim 0.11).
    #[default]
    Auto,
    /// Also to clients with inline completion.
    Always,
    /// Never: inline completion only.
    Never,
}

impl Default for CompletionSettings {
    fn default() -> Self {
        let defaults = CompletionConfig::default();
        CompletionSettings {
            max_tokens_line: defaults.max_tokens_line,
            max_tokens_block: defaults.max_tokens_block,
            max_lines: defaults.max_lines,
            time_budget_ms: u64::try_from(defaults.time_budget.as_millis()).unwrap_or(u64::MAX),
            request_budget_ms: 30_000,
            prefix_bytes: defaults.context.prefix_bytes,
            suffix_bytes: defaults.context.suffix_bytes,
            sampling: defaults.sampling,
            pipeline: defaults.pipeline,
            in_comments_and_strings: defaults.mode.in_comments_and_strings,
            completion_items: CompletionItems::Auto,
        }
    }
}

impl Config {
    /// The completion pipeline's limits from these settings.
    pub fn completion_config(&self) -> CompletionConfig {
        let c = &self.completion;
        CompletionConfig {
            context: ContextConfig { prefix_bytes: c.prefix_bytes, suffix_bytes: c.suffix_bytes },
            max_tokens_line: c.max_tokens_line,
            max_tokens_block: c.max_tokens_block,
            max_lines: c.max_lines,
            time_budget: Duration::from_millis(c.time_budget_ms),
            sampling: c.sampling.clone(),
            use_cache: true,
            pipeline: c.pipeline,
            mode: ModeConfig { in_comments_and_strings: c.in_comments_and_strings },
            retries_on_refusal: CompletionConfig::default().retries_on_refusal,
        }
    }
}

/// Which model to run and how.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct ModelConfig {
    /// Load a model at all. With `false` Hearth serves only what needs no model.
    pub enabled: bool,
    /// Path to a GGUF file; else `$HEARTH_MODEL`; else the default model in the
    /// user cache (`$XDG_CACHE_HOME/hearth/models/`, else `~/.cache/hearth/models/`).
    pub path: Option<PathBuf>,
    /// Context window in tokens.
    #[schemars(range(min = 256, max = 131_072))]
    pub context_size: u32,
    /// Threads for generating tokens; default: half the physical cores, at
    /// least one. Generation is bound by memory bandwidth, and a thread that
    /// must wait for a core another program holds stalls all the others at
    /// every step: on 2 cores with one busy, 2 threads generated 16 tok/s and
    /// 1 thread 46 (idle: 56 and 46).
    #[schemars(range(min = 1))]
    pub threads: Option<u32>,
    /// Threads for reading the prompt; default: the physical cores (prompt
    /// reading is bound by arithmetic and gains from every core).
    #[schemars(range(min = 1))]
    pub batch_threads: Option<u32>,
    /// Tokens evaluated per batch while reading a prompt (at most `model.contextSize`).
    #[schemars(range(min = 1))]
    pub batch_size: u32,
    /// Layers to offload to a GPU (only with a GPU build).
    pub gpu_layers: u32,
    /// Code actions that may run or wait for the model at once; more are
    /// refused at once with a "busy" error instead of piling up behind a
    /// model that writes one token at a time. (Completions never queue more
    /// than one request behind the running one.)
    #[schemars(range(min = 1))]
    pub max_queued_actions: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            enabled: true,
            path: None,
            context_size: 4096,
            threads: None,
            batch_threads: None,
            batch_size: 512,
            gpu_layers: if cfg!(any(feature = "cuda", feature = "vulkan", feature = "metal")) {
                999
            } else {
                0
            },
            max_queued_actions: 4,
        }
    }
}

/// Limits on document handling.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct DocumentsConfig {
    /// Milliseconds one synchronous reparse may take while an edit is applied;
    /// longer parses finish in the background.
    pub parse_budget_ms: u64,
    /// The largest document, in bytes, that Hearth builds context from. A
    /// larger one is kept in sync, edit by edit, but not parsed or indexed,
    /// and gets no suggestions or code actions: its syntax tree alone could
    /// take gigabytes, and every request would copy it.
    #[schemars(range(min = 1))]
    pub max_context_bytes: usize,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        DocumentsConfig { parse_budget_ms: 20, max_context_bytes: 8 * 1024 * 1024 }
    }
}

impl DocumentsConfig {
    pub fn parse_budget(&self) -> Duration {
        Duration::from_millis(self.parse_budget_ms)
    }

    /// Whether a document of `bytes` is too large to build context from.
    pub fn too_large(&self, bytes: usize) -> bool {
        bytes > self.max_context_bytes
    }
}

impl CompletionSettings {
    pub fn request_budget(&self) -> Duration {
        Duration::from_millis(self.request_budget_ms)
    }
}

/// A settings object that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid Hearth settings: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Parses settings; `null` means defaults. Unknown keys are returned as
    /// warnings so the caller can tell the user once.
    pub fn from_json(value: serde_json::Value) -> Result<(Config, Vec<String>), ConfigError> {
        if value.is_null() {
            return Ok((Config::default(), Vec::new()));
        }
        let mut unknown = Vec::new();
        let config: Config =
            serde_ignored::deserialize(value, |path| unknown.push(path.to_string()))
                .map_err(|err| ConfigError(err.to_string()))?;
        config.validate()?;
        let warnings =
            unknown.into_iter().map(|key| format!("unknown setting `{key}` ignored")).collect();
        Ok((config, warnings))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let m = &self.model;
        if !(256..=131_072).contains(&m.context_size) {
            return Err(ConfigError(format!(
                "model.contextSize must be between 256 and 131072, not {}",
                m.context_size
            )));
        }
        if m.threads == Some(0) || m.batch_threads == Some(0) {
            return Err(ConfigError(
                "model.threads and model.batchThreads must be at least 1".to_owned(),
            ));
        }
        if m.batch_size == 0 || m.batch_size > m.context_size {
            return Err(ConfigError(format!(
                "model.batchSize must be between 1 and model.contextSize ({}), not {}",
                m.context_size, m.batch_size
            )));
        }
        let sampling = &self.completion.sampling;
        if !(sampling.temperature >= 0.0 && sampling.temperature <= 5.0) {
            return Err(ConfigError(format!(
                "completion.sampling.temperature must be between 0 and 5, not {}",
                sampling.temperature
            )));
        }
        if !(sampling.top_p > 0.0 && sampling.top_p <= 1.0) || sampling.top_k < 1 {
            return Err(ConfigError(
                "completion.sampling.topP must be in (0, 1] and topK at least 1".to_owned(),
            ));
        }
        let bias = &sampling.copy_bias;
        let in_range = |value: f32| (0.0..=10.0).contains(&value);
        if !in_range(bias.margin)
            || !in_range(bias.per_token)
            || bias.min_run == 0
            || bias.max_run == 0
        {
            return Err(ConfigError(
                "completion.sampling.copyBias needs margin and perToken between 0 and 10, and minRun and maxRun at least 1"
                    .to_owned(),
            ));
        }
        if self.completion.request_budget_ms == 0
            || self.documents.max_context_bytes == 0
            || m.max_queued_actions == 0
        {
            return Err(ConfigError(
                "completion.requestBudgetMs, documents.maxContextBytes and model.maxQueuedActions must be at least 1"
                    .to_owned(),
            ));
        }
        if self.completion.max_tokens_line == 0 || self.completion.max_tokens_block == 0 {
            return Err(ConfigError(
                "completion.maxTokensLine and maxTokensBlock must be at least 1".to_owned(),
            ));
        }
        if let Some(path) = &m.path
            && path.as_os_str().is_empty()
        {
            return Err(ConfigError("model.path must not be empty".to_owned()));
        }
        Ok(())
    }
}

/// Where a model path came from, for messages that tell the user what to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelSource {
    Setting,
    Environment,
    DefaultCache,
}

impl ModelConfig {
    /// Finds the model: the setting, then `$HEARTH_MODEL`, then the user cache.
    pub fn resolve_path(&self) -> (PathBuf, ModelSource) {
        if let Some(path) = &self.path {
            return (expand_home(path), ModelSource::Setting);
        }
        if let Some(path) = env::var_os(MODEL_ENV).filter(|it| !it.is_empty()) {
            return (expand_home(Path::new(&path)), ModelSource::Environment);
        }
        (default_model_dir().join(DEFAULT_MODEL_FILE), ModelSource::DefaultCache)
    }

    /// Threads for generation: the setting, else half the physical cores.
    pub fn thread_count(&self) -> u32 {
        self.threads.unwrap_or_else(|| u32::try_from((physical_cores() / 2).max(1)).unwrap_or(1))
    }

    /// Threads for reading prompts: the setting, else the physical cores.
    pub fn batch_thread_count(&self) -> u32 {
        self.batch_threads.unwrap_or_else(|| u32::try_from(physical_cores()).unwrap_or(1))
    }

    /// The engine's settings for this model configuration.
    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            model_path: self.resolve_path().0,
            context_size: self.context_size,
            threads: self.thread_count(),
            batch_threads: self.batch_thread_count(),
            batch_size: self.batch_size,
            gpu_layers: self.gpu_layers,
        }
    }
}

/// `$XDG_CACHE_HOME/hearth/models`, else `~/.cache/hearth/models`.
pub fn default_model_dir() -> PathBuf {
    let cache = env::var_os("XDG_CACHE_HOME")
        .filter(|it| !it.is_empty())
        .map(PathBuf::from)
        .or_else(|| env::home_dir().map(|home| home.join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("hearth").join("models")
}

fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), env::home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

/// Physical cores, counted from `/proc/cpuinfo` where it exists.
///
/// Hyper-threads share a core's arithmetic units; running one llama.cpp
/// thread per logical CPU only adds contention.
fn physical_cores() -> usize {
    let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
    let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") else { return logical };
    let mut cores = std::collections::HashSet::new();
    let mut physical_id = "";
    for line in cpuinfo.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        match key.trim() {
            "physical id" => physical_id = value.trim(),
            "core id" => {
                cores.insert((physical_id.to_owned(), value.trim().to_owned()));
            }
            _ => {}
        }
    }
    if cores.is_empty() { logical } else { cores.len().min(logical) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn null_means_defaults() {
        let (config, warnings) = Config::from_json(serde_json::Value::Null).unwrap();
        assert_eq!(config, Config::default());
        assert!(warnings.is_empty());
    }

    #[test]
    fn parses_camel_case_and_reports_unknown_keys() {
        let (config, warnings) = Config::from_json(json!({
            "model": { "path": "/m.gguf", "contextSize": 2048, "colour": "red" },
        }))
        .unwrap();
        assert_eq!(config.model.path, Some(PathBuf::from("/m.gguf")));
        assert_eq!(config.model.context_size, 2048);
        assert_eq!(warnings, ["unknown setting `model.colour` ignored"]);
    }

    #[test]
    fn rejects_bad_values_with_the_setting_name() {
        let err = Config::from_json(json!({ "model": { "contextSize": 5 } })).unwrap_err();
        assert!(err.to_string().contains("model.contextSize"), "{err}");
        let err = Config::from_json(json!({ "model": { "threads": 0 } })).unwrap_err();
        assert!(err.to_string().contains("model.threads"), "{err}");
        let err = Config::from_json(json!({ "model": { "path": 3 } })).unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
        let bias = json!({ "completion": { "sampling": { "copyBias": { "minRun": 0 } } } });
        let err = Config::from_json(bias).unwrap_err();
        assert!(err.to_string().contains("completion.sampling.copyBias"), "{err}");
        let bias = json!({ "completion": { "sampling": { "copyBias": { "margin": -1.0 } } } });
        assert!(Config::from_json(bias).is_err());
    }

    #[test]
    fn the_copy_bias_is_on_by_default_and_can_be_turned_off() {
        let (config, _) = Config::from_json(json!({})).unwrap();
        assert!(!config.completion.sampling.copy_bias.is_off());
        let off = json!({ "completion": { "sampling": { "copyBias": { "perToken": 0 } } } });
        let (config, _) = Config::from_json(off).unwrap();
        assert!(config.completion.sampling.copy_bias.is_off());
    }

    #[test]
    fn the_setting_wins_over_the_environment() {
        let config = ModelConfig { path: Some(PathBuf::from("/x.gguf")), ..ModelConfig::default() };
        assert_eq!(config.resolve_path(), (PathBuf::from("/x.gguf"), ModelSource::Setting));
    }

    #[test]
    fn physical_cores_is_at_least_one() {
        assert!(physical_cores() >= 1);
    }
}
