//! The owner thread's body: the only code that calls llama.cpp.

use std::{
    collections::HashSet,
    num::NonZeroU32,
    sync::{OnceLock, mpsc},
    time::{Duration, Instant},
};

use llama_cpp_2::{
    context::{LlamaContext, params::LlamaContextParams},
    llama_backend::LlamaBackend,
    llama_batch::LlamaBatch,
    model::{LlamaChatMessage, LlamaModel, params::LlamaModelParams},
    sampling::LlamaSampler,
    token::{LlamaToken, logit_bias::LlamaLogitBias},
};

use super::{
    Command, EngineConfig, EngineEvent, Generation, Job, JobError, LoadError, ModelInfo, Piece,
    StopReason, TokenId, apply_stop_rules, check_model_file,
    copy_bias::TokenKind,
    kv_reuse::reusable_prefix,
    memory::{self, ContextShape},
};

/// llama.cpp's backend may be initialised once per process; reloading a model
/// after a settings change reuses it.
static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();

fn backend() -> Result<&'static LlamaBackend, LoadError> {
    BACKEND
        .get_or_init(|| {
            // Route llama.cpp's and ggml's own logging into `tracing` (stderr)
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
    let (model, mut info) = match load(config, &mut on_event) {
        Ok(it) => it,
        Err(err) => {
            on_event(EngineEvent::Failed(err));
            return refuse_jobs(inbox);
        }
    };
    let threads = i32::try_from(config.threads).unwrap_or(1);
    let batch_threads = i32::try_from(config.batch_threads).unwrap_or(1);
    // Past the length it was trained on a model's attention degrades into
    // noise, and the cache grows for nothing.
    let context_size = match info.training_context {
        0 => config.context_size,
        trained => config.context_size.min(trained),
    };
    if context_size < config.context_size {
        tracing::warn!(
            "model.contextSize {} is more than {} was trained for; using {context_size}",
            config.context_size,
            info.description
        );
    }
    if let Err(err) = check_context_memory(&model, context_size, config.batch_size) {
        on_event(EngineEvent::Failed(err));
        return refuse_jobs(inbox);
    }
    let context_params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(context_size))
        .with_n_batch(config.batch_size)
        .with_n_ubatch(config.batch_size)
        .with_n_threads(threads)
        .with_n_threads_batch(batch_threads)
        // Two sequences (see `Session`) sharing one cache, so a pre-warmed
        // prompt can share its prefix cells with the active one.
        .with_n_seq_max(2)
        .with_kv_unified(true);
    let Ok(backend) = backend() else { return refuse_jobs(inbox) };
    let context = match model.new_context(backend, context_params) {
        Ok(context) => context,
        Err(err) => {
            tracing::error!("creating the llama.cpp context failed: {err}");
            on_event(EngineEvent::Failed(LoadError::Context {
                path: config.model_path.clone(),
                context_size,
            }));
            return refuse_jobs(inbox);
        }
    };
    info.context_size = context.n_ctx();
    info.load_time = started.elapsed();
    tracing::info!(
        "model ready: {} ({} bytes, context {} tokens, {} threads, {} for prompts) in {:?}",
        info.description,
        info.file_size,
        info.context_size,
        threads,
        batch_threads,
        info.load_time
    );
    on_event(EngineEvent::Ready(info));

    let mut session = Session::new(&model, context, config.batch_size as usize);
    // A command that arrived while pre-warming, to handle next.
    let mut stashed: Option<Command> = None;
    loop {
        let command = match stashed.take() {
            Some(command) => command,
            None => match inbox.recv() {
                Ok(command) => command,
                Err(_) => break,
            },
        };
        match command {
            Command::Speculate(job, reply) => {
                // Speculation is for idle time only: newer work wins.
                if let Ok(next) = inbox.try_recv() {
                    stashed = Some(next);
                    let _ = reply.send(Err(JobError::Cancelled));
                    continue;
                }
                let mut interrupted = || {
                    if job.cancel.is_cancelled() || reply.is_closed() {
                        return true;
                    }
                    match inbox.try_recv() {
                        Ok(next) => {
                            stashed = Some(next);
                            true
                        }
                        Err(_) => false,
                    }
                };
                let result = if session.prewarm(&job.prompt, &mut interrupted) {
                    session.generate(&job, Slot::Spare, &mut || Check::cancel_if(interrupted()))
                } else {
                    Err(JobError::Cancelled)
                };
                let _ = reply.send(result);
            }
            Command::Background(job, reply) => {
                if job.cancel.is_cancelled() || reply.is_closed() {
                    let _ = reply.send(Err(JobError::Cancelled));
                    continue;
                }
                // Newer work goes first; this job then comes back with what
                // it wrote so far.
                let mut check = || {
                    if job.cancel.is_cancelled() || reply.is_closed() {
                        return Check::Cancel;
                    }
                    match inbox.try_recv() {
                        Ok(next) => {
                            stashed = Some(next);
                            Check::Yield
                        }
                        Err(_) => Check::Continue,
                    }
                };
                // The prompt is read in small chunks first, so newer work
                // waits for one chunk at most, not for a whole batch.
                let mut verdict = Check::Continue;
                session.prewarm(&job.prompt, &mut || {
                    verdict = check();
                    verdict != Check::Continue
                });
                let result = match verdict {
                    Check::Continue => session.generate(&job, Slot::Spare, &mut check),
                    Check::Cancel => Err(JobError::Cancelled),
                    Check::Yield => Ok(Generation {
                        text: String::new(),
                        stop: StopReason::Preempted,
                        prompt_tokens: 0,
                        reused_tokens: 0,
                        generated_tokens: 0,
                        first_token: None,
                        prefill_time: Duration::ZERO,
                        decode_time: Duration::ZERO,
                    }),
                };
                let _ = reply.send(result);
            }
            Command::Generate(job, reply) => {
                if job.cancel.is_cancelled() || reply.is_closed() {
                    let _ = reply.send(Err(JobError::Cancelled));
                    continue;
                }
                let result = session.generate(&job, Slot::Best, &mut || {
                    Check::cancel_if(job.cancel.is_cancelled())
                });
                if let Err(err) = &result
                    && *err != JobError::Cancelled
                {
                    tracing::warn!("generation failed: {err}");
                }
                let _ = reply.send(result);
            }
            Command::Shutdown => break,
        }
    }
}

