//! Running an action end to end: prompt, model, reply, edits.
//!
//! Actions are long generations (hundreds of tokens) and completions must
//! not wait behind them, so the reply is generated as an engine *background*
//! job: any completion that arrives preempts it, and it comes back with what
//! it wrote so far. It is then submitted again with that text appended to
//! its prompt; the engine's cache keeps the conversation, so continuing
//! costs only the new tokens.

use std::{ops::Range, time::Duration};

use hearth_grammars::Lang;
use tree_sitter::Tree;

use super::{ActionError, ActionKind, Diagnostic, Edit};
use crate::engine::{
    CancelToken, ChatTurn, EngineHandle, Job, JobError, Piece, Prompt, Sampling, StopReason,
    StopRules,
};

/// Wall-clock limit of one action's generation, counted from its first
/// generated token, summed over its preempted parts.
const TIME_BUDGET: Duration = Duration::from_secs(120);

/// Everything an action needs, taken from one version of the document.
pub struct ActionInput<'a> {
    pub kind: ActionKind,
    pub lang: Lang,
    pub source: &'a str,
    pub tree: &'a Tree,
    pub target: Range<usize>,
    pub diagnostics: &'a [Diagnostic],
    pub instruction: Option<&'a str>,
}

/// Why an action produced no edit.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Action(#[from] ActionError),
    #[error("Hearth: the model failed: {0}")]
    Engine(#[from] JobError),
}

/// The model's reply and the edits made from it.
#[derive(Debug)]
pub struct ActionResult {
    pub reply: String,
    pub edits: Vec<Edit>,
    pub generated_tokens: usize,
    /// How many times completions preempted the generation.
    pub preemptions: usize,
}

/// Runs one action: asks the model (in the background, giving way to
/// completions), extracts the code and computes the edits.
pub async fn run(
    engine: &EngineHandle,
    input: &ActionInput<'_>,
    cancel: &CancelToken,
) -> Result<ActionResult, RunError> {
    let messages = super::messages(
        input.kind,
        input.lang,
        input.source,
        input.tree,
        input.target.clone(),
        input.diagnostics,
        input.instruction,
    );
    let turns: Vec<ChatTurn> = messages
        .into_iter()
        .map(|message| ChatTurn { role: message.role.as_str(), content: message.content })
        .collect();
    let max_tokens = super::max_tokens(input.kind, input.target.len());
    let (reply, generated_tokens, preemptions) =
        generate(engine, &turns, max_tokens, cancel).await?;
    let code = super::extract_code(&reply).ok_or(ActionError::NoCode)?;
    let edits = super::edits_for(
        input.kind,
        input.lang,
        input.source,
        input.tree,
        input.target.clone(),
        &code,
    )?;
    Ok(ActionResult { reply, edits, generated_tokens, preemptions })
}

/// The assistant's reply to `turns`, continued across preemptions.
async fn generate(
    engine: &EngineHandle,
    turns: &[ChatTurn],
    max_tokens: u32,
    cancel: &CancelToken,
) -> Result<(String, usize, usize), JobError> {
    let mut written = String::new();
    let mut generated = 0usize;
    let mut preemptions = 0usize;
    let mut time_left = TIME_BUDGET;
    loop {
        let mut prompt = Prompt::default();
        prompt.push(Piece::Chat(turns.to_vec()));
        if !written.is_empty() {
            prompt.push(Piece::Text(written.clone()));
        }
        let left = u32::try_from(generated).map_or(0, |it| max_tokens.saturating_sub(it));
        let job = Job {
            prompt,
            max_tokens: left.max(1),
            time_budget: time_left,
            stop: StopRules::default(),
            sampling: Sampling::default(),
            cancel: cancel.clone(),
            stream: None,
            required_prefix: String::new(),
            banned_first: Vec::new(),
        };
        let generation = engine.background(job).await.unwrap_or(Err(JobError::Stopped))?;
        written.push_str(&generation.text);
        generated += generation.generated_tokens;
        time_left = time_left.saturating_sub(generation.decode_time);
        if generation.stop != StopReason::Preempted || generated >= max_tokens as usize {
            return Ok((written, generated, preemptions));
        }
        preemptions += 1;
        // The engine runs the work that preempted this job first; this
        // continuation queues behind it.
        tokio::task::yield_now().await;
    }
}
