//! One completion request, end to end: context, engine, post-processing.
//!
//! `Completer` is what the protocol layer and the `hearth complete` command
//! both call, so the command line exercises exactly the editor's pipeline.

pub mod cache;
pub mod postprocess;
pub mod scheduler;
pub mod syntax_check;

use std::{
    ops::Range,
    sync::Arc,
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use tokio::sync::watch;

use hearth_grammars::Lang;
use ropey::Rope;

use crate::{
    context::{
        self, ContextConfig, FimContext, Mode,
        fim::{FileBlock, FimFamily, FimParts},
        indent::leading_blanks,
        mode::ModeConfig,
    },
    engine::{CancelToken, CopyBias, Generation, Job, JobError, Prompt, Sampling, StopRules},
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
    pub mode: ModeConfig,
    /// How many more times to ask the model when post-processing refuses its
    /// output, each time banning the first tokens it chose before.
    pub retries_on_refusal: u32,
}

/// What is done around the model.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Pipeline {
    /// Anchored context, token healing, post-processing, syntax check, caches.
    #[default]
    Full,
    /// A baseline for evaluation: plain FIM with the cursor as the hole, the
    /// same windows and limits, plain greedy decoding (no copy bias), and the
    /// model's text as it comes.
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
            mode: ModeConfig::default(),
            retries_on_refusal: 2,
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
    /// Definitions from other files, shown to the model before this one.
    pub other_files: &'a [FileBlock],
    pub trigger: Trigger,
}

/// Who asked for a suggestion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Trigger {
    /// The editor, on its own, as the user types: stay quiet where a
    /// suggestion would be noise.
    #[default]
    Automatic,
    /// The user, explicitly: always try.
    Invoked,
}

/// Where an answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// Nothing was asked of the model: the mode said to stay quiet.
    Skipped,
    /// A recent suggestion: typed ahead, or the same state seen again.
    Cache,
    /// A generation computed ahead of time for the state the user is now in.
    Speculation,
    Model,
}

/// Counters over the life of a [`Completer`], for benchmarks and status
/// displays (`hearth/completionStats`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletionStats {
    /// Requests answered (with or without a suggestion).
    pub answered: u64,
    pub skipped: u64,
    pub from_cache: u64,
    pub from_speculation: u64,
    pub from_model: u64,
    /// Answers without a suggestion, whatever the source.
    pub empty: u64,
    /// Requests ended by a newer one or by the client.
    pub superseded: u64,
    pub last_latency_ms: Option<f64>,
    pub last_source: Option<Source>,
}

/// The answer to one request: the suggestion to insert at the cursor, if
/// post-processing left one, and the engine's figures (none when the answer
/// came from the cache).
#[derive(Clone, Debug)]
pub struct Completion {
    pub text: Option<String>,
    pub mode: Mode,
    pub source: Source,
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
    cache: Mutex<cache::SuggestionCache>,
    speculation: Mutex<Option<Speculation>>,
    stats: Mutex<CompletionStats>,
}

/// A generation started ahead of time for the state after accepting the
/// last suggestion. A request whose job is the same joins it instead of
/// starting over.
struct Speculation {
    prompt: Prompt,
    required_prefix: String,
    mode: Mode,
    cancel: CancelToken,
    result: watch::Receiver<Option<Result<Generation, JobError>>>,
}