/// Answers every job with an error until shutdown, after a failed load.
fn refuse_jobs(inbox: &mpsc::Receiver<Command>) {
    while let Ok(command) = inbox.recv() {
        match command {
            Command::Generate(_, reply)
            | Command::Speculate(_, reply)
            | Command::Background(_, reply) => {
                let _ = reply.send(Err(JobError::Stopped));
            }
            Command::Shutdown => break,
        }
    }
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
        // The weights are read into memory rather than mapped: a mapped file
        // that is truncated or rewritten in place while Hearth runs (a model
        // downloaded again over the old one) kills the process with SIGBUS
        // at its next token, and a file changed in place would feed the
        // model garbage. Reading costs about 0.3 s more at load and keeps the
        // same 491 MB resident that the mapping did once the model had run.
        .with_use_mmap(false)
        .with_progress_callback(move |progress| {
            let _ = progress_tx.send(progress);
            true
        });
    let model = LlamaModel::load_from_file(backend, path, &params)
        .map_err(|_| LoadError::Model { path: path.clone() });
    drop(params);
    // The callback runs inside llama.cpp; progress is reported after the call
    // so `on_event` never runs under llama.cpp (loading takes a second or so).
    let mut last_reported = -1.0f32;
    for progress in progress_rx.try_iter() {
        if progress - last_reported >= 0.25 || progress >= 1.0 {
            on_event(EngineEvent::Loading { progress });
            last_reported = progress;
        }
    }
    let model = model?;
    let meta = |key: &str| model.meta_val_str(key).unwrap_or_default();
    let vocab = model.vocab();
    let control_tokens: HashSet<String> = (0..vocab.n_tokens())
        .map(LlamaToken)
        .filter(|token| vocab.is_control(*token))
        .filter_map(|token| vocab.text(token).and_then(|it| it.to_str().ok()).map(str::to_owned))
        .collect();
    let info = ModelInfo {
        path: path.clone(),
        description: meta("general.name"),
        architecture: meta("general.architecture"),
        file_size: std::fs::metadata(path).map(|it| it.len()).unwrap_or_default(),
        context_size: 0,
        training_context: model.n_ctx_train(),
        load_time: Duration::ZERO,
        control_tokens,
    };
    Ok((model, info))
}

