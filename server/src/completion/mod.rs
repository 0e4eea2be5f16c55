//! One completion request, end to end: context, engine, post-processing.
//!
//! `Completer` is what the protocol layer and the `hearth complete` command
//! both call, so the command line exercises exactly the editor's pipeline.

pub mod cache;
pub mod postprocess;
pub mod scheduler;
pub mod syntax_check;

use std::{sync::Arc, time::Duration};

use hearth_grammars::Lang;
use ropey::Rope;

use crate::{
    context::{
        self, ContextConfig, FimContext, Mode,
        fim::{FimFamily, FimParts},
    },
    engine::{CancelToken, Generation, Job, JobError, Sampling, StopRules},
};

use self::scheduler::{Outcome, Runner, Scheduler};

/// Limits for one suggestion.
#[derive(Clone, Debug, PartialEq)]
pub struct CompletionConfig {
    pub context: ContextConfig,
    /// Token limit for the rest of a line.
    pub max_tokens_line: u32,
    /// Token limit for a block.
    pub max_tokens_block: u32,
    /// Line limit for a block.
    pub max_lines: usize,
    /// Wall-clock budget for one generation.
    pub time_budget: Duration,
    pub sampling: Sampling,
    /// Answer from recent suggestions when the text around the cursor allows
    /// it (typing ahead, coming back). Benchmarks of the engine turn it off.
    pub use_cache: bool,
    pub pipeline: Pipeline,
}

/// What is done around the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Pipeline {
    /// Anchored context, token healing, post-processing, syntax check, caches.
    #[default]
    Full,
    /// A baseline for evaluation: plain FIM with the cursor as the hole, the
    /// same windows and limits, and the model's text as it comes.
    RawFim,
}

impl Default for CompletionConfig {
    fn default() -> Self {
        CompletionConfig {
            context: ContextConfig::default(),
            max_tokens_line: 48,
            max_tokens_block: 96,
            max_lines: 8,
            time_budget: Duration::from_secs(5),
            sampling: Sampling::default(),
            use_cache: true,
            pipeline: Pipeline::Full,
        }
    }
}

/// Where the cursor is and what surrounds it.
pub struct CompletionRequest<'a> {
    /// Scheduling key: requests for the same key supersede each other.
    pub key: &'a str,
    pub text: &'a Rope,
    /// Byte offset of the cursor.
    pub cursor: usize,
    /// The file's path relative to the workspace, as the model should see it.
    pub path: &'a str,
    pub repo_name: &'a str,
    /// The document's language, for syntax checks; `None` for plain text.
    pub lang: Option<Lang>,
    /// The document's syntax tree, if it is up to date (to find its header).
    pub tree: Option<&'a tree_sitter::Tree>,
}

/// The answer to one request: the suggestion to insert at the cursor, if
/// post-processing left one, and the engine's figures (none when the answer
/// came from the cache).
#[derive(Clone, Debug)]
pub struct Completion {
    pub text: Option<String>,
    pub mode: Mode,
    pub generation: Option<Generation>,
}

/// Why there is no suggestion.
#[derive(Debug, thiserror::Error)]
pub enum CompletionError {
    #[error("superseded by a newer request")]
    Superseded,
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Engine(#[from] JobError),
}

/// Splits the typed part of the line into what goes into the prompt and what
/// the generation must begin with.
///
/// A half-typed word at the cursor (`values.ite`) is taken out of the prompt
/// and required of the output instead (token healing): tokenized on its own,
/// `ite` is not how the model ever saw `iter` begin, and it would continue
/// the fragment as if it were a whole word. Indentation alone is left out
/// too: the model writes it itself, and a prompt ending in spaces makes it
/// write one too many.
fn split_for_healing(ctx: &FimContext) -> (&str, String) {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let is_blank = |c: char| c == ' ' || c == '\t';
    let middle = ctx.middle.as_str();
    let at_word_end = !ctx.line_after_cursor.starts_with(is_word);
    // Trailing blanks after text are healed too: the model's tokens carry
    // their leading space (` is`), so a prompt ending in a space makes it
    // write a second one.
    let blanks: usize = middle.chars().rev().take_while(|c| is_blank(*c)).map(char::len_utf8).sum();
    let fragment_len: usize = if !at_word_end {
        0
    } else if blanks > 0 {
        if middle[..middle.len() - blanks].trim().is_empty() { 0 } else { blanks }
    } else {
        middle.chars().rev().take_while(|c| is_word(*c)).take(24).map(char::len_utf8).sum()
    };
    let kept = &middle[..middle.len() - fragment_len];
    match (kept.trim().is_empty(), fragment_len) {
        (true, 0) => ("", String::new()),
        (true, _) => ("", middle.to_owned()),
        (false, _) => (kept, middle[kept.len()..].to_owned()),
    }
}

/// The completion pipeline for one loaded model.
pub struct Completer {
    scheduler: Scheduler,
    fim: FimFamily,
    config: CompletionConfig,
    cache: parking_lot::Mutex<cache::SuggestionCache>,
}

impl Completer {
    pub fn new(runner: Arc<dyn Runner>, fim: FimFamily, config: CompletionConfig) -> Completer {
        Completer { scheduler: Scheduler::new(runner), fim, config, cache: Default::default() }
    }

    pub fn fim_family(&self) -> FimFamily {
        self.fim
    }

