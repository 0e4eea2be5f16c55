//! The inference engine: one thread that owns llama.cpp.
//!
//! Architecture invariant: this module is the only code that knows llama.cpp
//! (`llama_cpp_2` is imported in `engine/llama.rs` alone), and exactly one
//! thread, the owner, ever calls into it. The rest of the server talks to the
//! owner through an [`EngineHandle`], which sends [`Job`]s over a channel and
//! gets each answer through a oneshot. Nothing in the async runtime blocks on
//! the model.
//!
//! The owner keeps the tokens that are in the KV cache. A new prompt keeps the
//! longest common token prefix and only the new tail is evaluated, so a prompt
//! that only grew at its end (the user typed) costs its new tokens alone.

mod copy_bias;
mod gguf;
mod kv_reuse;
mod llama;
mod memory;

use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread::{self, JoinHandle},
    time::Duration,
};

pub use copy_bias::CopyBias;
pub use gguf::{GgufHeader, ModelFileError, check_model_file, parse_header};

/// What the owner thread needs to load and run a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    pub model_path: PathBuf,
    pub context_size: u32,
    /// Threads for generating tokens.
    pub threads: u32,
    /// Threads for reading prompts.
    pub batch_threads: u32,
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
    /// The text of every control token in the vocabulary (FIM markers and
    /// the like), so prompt formats can be chosen from the model itself.
    pub control_tokens: HashSet<String>,
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
    #[error(
        "a {context_size}-token context needs about {needed_mib} MiB of memory and only {available_mib} MiB is available; {}",
        smaller_context_hint(*.suggestion)
    )]
    OutOfMemory { context_size: u32, needed_mib: u64, available_mib: u64, suggestion: Option<u32> },
    #[error("the llama.cpp backend could not start: {0}")]
    Backend(String),
}

/// What to do about a context that does not fit.
fn smaller_context_hint(suggestion: Option<u32>) -> String {
    match suggestion {
        Some(context) => format!("set `model.contextSize` to {context} or less"),
        None => "close other programs or choose a smaller model".to_owned(),
    }
}

/// What the owner thread reports while it loads.
#[derive(Debug)]
pub enum EngineEvent {
    /// Loading has made progress (0.0 to 1.0).
    Loading {
        progress: f32,
    },
    Ready(ModelInfo),
    Failed(LoadError),
}

/// One piece of a prompt: plain text is tokenized as text (special-token
/// syntax in it stays text); a special piece must be a single control token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Special(&'static str),
    /// A conversation, rendered with the model's own chat template (the
    /// GGUF's `tokenizer.chat_template`), ending where the assistant's
    /// reply begins.
    Chat(Vec<ChatTurn>),
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatTurn {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    pub content: String,
}

/// A prompt as a sequence of pieces.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    pub pieces: Vec<Piece>,
    /// The indices of the pieces whose text comes before the point where
    /// generation continues, in reading order (for a FIM prompt: other
    /// files, the file's prefix, what was typed since). Greedy decoding
    /// leans toward repeating runs of it ([`copy_bias`]).
    pub before_cursor: Vec<usize>,
}

impl Prompt {
    pub fn push(&mut self, piece: Piece) {
        self.pieces.push(piece);
    }

    /// Pushes a piece of the text before the cursor.
    pub fn push_before_cursor(&mut self, piece: Piece) {
        self.before_cursor.push(self.pieces.len());
        self.pieces.push(piece);
    }

    /// The prompt as one string, for logs and tests.
    pub fn render(&self) -> String {
        self.pieces
            .iter()
            .map(|it| match it {
                Piece::Text(text) => text.clone(),
                Piece::Special(marker) => (*marker).to_owned(),
                Piece::Chat(turns) => {
                    turns.iter().map(|turn| format!("[{}] {}\n", turn.role, turn.content)).collect()
                }
            })
            .collect()
    }
}

/// When to stop generating, besides end-of-generation tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StopRules {
    /// Stop at the first newline (single-line suggestions).
    pub at_newline: bool,
    /// Stop after this many lines.
    pub max_lines: Option<usize>,
    /// Stop where any of these strings appears (it is not included).
    pub strings: Vec<String>,
}

/// How the next token is chosen. Temperature 0 (the default) is greedy
/// decoding: repeatable, which the tests and benchmarks rely on.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct Sampling {
    /// 0 is greedy decoding; higher values make choices more varied.
    #[schemars(range(min = 0.0, max = 5.0))]
    pub temperature: f32,
    /// With a temperature above 0: choose among this many likeliest tokens.
    #[schemars(range(min = 1))]
    pub top_k: i32,
    /// With a temperature above 0: choose among the likeliest tokens that make up this share.
    #[schemars(range(max = 1.0), extend("exclusiveMinimum" = 0.0))]
    pub top_p: f32,
    /// With a temperature above 0: the random seed.
    pub seed: u32,
    /// With temperature 0: near ties go to the token that continues a run of
    /// the text before the cursor, since code repeats its own spellings.
    pub copy_bias: CopyBias,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 0.0,
            top_k: 40,
            top_p: 0.95,
            seed: 0,
            copy_bias: CopyBias::default(),
        }
    }
}

