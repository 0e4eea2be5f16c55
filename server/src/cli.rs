//! The command line's subcommands. `hearth complete FILE:LINE:COL` is the
//! editor's completion pipeline without an editor.
//!
//! It loads the model, opens the file as a document, builds the same anchored
//! prompt and post-processes the answer exactly as a request from an editor
//! would. Used by the README's demo, by benchmarks and for debugging.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use hearth_grammars::Lang;
use ropey::Rope;

use crate::{
    completion::{Completer, CompletionRequest, Trigger},
    config::{Config, FETCH_MODEL_COMMAND},
    context::{fim::FimFamily, related},
    engine::{Engine, EngineEvent, ModelInfo},
    workspace::{self, DefinitionIndex, ScanLimits},
};

/// A position as people write it: 1-based line and column (in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLocation {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl std::str::FromStr for FileLocation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.rsplitn(3, ':');
        let (Some(column), Some(line), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("expected FILE:LINE:COLUMN, got {s:?}"));
        };
        let number = |it: &str, what: &str| match it.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(format!("{what} must be a number from 1, got {it:?}")),
        };
        Ok(FileLocation {
            path: PathBuf::from(path),
            line: number(line, "LINE")?,
            column: number(column, "COLUMN")?,
        })
    }
}

/// Options of `hearth complete`.
#[derive(Clone, Debug)]
pub struct CompleteOptions {
    pub location: FileLocation,
    pub model: Option<PathBuf>,
    pub json: bool,
}

/// `hearth settings-schema`: every setting as editors declare it (see
/// [`crate::config::editor_settings`]), as JSON on stdout.
pub fn print_settings() -> anyhow::Result<()> {
    let settings = crate::config::editor_settings("hearth");
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &settings)?;
    writeln!(out)?;
    Ok(())
}

/// Loads the engine for `config` and waits until it is ready.
pub fn load_engine(config: &Config) -> anyhow::Result<(Engine, ModelInfo)> {
    let engine_config = config.model.engine_config();
    let (events_tx, events) = mpsc::channel();
    let engine = Engine::start(engine_config, move |event| {
        let _ = events_tx.send(event);
    })?;
    loop {
        match events.recv().context("the engine thread stopped while loading")? {
            EngineEvent::Loading { .. } => {}
            EngineEvent::Ready(info) => return Ok((engine, info)),
            EngineEvent::Failed(err) => {
                bail!(
                    "{err}\nInstall the default model with `{FETCH_MODEL_COMMAND}`, or pass --model PATH."
                )
            }
        }
    }
}

/// Byte offset of a 1-based line and character column, clamped to the line.
pub fn offset_of_location(text: &Rope, line: usize, column: usize) -> anyhow::Result<usize> {
    let line_idx = line - 1;
    if line_idx >= text.len_lines() {
        bail!("line {line} is past the end of the file ({} lines)", text.len_lines());
    }
    let start = text.line_to_char(line_idx);
    let line_chars = text.line(line_idx).chars().take_while(|c| *c != '\n' && *c != '\r').count();
    Ok(text.char_to_byte(start + (column - 1).min(line_chars)))
}