    /// Builds the context and the engine job for a request (pure).
    pub fn prepare(&self, request: &CompletionRequest<'_>) -> (FimContext, Job) {
        let header = match (request.tree, request.lang) {
            (Some(tree), Some(lang)) => context::header::header_range(tree, lang, request.text),
            _ => None,
        };
        let ctx =
            context::build_with_header(request.text, request.cursor, &self.config.context, header);
        let raw_prefix;
        let (prefix, middle, required_prefix) = match self.config.pipeline {
            Pipeline::Full => {
                let (middle, required_prefix) = split_for_healing(&ctx);
                (ctx.prefix.as_str(), middle, required_prefix)
            }
            Pipeline::RawFim => {
                raw_prefix = format!("{}{}", ctx.prefix, ctx.middle);
                (raw_prefix.as_str(), "", String::new())
            }
        };
        let prompt = self.fim.build(&FimParts {
            repo_name: request.repo_name,
            path: request.path,
            other_files: &[],
            prefix,
            suffix: &ctx.suffix,
            middle,
        });
        let (max_tokens, stop) = match ctx.mode {
            Mode::SingleLine => (
                self.config.max_tokens_line,
                StopRules { at_newline: true, ..StopRules::default() },
            ),
            Mode::MultiLine => (
                self.config.max_tokens_block,
                StopRules { max_lines: Some(self.config.max_lines), ..StopRules::default() },
            ),
        };
        let stop = StopRules {
            strings: self.fim.stop_strings().iter().map(|it| (*it).to_owned()).collect(),
            ..stop
        };
        let job = Job {
            prompt,
            max_tokens,
            time_budget: self.config.time_budget,
            stop,
            sampling: self.config.sampling.clone(),
            cancel: CancelToken::new(),
            stream: None,
            required_prefix,
        };
        (ctx, job)
    }

    /// Runs a request through the scheduler.
    pub async fn complete(
        &self,
        request: &CompletionRequest<'_>,
    ) -> Result<Completion, CompletionError> {
        let (ctx, job) = self.prepare(request);
        let full = self.config.pipeline == Pipeline::Full;
        let cached =
            if self.config.use_cache && full { self.cache.lock().lookup(&ctx) } else { None };
        if let Some(text) = cached {
            return Ok(Completion { text: Some(text), mode: ctx.mode, generation: None });
        }
        let required_prefix = job.required_prefix.clone();
        let generation = match self.scheduler.submit(request.key, job).await {
            Outcome::Done(generation) => generation,
            Outcome::Superseded => return Err(CompletionError::Superseded),
            Outcome::Cancelled => return Err(CompletionError::Cancelled),
            Outcome::Failed(err) => return Err(err.into()),
        };
        tracing::debug!(
            "generated {} tokens ({:?}) after {} prompt tokens ({} reused): prefill {:?}, decode {:?}: {:?}",
            generation.generated_tokens,
            generation.stop,
            generation.prompt_tokens,
            generation.reused_tokens,
            generation.prefill_time,
            generation.decode_time,
            generation.text
        );
        if !full {
            let text = Some(generation.text.clone()).filter(|it| !it.trim().is_empty());
            return Ok(Completion { text, mode: ctx.mode, generation: Some(generation) });
        }
        // The healed part was typed already; a generation that stopped
        // before spelling it out has nothing to add.
        let text = generation
            .text
            .strip_prefix(required_prefix.as_str())
            .and_then(|raw| postprocess::clean(raw, &ctx))
            .and_then(|text| match request.lang {
                Some(lang) => syntax_check::keep_syntax_clean(
                    lang,
                    request.text,
                    request.tree,
                    request.cursor,
                    &text,
                ),
                None => Some(text),
            });
        if let Some(suggestion) = &text {
            self.cache.lock().insert(&ctx, suggestion);
            self.prewarm_next_line(request, &ctx, suggestion);
        }
        Ok(Completion { text, mode: ctx.mode, generation: Some(generation) })
    }

    /// Asks the engine to pre-warm the prompt the user will most likely ask
    /// for next: this suggestion accepted and Enter pressed. Re-anchoring on a
    /// new line otherwise costs the whole suffix again.
    fn prewarm_next_line(
        &self,
        request: &CompletionRequest<'_>,
        ctx: &FimContext,
        suggestion: &str,
    ) {
        let text = request.text;
        // The context already split the cursor's line: its rest ends where
        // the line break (and everything after it) begins.
        let line_end = request.cursor + ctx.line_after_cursor.len();
        let indent: String = ctx.middle.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        let mut accepted = text.byte_slice(..request.cursor).to_string();
        accepted.push_str(suggestion);
        accepted.push_str(&ctx.line_after_cursor);
        accepted.push('\n');
        accepted.push_str(&indent);
        let cursor = accepted.len();
        if line_end < text.len_bytes() {
            accepted.push_str(&text.byte_slice(line_end..).to_string());
        }
        let accepted = Rope::from_str(&accepted);
        let next = CompletionRequest { text: &accepted, cursor, ..*request };
        let (_, job) = self.prepare(&next);
        self.scheduler.runner().prewarm(job.prompt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::fixture;

    fn split(text: &str) -> (String, String) {
        let ctx = fixture(text);
        let (middle, required) = split_for_healing(&ctx);
        (middle.to_owned(), required)
    }

    #[test]
    fn half_typed_words_are_healed() {
        let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(split("    let n = values.ite$0\n"), s("    let n = values.", "ite"));
        assert_eq!(split("    let n = values.$0\n"), s("    let n = values.", ""));
        // Inside a word the fragment is not the word's end: nothing to heal.
        assert_eq!(split("    let n = val$0ues;\n"), s("    let n = val", ""));
        assert_eq!(split("    ret$0\n"), s("", "    ret"));
        assert_eq!(split("    $0\n"), s("", ""));
        // A trailing space is healed: the next token brings its own.
        assert_eq!(split("        if m $0\n"), s("        if m", " "));
        assert_eq!(split("    x = $0\n"), s("    x =", " "));
    }
}