/// A shared flag that cancels a job between decode steps.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Cancels a token when dropped: held by a request's future, so a request
/// the client cancels (its future dropped) stops its job.
pub struct CancelOnDrop(pub CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// One generation request.
#[derive(Clone, Debug)]
pub struct Job {
    pub prompt: Prompt,
    pub max_tokens: u32,
    /// Wall-clock limit for generating, counted from the first generated
    /// token: prefill is bounded by the prompt's size, and counting it here
    /// would make the suggestion depend on how busy the machine is.
    pub time_budget: Duration,
    pub stop: StopRules,
    pub sampling: Sampling,
    pub cancel: CancelToken,
    /// Receives the text as it is generated, piece by piece, so a caller can
    /// show or judge it before the job ends.
    pub stream: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    /// Text the generation must begin with (token healing): the caller took
    /// the end of a half-typed word out of the prompt, and the first tokens
    /// are chosen, best first, among those that spell it. The generated text
    /// includes it.
    pub required_prefix: String,
    /// Tokens the generation may not begin with: the first tokens of earlier
    /// tries at the same prompt whose output the caller refused, so that
    /// this try offers the model's next choice.
    pub banned_first: Vec<TokenId>,
}

/// A token of the loaded model's vocabulary, as [`Generation::first_token`]
/// reports it; its number means nothing outside the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenId(pub i32);

/// Why generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    EndOfGeneration,
    StopRule,
    MaxTokens,
    TimeBudget,
    /// A background job gave way to newer work; the caller may continue it
    /// by submitting it again with the text so far appended to its prompt.
    Preempted,
}

/// The answer to a [`Job`], with the figures benchmarks and logs need.
#[derive(Clone, Debug)]
pub struct Generation {
    pub text: String,
    pub stop: StopReason,
    pub prompt_tokens: usize,
    /// Prompt tokens found in the KV cache and not evaluated again.
    pub reused_tokens: usize,
    pub generated_tokens: usize,
    /// The token this generation chose first (the end-of-generation token
    /// included); `None` when it chose none.
    pub first_token: Option<TokenId>,
    pub prefill_time: Duration,
    pub decode_time: Duration,
}

/// Why a job produced no generation.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum JobError {
    #[error("the request was cancelled")]
    Cancelled,
    #[error(
        "the prompt has {tokens} tokens; with {reserve} to generate it does not fit the {context}-token context"
    )]
    PromptTooLong { tokens: usize, reserve: usize, context: usize },
    #[error("the model has no control token {0:?}")]
    UnknownSpecial(String),
    #[error("the model has no usable chat template: {0}")]
    ChatTemplate(String),
    #[error("llama.cpp failed while evaluating: {0}")]
    Decode(String),
    #[error("the engine has stopped")]
    Stopped,
}

type Reply = tokio::sync::oneshot::Sender<Result<Generation, JobError>>;

enum Command {
    Generate(Box<Job>, Reply),
    /// Run a job in the spare cache slot while idle; any newer command
    /// interrupts it.
    Speculate(Box<Job>, Reply),
    /// Run a long job (a code action) in the spare slot; newer commands
    /// preempt it, and it ends with what it wrote so far.
    Background(Box<Job>, Reply),
    Shutdown,
}

/// A cloneable handle for sending jobs to the owner thread.
#[derive(Clone)]
pub struct EngineHandle {
    commands: mpsc::Sender<Command>,
}