impl Completer {
    pub fn new(runner: Arc<dyn Runner>, fim: FimFamily, config: CompletionConfig) -> Completer {
        Completer {
            scheduler: Scheduler::new(runner),
            fim,
            config,
            cache: Mutex::default(),
            speculation: Mutex::default(),
            stats: Mutex::default(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> CompletionStats {
        self.stats.lock().clone()
    }

    pub fn fim_family(&self) -> FimFamily {
        self.fim
    }

    /// Builds the context and the engine job for a request (pure).
    pub fn prepare(&self, request: &CompletionRequest<'_>) -> (FimContext, Job) {
        self.prepare_with_header(request, self.header_of(request))
    }

    /// The file's imports, found in its syntax tree.
    fn header_of(&self, request: &CompletionRequest<'_>) -> Option<Range<usize>> {
        match (request.tree, request.lang) {
            (Some(tree), Some(lang)) => context::header::header_range(tree, lang, request.text),
            _ => None,
        }
    }

    fn prepare_with_header(
        &self,
        request: &CompletionRequest<'_>,
        header: Option<Range<usize>>,
    ) -> (FimContext, Job) {
        let mut ctx = context::build_with_header(
            request.text,
            request.cursor,
            &self.config.context,
            header,
            request.tree,
        );
        ctx.mode =
            match context::mode::classify(&ctx, request.cursor, request.tree, self.config.mode) {
                Mode::Empty if request.trigger == Trigger::Invoked => Mode::SingleLine,
                mode => mode,
            };
        let raw_prefix;
        let indented_prefix;
        let (prefix, middle, required_prefix) = match self.config.pipeline {
            Pipeline::Full => {
                let (middle, required_prefix) = split_for_healing(&ctx);
                // Indentation alone before the cursor goes at the end of the
                // prefix, where FIM training put it; it stays put while the
                // user types after it, so the prompt still only grows. At
                // column 0 of an empty line, the indentation the lines around
                // imply goes there as if typed.
                let indent = match leading_blanks(&ctx.middle) {
                    "" => ctx.implied_indent.as_str(),
                    typed => typed,
                };
                if middle.is_empty() && !indent.is_empty() {
                    indented_prefix = format!("{}{indent}", ctx.prefix);
                    let required =
                        required_prefix.strip_prefix(indent).unwrap_or(&required_prefix).to_owned();
                    (indented_prefix.as_str(), "", required)
                } else {
                    (ctx.prefix.as_str(), middle, required_prefix)
                }
            }
            Pipeline::RawFim => {
                raw_prefix = format!("{}{}", ctx.prefix, ctx.middle);
                (raw_prefix.as_str(), "", String::new())
            }
        };
        let prompt = self.fim.build(&FimParts {
            repo_name: request.repo_name,
            path: request.path,
            other_files: request.other_files,
            prefix,
            suffix: &ctx.suffix,
            middle,
        });
        let (max_tokens, stop) = match ctx.mode {
            Mode::SingleLine | Mode::Empty => (
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
            sampling: match self.config.pipeline {
                Pipeline::Full => self.config.sampling.clone(),
                Pipeline::RawFim => {
                    Sampling { copy_bias: CopyBias::OFF, ..self.config.sampling.clone() }
                }
            },
            cancel: CancelToken::new(),
            stream: None,
            required_prefix,
            banned_first: Vec::new(),
        };
        (ctx, job)
    }

    /// Runs a request: from the cache or a speculation when they have the
    /// answer, else through the scheduler and the model.
    pub async fn complete(
        &self,
        request: &CompletionRequest<'_>,
    ) -> Result<Completion, CompletionError> {
        self.complete_arrived(request, scheduler::arrival()).await
    }

    /// Like [`Completer::complete`], for a request stamped when it arrived
    /// ([`scheduler::arrival`]): a request that arrived later wins over it,
    /// even if it reaches the model first.
    pub async fn complete_arrived(
        &self,
        request: &CompletionRequest<'_>,
        arrival: u64,
    ) -> Result<Completion, CompletionError> {
        let started = Instant::now();
        let result = self.complete_uncounted(request, arrival).await;
        let mut stats = self.stats.lock();
        match &result {
            Ok(completion) => {
                stats.answered += 1;
                match completion.source {
                    Source::Skipped => stats.skipped += 1,
                    Source::Cache => stats.from_cache += 1,
                    Source::Speculation => stats.from_speculation += 1,
                    Source::Model => stats.from_model += 1,
                }
                if completion.text.is_none() {
                    stats.empty += 1;
                }
                stats.last_latency_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
                stats.last_source = Some(completion.source);
            }
            Err(CompletionError::Superseded | CompletionError::Cancelled) => stats.superseded += 1,
            Err(CompletionError::Engine(_)) => {}
        }
        result
    }

    async fn complete_uncounted(
        &self,
        request: &CompletionRequest<'_>,
        arrival: u64,
    ) -> Result<Completion, CompletionError> {
        // The imports query runs once: the speculation reuses its answer.
        let header = self.header_of(request);
        let (ctx, job) = self.prepare_with_header(request, header.clone());
        let answer = |text: Option<String>, source, generation| {
            Ok(Completion { text, mode: ctx.mode, source, generation })
        };
        if ctx.mode == Mode::Empty {
            return answer(None, Source::Skipped, None);
        }
        let full = self.config.pipeline == Pipeline::Full;
        let cached = if self.config.use_cache && full {
            self.cache.lock().lookup(&ctx)
        } else {
            cache::Lookup::Miss
        };
        match cached {
            cache::Lookup::Rest(text) => return answer(Some(text), Source::Cache, None),
            // The user typed the whole suggestion: the model was asked here
            // already and had nothing more on this line.
            cache::Lookup::TypedOut => return answer(None, Source::Cache, None),
            cache::Lookup::Miss => {}
        }
        let required_prefix = job.required_prefix.clone();
        let mut banned = Vec::new();
        let mut job = job;
        let (text, generation, source) = loop {
            // A retry's job is the same but for its ban, and a cancel token
            // of its own.
            let retry = Job { cancel: CancelToken::new(), ..job.clone() };
            let speculated =
                if banned.is_empty() { self.join_speculation(&job, ctx.mode).await } else { None };
            let (generation, source) = match speculated {
                Some(generation) => (generation, Source::Speculation),
                None => match self.scheduler.submit(request.key, arrival, job).await {
                    Outcome::Done(generation) => (generation, Source::Model),
                    Outcome::Superseded => return Err(CompletionError::Superseded),
                    Outcome::Cancelled => return Err(CompletionError::Cancelled),
                    Outcome::Failed(err) => return Err(err.into()),
                },
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
                return answer(text, source, Some(generation));
            }
            let text = self.finish(request, &ctx, &required_prefix, &generation.text);
            // The model wrote something, and post-processing or the syntax
            // check refused all of it: its next choice for the first token
            // often is the right one (a docstring's next sentence rather
            // than its end, an argument rather than the closing bracket).
            // The prompt is in the cache, so a retry costs only generation.
            let refused = text.is_none() && !generation.text.trim().is_empty();
            // Asked on a line of its own, the user wants code there: a model
            // that would end the line (or the text) at once is asked for its
            // next choice too.
            let blank_line =
                ctx.middle.trim().is_empty() && ctx.line_after_cursor.trim().is_empty();
            let refused = refused
                || (request.trigger == Trigger::Invoked
                    && blank_line
                    && generation.text.trim().is_empty());
            match generation.first_token {
                Some(first)
                    if refused && banned.len() < self.config.retries_on_refusal as usize =>
                {
                    tracing::debug!("refused; asking again without its first token");
                    banned.push(first);
                    job = Job { banned_first: banned.clone(), ..retry };
                }
                _ => break (text, generation, source),
            }
        };
        // Nothing from the model at the end of a body that is never closed:
        // the bracket the syntax says is missing is the next line.
        let text = match (text, request.lang) {
            (None, Some(lang)) => {
                syntax_check::missing_closer(lang, request.text, request.tree, request.cursor)
            }
            (text, _) => text,
        };
        if let Some(suggestion) = &text
            && self.config.use_cache
        {
            self.cache.lock().insert(&ctx, suggestion);
            self.speculate_next_line(request, header, &ctx, suggestion);
        }
        answer(text, source, Some(generation))
    }

    /// The suggestion in a generation's text: what follows the healed part,
    /// post-processed and syntax-checked; `None` when nothing is left.
    fn finish(
        &self,
        request: &CompletionRequest<'_>,
        ctx: &FimContext,
        required_prefix: &str,
        generated: &str,
    ) -> Option<String> {
        // The healed part was typed already; a generation that stopped
        // before spelling it out has nothing to add.
        // With only indentation typed (or implied), it ended the prompt's
        // prefix and the model continued after it; post-processing sees the
        // line whole. Implied indentation is where the lines around put the
        // line, so blanks the model adds to it only misplace it.
        let implied = ctx.middle.is_empty() && !ctx.implied_indent.is_empty();
        let typed_indent = if implied {
            ctx.implied_indent.as_str()
        } else if ctx.middle.trim().is_empty() {
            ctx.middle.as_str()
        } else {
            ""
        };
        generated
            .strip_prefix(required_prefix)
            .map(|raw| if implied { raw.trim_start_matches([' ', '\t']) } else { raw })
            .map(|raw| format!("{typed_indent}{raw}"))
            .and_then(|raw| postprocess::clean(&raw, ctx))
            .and_then(|text| match request.lang {
                Some(lang) => syntax_check::keep_syntax_clean(
                    lang,
                    request.text,
                    request.tree,
                    request.cursor,
                    &text,
                ),
                None => Some(text),
            })
    }

    /// The result of the running or finished speculation if it computed
    /// exactly this job; any other speculation is cancelled, since the
    /// user went elsewhere.
    async fn join_speculation(&self, job: &Job, mode: Mode) -> Option<Generation> {
        let mut result = {
            let mut speculation = self.speculation.lock();
            let matches = speculation.as_ref().is_some_and(|it| {
                it.prompt == job.prompt
                    && it.required_prefix == job.required_prefix
                    && it.mode == mode
            });
            let taken = speculation.take()?;
            if !matches {
                taken.cancel.cancel();
                return None;
            }
            taken.result
        };
        let outcome = result.wait_for(Option::is_some).await.ok()?.clone();
        outcome?.ok()
    }

    /// Starts generating, in the engine's idle time, the suggestion for the
    /// state the user most likely asks about next: this suggestion accepted
    /// and Enter pressed. The prompt's new suffix then is in the cache too,
    /// which otherwise costs seconds to read on a new line.
    fn speculate_next_line(
        &self,
        request: &CompletionRequest<'_>,
        header: Option<Range<usize>>,
        ctx: &FimContext,
        suggestion: &str,
    ) {
        let text = request.text;
        // The context already split the cursor's line: its rest ends where
        // the line break (and everything after it) begins.
        let line_end = request.cursor + ctx.line_after_cursor.len();
        let last_line = format!("{}{suggestion}", ctx.middle);
        let last_line = last_line.rsplit('\n').next().unwrap_or_default();
        let mut indent: String =
            last_line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        // Editors indent one level more after a line that opens a block;
        // the prompt holds the indentation, so the guess must match it.
        let full_line = format!("{last_line}{}", ctx.line_after_cursor);
        if ["{", ":", "(", "["].iter().any(|it| full_line.trim_end().ends_with(it)) {
            indent.push_str(if indent.starts_with('\t') { "\t" } else { "    " });
        }
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
        // The document's tree, edited (not reparsed) to match: the nodes
        // before the cursor stay where they were and those after it move,
        // which is all the windows' cuts look at. The header is unchanged.
        let edited = request.tree.map(|tree| {
            let mut tree = tree.clone();
            let point = crate::documents::point_at;
            tree.edit(&tree_sitter::InputEdit {
                start_byte: request.cursor,
                old_end_byte: line_end,
                new_end_byte: cursor,
                start_position: point(text, request.cursor),
                old_end_position: point(text, line_end),
                new_end_position: point(&accepted, cursor),
            });
            tree
        });
        let next = CompletionRequest { text: &accepted, cursor, tree: edited.as_ref(), ..*request };
        let (next_ctx, job) = self.prepare_with_header(&next, header);
        if next_ctx.mode == Mode::Empty {
            return;
        }
        let (tx, rx) = watch::channel(None);
        let speculation = Speculation {
            prompt: job.prompt.clone(),
            required_prefix: job.required_prefix.clone(),
            mode: next_ctx.mode,
            cancel: job.cancel.clone(),
            result: rx,
        };
        if let Some(old) = self.speculation.lock().replace(speculation) {
            old.cancel.cancel();
        }
        let running = self.scheduler.runner().speculate(job);
        tokio::spawn(async move {
            let _ = tx.send(Some(running.await));
        });
    }
}

#[cfg(test)]
mod tests {
    use std::{future::Future, pin::Pin};

    use super::*;
    use crate::{context::fixture, engine::StopReason};

    /// Answers real jobs and speculations with fixed texts, counting them.
    struct FixedRunner {
        run_text: &'static str,
        speculate_text: &'static str,
        runs: Mutex<usize>,
        speculations: Mutex<usize>,
    }

    fn generation(text: &str) -> Generation {
        Generation {
            text: text.to_owned(),
            stop: StopReason::EndOfGeneration,
            prompt_tokens: 10,
            reused_tokens: 0,
            generated_tokens: 3,
            first_token: Some(crate::engine::TokenId(1)),
            prefill_time: Duration::ZERO,
            decode_time: Duration::ZERO,
        }
    }

    type Answer = Pin<Box<dyn Future<Output = Result<Generation, JobError>> + Send>>;

    /// A request at `cursor` in `text` (the path matters to no fake runner).
    fn request(
        text: &Rope,
        cursor: usize,
        lang: Option<Lang>,
        trigger: Trigger,
    ) -> CompletionRequest<'_> {
        CompletionRequest {
            key: "doc",
            text,
            cursor,
            path: "src/main.rs",
            repo_name: "demo",
            lang,
            tree: None,
            other_files: &[],
            trigger,
        }
    }

    impl FixedRunner {
        fn new(run_text: &'static str, speculate_text: &'static str) -> FixedRunner {
            FixedRunner {
                run_text,
                speculate_text,
                runs: Mutex::new(0),
                speculations: Mutex::new(0),
            }
        }
    }

    impl Runner for FixedRunner {
        fn run(&self, job: Job) -> Answer {
            *self.runs.lock() += 1;
            let text = format!("{}{}", job.required_prefix, self.run_text);
            Box::pin(async move { Ok(generation(&text)) })
        }

        fn speculate(&self, job: Job) -> Answer {
            *self.speculations.lock() += 1;
            let text = format!("{}{}", job.required_prefix, self.speculate_text);
            Box::pin(async move { Ok(generation(&text)) })
        }
    }

    #[tokio::test]
    async fn answers_come_from_the_cheapest_source() {
        let runner = Arc::new(FixedRunner::new(" = 1;", "let y = x + 1;\n"));
        let completer = Completer::new(runner.clone(), FimFamily::Qwen, Default::default());
        let ask = |fixture: &str, trigger: Trigger| {
            let cursor = fixture.find("$0").unwrap();
            let text = Rope::from_str(&fixture.replace("$0", ""));
            let completer = &completer;
            async move {
                let request = request(&text, cursor, None, trigger);
                let completion = completer.complete(&request).await.unwrap();
                (completion.text, completion.source)
            }
        };
        let auto = Trigger::Automatic;
        let first = ask("fn main() {\n    let x$0\n}\n", auto).await;
        assert_eq!(first, (Some(" = 1;".to_owned()), Source::Model));
        // Typing the suggestion's first characters: the rest, from the cache.
        let typed = ask("fn main() {\n    let x =$0\n}\n", auto).await;
        assert_eq!(typed, (Some(" 1;".to_owned()), Source::Cache));
        // All of it typed (or accepted): nothing more, without the model.
        let done = ask("fn main() {\n    let x = 1;$0\n}\n", auto).await;
        assert_eq!(done, (None, Source::Cache));
        // Enter after accepting: the speculation computed this state.
        let next = ask("fn main() {\n    let x = 1;\n    $0\n}\n", auto).await;
        assert_eq!(next, (Some("let y = x + 1;".to_owned()), Source::Speculation));
        // A word right of the cursor: quiet while typing, not when asked.
        let quiet = ask("fn main() {\n    let $0x = 1;\n}\n", auto).await;
        assert_eq!(quiet, (None, Source::Skipped));
        let asked = ask("fn main() {\n    let $0x = 1;\n}\n", Trigger::Invoked).await;
        assert_eq!(asked.1, Source::Model);
        assert_eq!(*runner.runs.lock(), 2);
        let stats = completer.stats();
        assert_eq!(
            (stats.answered, stats.from_model, stats.from_cache, stats.from_speculation),
            (6, 2, 2, 1)
        );
        assert_eq!((stats.skipped, stats.empty), (1, 2));
    }

    /// The prompt's text before the point of generation, as the copy bias
    /// sees it.
    fn text_before_cursor(prompt: &Prompt) -> String {
        prompt
            .before_cursor
            .iter()
            .map(|&i| match &prompt.pieces[i] {
                crate::engine::Piece::Text(text) => text.as_str(),
                _ => "",
            })
            .collect()
    }

    #[tokio::test]
    async fn a_line_at_column_0_gets_the_indentation_the_lines_around_give_it() {
        // The model indents once more after the prompt's indentation.
        let runner = Arc::new(FixedRunner::new("    a + 1", ""));
        let completer = Completer::new(runner.clone(), FimFamily::Qwen, Default::default());
        let fixture = "fn f(a: u32) -> u32 {\n    let b = a;\n$0\n}\n";
        let text = Rope::from_str(&fixture.replace("$0", ""));
        let request = request(&text, fixture.find("$0").unwrap(), None, Trigger::Invoked);
        let (_, job) = completer.prepare(&request);
        let before = text_before_cursor(&job.prompt);
        assert!(before.ends_with("    let b = a;\n    "), "{before:?}");
        let completion = completer.complete(&request).await.unwrap();
        assert_eq!(completion.text.as_deref(), Some("    a + 1"));
    }

    #[test]
    fn only_the_full_pipeline_leans_on_the_text_before_the_cursor() {
        let runner = Arc::new(FixedRunner::new("", ""));
        let text = Rope::from_str("use std::fmt;\nfn main() {\n    let x\n}\n");
        let cursor = text.to_string().find("let x").unwrap() + 5;
        let request = request(&text, cursor, None, Trigger::Invoked);
        let full = Completer::new(runner.clone(), FimFamily::Qwen, Default::default());
        let (_, job) = full.prepare(&request);
        assert!(!job.sampling.copy_bias.is_off());
        let before = text_before_cursor(&job.prompt);
        // The half-typed `x` is healed: generated, not prompted.
        assert!(before.ends_with("fn main() {\n    let "), "{before:?}");
        assert_eq!(job.required_prefix, "x");
        let config = CompletionConfig { pipeline: Pipeline::RawFim, ..Default::default() };
        let raw = Completer::new(runner, FimFamily::Qwen, config);
        assert!(raw.prepare(&request).1.sampling.copy_bias.is_off());
    }

    #[tokio::test]
    async fn a_body_the_model_has_nothing_for_is_closed() {
        let runner = Arc::new(FixedRunner::new("", ""));
        let completer = Completer::new(runner.clone(), FimFamily::Qwen, Default::default());
        let fixture = "// Explain.\nfn explain() -> String {\n\"Adds.\".to_string()\n$0";
        let cursor = fixture.find("$0").unwrap();
        let text = Rope::from_str(&fixture.replace("$0", ""));
        let request = request(&text, cursor, Some(Lang::Rust), Trigger::Invoked);
        let completion = completer.complete(&request).await.unwrap();
        assert_eq!((completion.text.as_deref(), completion.source), (Some("}"), Source::Model));
        // Asked on a line of its own, the model's empty answer was retried
        // twice (banning its first token) before the closer was offered.
        assert_eq!(*runner.runs.lock(), 3);
    }

    /// Answers with `refused` until the job bans that many first tokens,
    /// then with `accepted`, recording the bans it saw.
    struct SecondChoiceRunner {
        refused: &'static str,
        accepted: &'static str,
        refusals: usize,
        bans: Mutex<Vec<Vec<crate::engine::TokenId>>>,
    }

    impl Runner for SecondChoiceRunner {
        fn run(&self, job: Job) -> Answer {
            let tries = job.banned_first.len();
            self.bans.lock().push(job.banned_first);
            let text = if tries < self.refusals { self.refused } else { self.accepted };
            let mut answer = generation(text);
            answer.first_token = Some(crate::engine::TokenId(100 + tries as i32));
            Box::pin(async move { Ok(answer) })
        }
    }

    #[tokio::test]
    async fn a_refused_output_is_followed_by_the_models_next_choice() {
        use crate::engine::TokenId;
        let complete = |refusals: usize| async move {
            let runner = Arc::new(SecondChoiceRunner {
                // Closes the call the suffix goes on with: refused.
                refused: "bsz);",
                accepted: "width / scale,",
                refusals,
                bans: Mutex::new(Vec::new()),
            });
            let completer = Completer::new(runner.clone(), FimFamily::Qwen, Default::default());
            let fixture = "cur = reshape(ctx,\n    height / scale,\n    $0\n    bsz);\n";
            let text = Rope::from_str(&fixture.replace("$0", ""));
            let request = request(&text, fixture.find("$0").unwrap(), None, Trigger::Invoked);
            let completion = completer.complete(&request).await.unwrap();
            let bans = runner.bans.lock().clone();
            (completion.text, bans)
        };
        let (text, bans) = complete(1).await;
        assert_eq!(text.as_deref(), Some("width / scale,"));
        assert_eq!(bans, vec![vec![], vec![TokenId(100)]]);
        let (text, bans) = complete(2).await;
        assert_eq!(text.as_deref(), Some("width / scale,"));
        assert_eq!(bans.last().unwrap(), &vec![TokenId(100), TokenId(101)]);
        // Two retries at most: then the answer is empty.
        let (text, bans) = complete(3).await;
        assert_eq!((text, bans.len()), (None, 3));
    }

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