/// Refuses a context that would not fit in memory (see `engine::memory`),
/// before llama.cpp allocates it.
fn check_context_memory(
    model: &LlamaModel,
    context_size: u32,
    batch_size: u32,
) -> Result<(), LoadError> {
    let heads = u64::from(model.n_head().max(1));
    let shape = ContextShape {
        layers: u64::from(model.n_layer()),
        kv_heads: u64::from(model.n_head_kv()),
        head_dim: u64::try_from(model.n_embd()).unwrap_or_default() / heads,
        vocab: u64::try_from(model.vocab().n_tokens()).unwrap_or_default(),
        batch: u64::from(batch_size.min(context_size)),
    };
    let needed = shape.context_bytes(context_size);
    let Some(available) = memory::available_bytes() else { return Ok(()) };
    tracing::debug!("a {context_size}-token context needs {needed} bytes; {available} available");
    if needed <= available {
        return Ok(());
    }
    Err(LoadError::OutOfMemory {
        context_size,
        needed_mib: needed >> 20,
        available_mib: available >> 20,
        suggestion: shape.suggested_context(available),
    })
}

/// The long-lived context and what its KV cache holds.
///
/// The cache holds two sequences (slots). The active slot holds the prompt of
/// the last completion; the other holds a pre-warmed prompt for where the user
/// is likely to go next (the line after an accepted suggestion). A job runs in
/// whichever slot shares the longer prefix with its prompt, so pre-warming
/// never costs the user the cache they are typing against.
struct Session<'m> {
    model: &'m LlamaModel,
    context: LlamaContext<'m>,
    slots: [Vec<LlamaToken>; 2],
    active: usize,
    /// Every token's text, for constrained (healing) steps and the copy
    /// bias; built on first use.
    pieces: Vec<Vec<u8>>,
    batch: LlamaBatch<'static>,
    batch_size: usize,
}

/// What a running job should do next, asked between batches and tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    Continue,
    Cancel,
    /// Stop and return what was written so far (background jobs).
    Yield,
}

impl Check {
    fn cancel_if(cancelled: bool) -> Check {
        if cancelled { Check::Cancel } else { Check::Continue }
    }
}

/// Which cache slot a job runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// The one that shares the longer prefix with the prompt.
    Best,
    /// The one the last real request did not use.
    Spare,
}

/// Tokens evaluated between checks for newer work while pre-warming, so a
/// real request waits at most this many tokens' worth of prefill.
const PREWARM_CHUNK: usize = 32;