impl EngineHandle {
    /// Queues a job; the answer arrives on the returned receiver. Jobs run one
    /// at a time in arrival order: keeping the queue short is the caller's
    /// business (see `completion::scheduler`).
    pub fn submit(&self, job: Job) -> tokio::sync::oneshot::Receiver<Result<Generation, JobError>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if let Err(mpsc::SendError(Command::Generate(_, reply))) =
            self.commands.send(Command::Generate(Box::new(job), reply))
        {
            let _ = reply.send(Err(JobError::Stopped));
        }
        answer
    }

    /// Runs a job for a request that has not been made yet (the state after
    /// the user accepts a suggestion), in the spare cache slot and only while
    /// the engine has nothing else to do: any newer command interrupts it,
    /// and it then ends as [`JobError::Cancelled`]. The prompt's tokens stay
    /// in the spare slot, so the real request later costs only what differs.
    pub fn speculate(
        &self,
        job: Job,
    ) -> tokio::sync::oneshot::Receiver<Result<Generation, JobError>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if let Err(mpsc::SendError(Command::Speculate(_, reply))) =
            self.commands.send(Command::Speculate(Box::new(job), reply))
        {
            let _ = reply.send(Err(JobError::Stopped));
        }
        answer
    }

    /// Runs a long job that must not hold up completions: in the spare cache
    /// slot, giving way to any newer command. A job that gave way ends with
    /// [`StopReason::Preempted`] and the text it wrote; the caller continues
    /// it by submitting it again with that text appended to the prompt, and
    /// the engine's cache makes the repeated part cheap.
    pub fn background(
        &self,
        job: Job,
    ) -> tokio::sync::oneshot::Receiver<Result<Generation, JobError>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if let Err(mpsc::SendError(Command::Background(_, reply))) =
            self.commands.send(Command::Background(Box::new(job), reply))
        {
            let _ = reply.send(Err(JobError::Stopped));
        }
        answer
    }

    /// Runs a job and waits for it; for the command line and benchmarks.
    pub fn run_blocking(&self, job: Job) -> Result<Generation, JobError> {
        self.submit(job).blocking_recv().unwrap_or(Err(JobError::Stopped))
    }
}

/// The owner thread. Dropping it asks the thread to stop after its current
/// job; [`Engine::shutdown`] also waits, so the model's memory is free on return.
pub struct Engine {
    handle: EngineHandle,
    owner: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts the owner thread, which loads the model and reports through
    /// `on_event`. Returns at once: loading happens on the owner thread.
    pub fn start(
        config: EngineConfig,
        on_event: impl FnMut(EngineEvent) + Send + 'static,
    ) -> std::io::Result<Engine> {
        let (commands, inbox) = mpsc::channel();
        let owner = thread::Builder::new().name("hearth-engine".to_owned()).spawn(move || {
            lower_priority();
            llama::run_owner(&config, &inbox, on_event);
        })?;
        Ok(Engine { handle: EngineHandle { commands }, owner: Some(owner) })
    }

    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// Stops the owner thread and waits for it. Blocking: call it off the
    /// async runtime.
    pub fn shutdown(mut self) {
        let _ = self.handle.commands.send(Command::Shutdown);
        if let Some(owner) = self.owner.take()
            && owner.join().is_err()
        {
            tracing::error!("the engine thread panicked while stopping");
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Detach rather than block whoever drops the handle.
        let _ = self.handle.commands.send(Command::Shutdown);
    }
}

/// Lowers the calling thread's priority, and so that of the threads it
/// starts (llama.cpp's workers inherit it), below everything else's.
///
/// The model can use every core for seconds on end. At a lower priority it
/// still gets every cycle nobody else wants, but the editor, a compiler and
/// Hearth's own protocol threads run first whenever they have something to
/// do: an edit is applied within its millisecond even while a prompt is
/// read on all cores.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        /// How much lower than the editor's the model's threads run.
        const NICENESS: i32 = 10;
        // SAFETY: `gettid` has no preconditions; `setpriority` with
        // `PRIO_PROCESS` and a thread id changes that thread alone on Linux.
        let result = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICENESS)
        };
        if result != 0 {
            tracing::debug!(
                "could not lower the engine's priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Applies stop rules to the text generated so far. Returns the length to
/// keep when a rule fires.
pub fn apply_stop_rules(text: &str, rules: &StopRules) -> Option<usize> {
    let mut cut: Option<usize> = None;
    let mut consider = |at: usize| cut = Some(cut.map_or(at, |it| it.min(at)));
    if rules.at_newline
        && let Some(at) = text.find('\n')
    {
        consider(at);
    }
    if let Some(max) = rules.max_lines
        && let Some((at, _)) = text.match_indices('\n').nth(max.saturating_sub(1))
    {
        consider(at);
    }
    for stop in &rules.strings {
        if let Some(at) = text.find(stop.as_str()) {
            consider(at);
        }
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_rules_cut_at_the_earliest_match() {
        let rules = StopRules { at_newline: true, max_lines: None, strings: vec!["<|".into()] };
        assert_eq!(apply_stop_rules("abc", &rules), None);
        assert_eq!(apply_stop_rules("ab\ncd", &rules), Some(2));
        assert_eq!(apply_stop_rules("a<|x\n", &rules), Some(1));
        let lines = StopRules { max_lines: Some(2), ..StopRules::default() };
        assert_eq!(apply_stop_rules("a\nb\nc", &lines), Some(3));
        assert_eq!(apply_stop_rules("a\nb", &lines), None);
    }
}
