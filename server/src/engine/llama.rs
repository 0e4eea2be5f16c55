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
    model::{LlamaModel, params::LlamaModelParams},
    sampling::LlamaSampler,
    token::LlamaToken,
};

use super::{
    Command, EngineConfig, EngineEvent, Generation, Job, JobError, LoadError, ModelInfo, Piece,
    StopReason, apply_stop_rules, check_model_file, kv_reuse::reusable_prefix,
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
    let context_params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(config.context_size))
        .with_n_batch(config.batch_size)
        .with_n_ubatch(config.batch_size)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let Ok(backend) = backend() else { return refuse_jobs(inbox) };
    let context = match model.new_context(backend, context_params) {
        Ok(context) => context,
        Err(err) => {
            tracing::error!("creating the llama.cpp context failed: {err}");
            on_event(EngineEvent::Failed(LoadError::Context {
                path: config.model_path.clone(),
                context_size: config.context_size,
            }));
            return refuse_jobs(inbox);
        }
    };
    info.context_size = context.n_ctx();
    info.load_time = started.elapsed();
    tracing::info!(
        "model ready: {} ({} bytes, context {} tokens, {} threads) in {:?}",
        info.description,
        info.file_size,
        info.context_size,
        threads,
        info.load_time
    );
    on_event(EngineEvent::Ready(info));

    let mut session = Session::new(&model, context, config.batch_size as usize);
    while let Ok(command) = inbox.recv() {
        match command {
            Command::Generate(job, reply) => {
                if job.cancel.is_cancelled() || reply.is_closed() {
                    let _ = reply.send(Err(JobError::Cancelled));
                    continue;
                }
                let result = session.generate(&job);
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
            Command::Generate(_, reply) => {
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
        .with_progress_callback(move |progress| {
            let _ = progress_tx.send(progress);
            true
        });
    let model = LlamaModel::load_from_file(backend, path, &params)
        .map_err(|_| LoadError::Model { path: path.clone() });
    drop(params);
    // The callback runs inside llama.cpp; progress is reported after the call
    // so `on_event` never runs under llama.cpp (loading is mmap-fast anyway).
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

/// The long-lived context and what its KV cache holds (sequence 0).
struct Session<'m> {
    model: &'m LlamaModel,
    context: LlamaContext<'m>,
    /// The tokens whose keys and values are in the cache, in order.
    cached: Vec<LlamaToken>,
    batch: LlamaBatch<'static>,
    batch_size: usize,
}

impl<'m> Session<'m> {
    fn new(model: &'m LlamaModel, context: LlamaContext<'m>, batch_size: usize) -> Session<'m> {
        let batch_size = batch_size.max(1);
        Session {
            model,
            context,
            cached: Vec::new(),
            batch: LlamaBatch::new(batch_size, 1),
            batch_size,
        }
    }

    fn tokenize(&self, job: &Job) -> Result<Vec<LlamaToken>, JobError> {
        let model = self.model;
        let vocab = model.vocab();
        let mut tokens = Vec::new();
        for piece in &job.prompt.pieces {
            match piece {
                Piece::Text(text) => tokens.extend(vocab.tokenize(text.as_bytes(), false, false)),
                Piece::Special(marker) => {
                    match vocab.tokenize(marker.as_bytes(), false, true)[..] {
                        [token] if vocab.is_control(token) => tokens.push(token),
                        _ => return Err(JobError::UnknownSpecial((*marker).to_owned())),
                    }
                }
            }
        }
        Ok(tokens)
    }

    fn generate(&mut self, job: &Job) -> Result<Generation, JobError> {
        let started = Instant::now();
        let prompt = self.tokenize(job)?;
        let context_len = self.context.n_ctx() as usize;
        let reserve = job.max_tokens as usize;
        if prompt.is_empty() || prompt.len() + reserve > context_len {
            return Err(JobError::PromptTooLong {
                tokens: prompt.len(),
                reserve,
                context: context_len,
            });
        }

        let keep = reusable_prefix(&self.cached, &prompt);
        self.forget_from(keep)?;
        self.evaluate(&prompt[keep..], &job.cancel)?;
        let prefill_time = started.elapsed();

        let model = self.model;
        let vocab = model.vocab();
        let sampling = &job.sampling;
        let mut sampler = if sampling.temperature <= 0.0 {
            LlamaSampler::greedy()
        } else {
            LlamaSampler::chain_simple([
                LlamaSampler::top_k(sampling.top_k),
                LlamaSampler::top_p(sampling.top_p, 1),
                LlamaSampler::temp(sampling.temperature),
                LlamaSampler::dist(sampling.seed),
            ])
        };
        let mut bytes = Vec::new();
        let mut text = String::new();
        let mut generated = 0usize;
        let decode_started = Instant::now();
        let stop = loop {
            if job.cancel.is_cancelled() {
                return Err(JobError::Cancelled);
            }
            let token = sampler.sample(&self.context, self.batch.n_tokens() - 1);
            if vocab.is_eog(token) || vocab.is_control(token) {
                break StopReason::EndOfGeneration;
            }
            generated += 1;
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
            if started.elapsed() >= job.time_budget {
                break StopReason::TimeBudget;
            }
            self.evaluate(&[token], &job.cancel)?;
        };
        Ok(Generation {
            text,
            stop,
            prompt_tokens: prompt.len(),
            reused_tokens: keep,
            generated_tokens: generated,
            prefill_time,
            decode_time: decode_started.elapsed(),
        })
    }

    /// Drops cached tokens from position `keep` on.
    fn forget_from(&mut self, keep: usize) -> Result<(), JobError> {
        if keep < self.cached.len() {
            let from = u32::try_from(keep).unwrap_or(u32::MAX);
            match self.context.clear_kv_cache_seq(Some(0), Some(from), None) {
                Ok(true) => {}
                _ => {
                    // A partial removal failed: start from an empty cache.
                    self.context.clear_kv_cache();
                    self.cached.clear();
                    return Ok(());
                }
            }
            self.cached.truncate(keep);
        }
        Ok(())
    }

    /// Evaluates `tokens` after the cached ones, in batches, checking for
    /// cancellation between batches. The logits of the last token are kept.
    fn evaluate(
        &mut self,
        tokens: &[LlamaToken],
        cancel: &super::CancelToken,
    ) -> Result<(), JobError> {
        let chunks = tokens.chunks(self.batch_size);
        let n_chunks = chunks.len();
        for (i, chunk) in chunks.enumerate() {
            if i > 0 && cancel.is_cancelled() {
                return Err(JobError::Cancelled);
            }
            self.batch.clear();
            let last_chunk = i + 1 == n_chunks;
            for (j, token) in chunk.iter().enumerate() {
                let pos = i32::try_from(self.cached.len() + j).unwrap_or(i32::MAX);
                let wants_logits = last_chunk && j + 1 == chunk.len();
                self.batch
                    .add(*token, pos, &[0], wants_logits)
                    .map_err(|err| JobError::Decode(err.to_string()))?;
            }
            if let Err(err) = self.context.decode(&mut self.batch) {
                // The cache may hold part of the batch: forget everything.
                self.context.clear_kv_cache();
                self.cached.clear();
                return Err(JobError::Decode(err.to_string()));
            }
            self.cached.extend_from_slice(chunk);
        }
        Ok(())
    }
}