impl<'m> Session<'m> {
    fn new(model: &'m LlamaModel, context: LlamaContext<'m>, batch_size: usize) -> Session<'m> {
        let batch_size = batch_size.max(1);
        Session {
            model,
            context,
            slots: [Vec::new(), Vec::new()],
            active: 0,
            pieces: Vec::new(),
            batch: LlamaBatch::new(batch_size, 2),
            batch_size,
        }
    }

    fn tokenize(&self, prompt: &super::Prompt) -> Result<Vec<LlamaToken>, JobError> {
        Ok(self.tokenize_pieces(prompt)?.concat())
    }

    /// The tokens of each piece of `prompt`.
    fn tokenize_pieces(&self, prompt: &super::Prompt) -> Result<Vec<Vec<LlamaToken>>, JobError> {
        let model = self.model;
        let vocab = model.vocab();
        let mut pieces = Vec::with_capacity(prompt.pieces.len());
        for piece in &prompt.pieces {
            pieces.push(match piece {
                Piece::Text(text) => vocab.tokenize(text.as_bytes(), false, false),
                Piece::Chat(turns) => self.render_chat(turns)?,
                Piece::Special(marker) => {
                    match vocab.tokenize(marker.as_bytes(), false, true)[..] {
                        [token] if vocab.is_control(token) => vec![token],
                        _ => return Err(JobError::UnknownSpecial((*marker).to_owned())),
                    }
                }
            });
        }
        Ok(pieces)
    }

    /// A conversation in the model's chat template, up to the start of the
    /// assistant's reply, as tokens. The template's markers are control
    /// tokens; the messages' own text is tokenized as text.
    fn render_chat(&self, turns: &[super::ChatTurn]) -> Result<Vec<LlamaToken>, JobError> {
        let template = self
            .model
            .chat_template(None)
            .map_err(|err| JobError::ChatTemplate(err.to_string()))?;
        // Each message's text is replaced by a placeholder for rendering, so
        // that text which looks like a marker stays text.
        let placeholder = |i: usize| format!("\u{1}HEARTH-MESSAGE-{i}\u{1}");
        let messages = turns
            .iter()
            .enumerate()
            .map(|(i, turn)| LlamaChatMessage::new(turn.role.to_owned(), placeholder(i)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| JobError::ChatTemplate(err.to_string()))?;
        let rendered = self
            .model
            .apply_chat_template(&template, &messages, true)
            .map_err(|err| JobError::ChatTemplate(err.to_string()))?;
        let vocab = self.model.vocab();
        let mut tokens = Vec::new();
        let mut rest = rendered.as_str();
        for (i, turn) in turns.iter().enumerate() {
            let marker = placeholder(i);
            let Some((frame, after)) = rest.split_once(marker.as_str()) else {
                return Err(JobError::ChatTemplate("the template dropped a message".to_owned()));
            };
            tokens.extend(vocab.tokenize(frame.as_bytes(), false, true));
            tokens.extend(vocab.tokenize(turn.content.as_bytes(), false, false));
            rest = after;
        }
        tokens.extend(vocab.tokenize(rest.as_bytes(), false, true));
        Ok(tokens)
    }

    fn generate(
        &mut self,
        job: &Job,
        choice: Slot,
        check: &mut dyn FnMut() -> Check,
    ) -> Result<Generation, JobError> {
        let started = Instant::now();
        let pieces = self.tokenize_pieces(&job.prompt)?;
        // The text before the cursor, which greedy decoding leans toward
        // repeating, and the same followed by what is generated.
        let before_cursor: Vec<i32> = job
            .prompt
            .before_cursor
            .iter()
            .filter_map(|&i| pieces.get(i))
            .flatten()
            .map(|it| it.0)
            .collect();
        let mut history = before_cursor.clone();
        let prompt = pieces.concat();
        let context_len = self.context.n_ctx() as usize;
        let reserve = job.max_tokens as usize;
        if prompt.is_empty() || prompt.len() + reserve > context_len {
            return Err(JobError::PromptTooLong {
                tokens: prompt.len(),
                reserve,
                context: context_len,
            });
        }

        let reuse = |slot: usize| reusable_prefix(&self.slots[slot], &prompt);
        let spare = 1 - self.active;
        let slot = match choice {
            Slot::Best if reuse(spare) > reuse(self.active) => spare,
            Slot::Best => self.active,
            Slot::Spare => spare,
        };
        // A real request makes its slot the active one; speculation leaves
        // the user's current state where it is.
        if choice == Slot::Best {
            self.active = slot;
        }
        let keep = reuse(slot);
        self.forget_from(slot, keep);
        self.make_room(slot, prompt.len() + reserve);
        // What stopped an evaluation early, to tell giving way from cancelling.
        let mut verdict = Check::Continue;
        let mut stop_early = || {
            verdict = check();
            verdict != Check::Continue
        };
        let preempted =
            |text: String, generated: usize, first_token, prefill_time, decode_time| Generation {
                text,
                stop: StopReason::Preempted,
                prompt_tokens: prompt.len(),
                reused_tokens: keep,
                generated_tokens: generated,
                first_token,
                prefill_time,
                decode_time,
            };
        match self.evaluate(slot, &prompt[keep..], &mut stop_early) {
            Err(JobError::Cancelled) if verdict == Check::Yield => {
                return Ok(preempted(String::new(), 0, None, started.elapsed(), Duration::ZERO));
            }
            result => result?,
        }
        let prefill_time = started.elapsed();

        let model = self.model;
        let vocab = model.vocab();
        let sampling = &job.sampling;
        let mut sampler = make_sampler(sampling);
        let greedy_with_bias = sampling.temperature <= 0.0
            && !sampling.copy_bias.is_off()
            && !before_cursor.is_empty();
        let mut first_token = None;
        let mut bytes = Vec::new();
        let mut text = String::new();
        let mut generated = 0usize;
        let decode_started = Instant::now();
        let stop = loop {
            match check() {
                Check::Continue => {}
                Check::Cancel => return Err(JobError::Cancelled),
                Check::Yield => {
                    let decode_time = decode_started.elapsed();
                    return Ok(preempted(text, generated, first_token, prefill_time, decode_time));
                }
            }
            let logits_at = self.batch.n_tokens() - 1;
            let written = text.len() + bytes.len();
            // Only the first choice can be banned: the later ones follow it.
            let banned: &[TokenId] = if first_token.is_none() { &job.banned_first } else { &[] };
            let token = if written < job.required_prefix.len() {
                let mut have = text.as_bytes().to_vec();
                have.extend_from_slice(&bytes);
                let healing =
                    self.healing_token(job.required_prefix.as_bytes(), &have, banned, logits_at);
                match healing {
                    Some(token) => token,
                    None => break StopReason::EndOfGeneration,
                }
            } else if banned.is_empty() && greedy_with_bias {
                self.ensure_pieces();
                let logits = self.context.get_logits_ith(logits_at);
                let pieces = &self.pieces;
                // Control tokens have no piece: they end the generation.
                let kind_of = |id: i32| match usize::try_from(id).ok().and_then(|id| pieces.get(id))
                {
                    Some(piece) if piece.contains(&b'\n') => TokenKind::LineEnd,
                    Some(piece) if !piece.is_empty() => TokenKind::Inline,
                    _ => TokenKind::End,
                };
                match sampling.copy_bias.choose(logits, &before_cursor, &history, &kind_of) {
                    Some(choice) => {
                        if choice.chosen != choice.best {
                            let piece = |id| {
                                let bytes = vocab.token_to_piece(LlamaToken(id), false, None);
                                String::from_utf8_lossy(&bytes).into_owned()
                            };
                            tracing::debug!(
                                model = piece(choice.best),
                                chosen = piece(choice.chosen),
                                run = choice.run,
                                "copy bias"
                            );
                        }
                        LlamaToken(choice.chosen)
                    }
                    None => sampler.sample(&self.context, logits_at),
                }
            } else if banned.is_empty() {
                sampler.sample(&self.context, logits_at)
            } else {
                // A sampler of the same kind, behind a bias that rules the
                // banned tokens out, for this one choice.
                let biases: Vec<_> = banned
                    .iter()
                    .map(|it| LlamaLogitBias::new(LlamaToken(it.0), f32::NEG_INFINITY))
                    .collect();
                let mut once = LlamaSampler::chain_simple([
                    LlamaSampler::logit_bias(vocab.n_tokens(), &biases),
                    make_sampler(sampling),
                ]);
                once.sample(&self.context, logits_at)
            };
            first_token.get_or_insert(TokenId(token.0));
            if vocab.is_eog(token) || vocab.is_control(token) {
                break StopReason::EndOfGeneration;
            }
            generated += 1;
            history.push(token.0);
            bytes.extend(vocab.token_to_piece(token, false, None));
            // A multi-byte character may be split across tokens: only the
            // complete part is text yet.
            let valid = match std::str::from_utf8(&bytes) {
                Ok(_) => bytes.len(),
                Err(err) => err.valid_up_to(),
            };
            let piece = std::str::from_utf8(&bytes[..valid]).unwrap_or_default().to_owned();
            bytes.drain(..valid);
            let before = text.len();
            text.push_str(&piece);
            if let Some(cut) = apply_stop_rules(&text, &job.stop) {
                text.truncate(cut);
                if let Some(stream) = &job.stream
                    && cut > before
                {
                    let _ = stream.send(text[before..].to_owned());
                }
                break StopReason::StopRule;
            }
            if let Some(stream) = &job.stream
                && !piece.is_empty()
            {
                let _ = stream.send(piece);
            }
            if generated >= reserve {
                break StopReason::MaxTokens;
            }
            if decode_started.elapsed() >= job.time_budget {
                break StopReason::TimeBudget;
            }
            // One token is one batch: the check above covers it.
            self.evaluate(slot, &[token], &mut || false)?;
        };
        Ok(Generation {
            text,
            stop,
            prompt_tokens: prompt.len(),
            reused_tokens: keep,
            generated_tokens: generated,
            first_token,
            prefill_time,
            decode_time: decode_started.elapsed(),
        })
    }

    /// Fills [`Session::pieces`] on first use.
    fn ensure_pieces(&mut self) {
        if self.pieces.is_empty() {
            let model = self.model;
            let vocab = model.vocab();
            self.pieces = (0..vocab.n_tokens())
                .map(|id| {
                    let token = LlamaToken(id);
                    if vocab.is_control(token) {
                        Vec::new()
                    } else {
                        vocab.token_to_piece(token, false, None)
                    }
                })
                .collect();
        }
    }

    /// The most likely token that keeps the output consistent with the
    /// required prefix: its text continues what is written so far and either
    /// covers the rest of the prefix or is part of it.
    fn healing_token(
        &mut self,
        required: &[u8],
        written: &[u8],
        banned: &[TokenId],
        logits_at: i32,
    ) -> Option<LlamaToken> {
        if !required.starts_with(written) {
            return None;
        }
        let rest = &required[written.len()..];
        self.ensure_pieces();
        let logits = self.context.get_logits_ith(logits_at);
        self.pieces
            .iter()
            .zip(logits)
            .enumerate()
            .filter(|(id, (piece, _))| {
                !piece.is_empty()
                    && (piece.starts_with(rest) || rest.starts_with(piece))
                    && !banned.iter().any(|it| usize::try_from(it.0) == Ok(*id))
            })
            .max_by(|a, b| a.1.1.total_cmp(b.1.1))
            .and_then(|(id, _)| i32::try_from(id).ok())
            .map(LlamaToken)
    }

    /// Evaluates `prompt` into the inactive slot, starting from whatever
    /// either slot already shares with it, until done or `interrupted`.
    /// Returns whether all but its last token are in the slot.
    fn prewarm(&mut self, prompt: &super::Prompt, interrupted: &mut dyn FnMut() -> bool) -> bool {
        let Ok(tokens) = self.tokenize(prompt) else { return false };
        let context_len = self.context.n_ctx() as usize;
        // Two slots of this size would not fit the cache side by side.
        if tokens.is_empty() || tokens.len() >= context_len / 2 {
            return false;
        }
        let target = 1 - self.active;
        let from_active = reusable_prefix(&self.slots[self.active], &tokens);
        let from_target = reusable_prefix(&self.slots[target], &tokens);
        if from_active > from_target {
            // Share the active slot's cells for the common prefix: a copy
            // of sequence ids, not of data, in a unified cache.
            self.forget_from(target, 0);
            let len = u32::try_from(from_active).unwrap_or(u32::MAX);
            if self
                .context
                .copy_kv_cache_seq(seq(self.active), seq(target), Some(0), Some(len))
                .is_err()
            {
                return false;
            }
            self.slots[target] = self.slots[self.active][..from_active].to_vec();
        } else {
            self.forget_from(target, from_target);
        }
        let keep = self.slots[target].len();
        if keep >= tokens.len() - 1 {
            return true;
        }
        // Leave the last token for the job that comes: it needs its logits.
        let tail = &tokens[keep..tokens.len() - 1];
        for chunk in tail.chunks(PREWARM_CHUNK) {
            if interrupted() || self.evaluate(target, chunk, &mut || false).is_err() {
                return false;
            }
        }
        tracing::debug!("pre-warmed {} tokens ({} were cached)", tokens.len() - 1, keep);
        true
    }

    /// Drops the slot's cached tokens from position `keep` on.
    fn forget_from(&mut self, slot: usize, keep: usize) {
        if keep >= self.slots[slot].len() {
            return;
        }
        let from = u32::try_from(keep).unwrap_or(u32::MAX);
        let id = u32::try_from(seq(slot)).unwrap_or_default();
        match self.context.clear_kv_cache_seq(Some(id), Some(from), None) {
            Ok(true) => self.slots[slot].truncate(keep),
            _ => {
                // A partial removal failed: drop the whole sequence.
                let _ = self.context.clear_kv_cache_seq(Some(id), None, None);
                self.slots[slot].clear();
            }
        }
    }

    /// Frees the other slot when both together would not fit the context.
    fn make_room(&mut self, slot: usize, needed: usize) {
        let other = 1 - slot;
        let shared =
            self.slots[slot].iter().zip(&self.slots[other]).take_while(|(a, b)| a == b).count();
        let used = self.slots[slot].len().max(needed) + self.slots[other].len() - shared;
        if used > self.context.n_ctx() as usize {
            self.forget_from(other, 0);
        }
    }

    /// Evaluates `tokens` after the slot's cached ones, in batches, checking
    /// `cancelled` between batches. The logits of the last token are kept.
    fn evaluate(
        &mut self,
        slot: usize,
        tokens: &[LlamaToken],
        cancelled: &mut dyn FnMut() -> bool,
    ) -> Result<(), JobError> {
        let chunks = tokens.chunks(self.batch_size);
        let n_chunks = chunks.len();
        for (i, chunk) in chunks.enumerate() {
            if i > 0 && cancelled() {
                return Err(JobError::Cancelled);
            }
            self.batch.clear();
            let last_chunk = i + 1 == n_chunks;
            for (j, token) in chunk.iter().enumerate() {
                let pos = i32::try_from(self.slots[slot].len() + j).unwrap_or(i32::MAX);
                let wants_logits = last_chunk && j + 1 == chunk.len();
                self.batch
                    .add(*token, pos, &[seq(slot)], wants_logits)
                    .map_err(|err| JobError::Decode(err.to_string()))?;
            }
            if let Err(err) = self.context.decode(&mut self.batch) {
                // The cache may hold part of the batch: forget this slot.
                self.forget_from(slot, 0);
                return Err(JobError::Decode(err.to_string()));
            }
            self.slots[slot].extend_from_slice(chunk);
        }
        Ok(())
    }
}

/// The llama.cpp sequence id of a slot.
fn seq(slot: usize) -> i32 {
    i32::try_from(slot).unwrap_or_default()
}

/// The sampler `sampling` asks for: greedy at temperature 0, else top-k,
/// top-p and temperature before a seeded draw.
fn make_sampler(sampling: &super::Sampling) -> LlamaSampler {
    if sampling.temperature <= 0.0 {
        LlamaSampler::greedy()
    } else {
        LlamaSampler::chain_simple([
            LlamaSampler::top_k(sampling.top_k),
            LlamaSampler::top_p(sampling.top_p, 1),
            LlamaSampler::temp(sampling.temperature),
            LlamaSampler::dist(sampling.seed),
        ])
    }
}