pub fn complete(options: &CompleteOptions) -> anyhow::Result<()> {
    let mut config = Config::default();
    if let Some(model) = &options.model {
        config.model.path = Some(model.clone());
    }
    let source = std::fs::read_to_string(&options.location.path)
        .with_context(|| format!("cannot read {}", options.location.path.display()))?;
    let text = Rope::from_str(&source);
    let cursor = offset_of_location(&text, options.location.line, options.location.column)?;
    let (root, repo_name, path) = names_for(&options.location.path);
    // The workspace is indexed while the model loads, as the server does.
    let scan = std::thread::spawn(move || index_workspace(&root));

    let load_started = Instant::now();
    let (engine, info) = load_engine(&config)?;
    let load_time = load_started.elapsed();
    let fim = FimFamily::detect(&info.control_tokens)
        .context("the model has no fill-in-the-middle tokens that Hearth knows")?;
    let completer = Completer::new(Arc::new(engine.handle()), fim, config.completion_config());
    let index = scan.join().unwrap_or_default();
    let other_files =
        related::blocks_at(&index, &text, cursor, &path, &config.completion_config().context);
    let lang =
        options.location.path.extension().and_then(|it| it.to_str()).and_then(Lang::from_extension);
    let tree = lang.and_then(|lang| crate::documents::parse_fresh(lang, &source));
    let request = CompletionRequest {
        key: "cli",
        text: &text,
        cursor,
        path: &path,
        repo_name: &repo_name,
        lang,
        tree: tree.as_ref(),
        other_files: &other_files,
        trigger: Trigger::Invoked,
    };

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let started = Instant::now();
    let completion = runtime.block_on(completer.complete(&request))?;
    let latency = started.elapsed();
    drop(completer);
    engine.shutdown();

    let mut out = std::io::stdout().lock();
    if options.json {
        let generation = completion.generation.as_ref();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let report = serde_json::json!({
            "text": completion.text,
            "raw": generation.map(|it| &it.text),
            "latency_ms": ms(latency),
            "load_ms": ms(load_time),
            "prompt_tokens": generation.map(|it| it.prompt_tokens),
            "generated_tokens": generation.map(|it| it.generated_tokens),
            "prefill_ms": generation.map(|it| ms(it.prefill_time)),
            "decode_ms": generation.map(|it| ms(it.decode_time)),
        });
        writeln!(out, "{report}")?;
    } else {
        let line_start = text.line_to_byte(text.byte_to_line(cursor));
        let before = text.byte_slice(line_start..cursor).to_string();
        if let Some(generation) = &completion.generation {
            tracing::info!(
                "completed in {:.0} ms ({} prompt tokens, {} generated; model loaded in {:.1} s)",
                latency.as_secs_f64() * 1000.0,
                generation.prompt_tokens,
                generation.generated_tokens,
                load_time.as_secs_f64()
            );
        }
        match &completion.text {
            Some(text) => writeln!(out, "{before}\u{1b}[2m{text}\u{1b}[0m")?,
            None => writeln!(out, "(no suggestion)")?,
        }
    }
    Ok(())
}

/// The repository name and relative path for a file: relative to the nearest
/// ancestor holding `.git`, else the file's own directory.
fn names_for(path: &Path) -> (PathBuf, String, String) {
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let root = absolute.ancestors().skip(1).find(|dir| dir.join(".git").exists());
    let root = root.or_else(|| absolute.parent()).unwrap_or(Path::new("/"));
    let repo = root.file_name().map(|it| it.to_string_lossy().into_owned()).unwrap_or_default();
    let relative = absolute.strip_prefix(root).unwrap_or(&absolute);
    (root.to_path_buf(), repo, relative.to_string_lossy().into_owned())
}

/// The definitions in the files under `root`, within the server's limits.
fn index_workspace(root: &Path) -> DefinitionIndex {
    let mut index = DefinitionIndex::default();
    for file in workspace::scan_workspace(root, ScanLimits::DEFAULT) {
        index.add_scanned(file);
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        let loc: FileLocation = "src/a:b.rs:3:7".parse().unwrap();
        assert_eq!(loc, FileLocation { path: "src/a:b.rs".into(), line: 3, column: 7 });
        assert!("x.rs:0:1".parse::<FileLocation>().unwrap_err().contains("LINE"));
        assert!("x.rs".parse::<FileLocation>().is_err());
    }

    #[test]
    fn columns_count_characters_and_clamp() {
        let text = Rope::from_str("é1\nab\n");
        assert_eq!(offset_of_location(&text, 1, 2).unwrap(), 2);
        assert_eq!(offset_of_location(&text, 2, 99).unwrap(), 6);
        assert!(offset_of_location(&text, 9, 1).is_err());
    }
}
