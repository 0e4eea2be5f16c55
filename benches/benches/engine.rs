//! End-to-end latency of the engine and the completion pipeline, with the real default model.
//!
//! Prints, for prompts of about 512, 1,500 and 3,000 tokens: cold completion
//! latency, warm repeat, typing one character (anchored, append-only reuse),
//! moving to a new line (re-anchor), prefill and decode rates, and compares
//! them with llama.cpp's own rates measured in the same run through
//! `llama-cpp-2` directly (no Hearth around it). Then the keystroke latency
//! with another program keeping one core busy, and the peak RSS.
//!
//! Run: `cargo bench -p hearth-benches --bench engine` (set `HEARTH_MODEL` for
//! another model). Figures on a shared machine are noisy: each is a median.
#![allow(clippy::print_stdout, reason = "a benchmark reports its figures on stdout")]

use std::{
    num::NonZeroU32,
    process::{Child, Command},
    sync::Arc,
    time::{Duration, Instant},
};

use hearth::{
    cli::load_engine,
    completion::{Completer, Completion, CompletionConfig, CompletionRequest, Trigger},
    config::Config,
    context::{ContextConfig, fim::FimFamily},
    engine::{CancelToken, Job, Piece, Prompt, Sampling, StopRules},
};
use hearth_benches::report::{cpu_model, logical_cpus};
use llama_cpp_2::{
    context::params::LlamaContextParams, llama_backend::LlamaBackend, llama_batch::LlamaBatch,
    model::LlamaModel, model::params::LlamaModelParams, sampling::LlamaSampler,
};
use ropey::Rope;

const RUNS: usize = 3;

fn main() {
    // As the `hearth` binary does: idle OpenMP threads sleep.
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        // SAFETY: first thing in main, no other thread exists yet.
        unsafe { std::env::set_var("OMP_WAIT_POLICY", "passive") };
    }
    let config = Config::default();
    let (model_path, _) = config.model.resolve_path();
    let threads = config.model.thread_count();
    let batch_threads = config.model.batch_thread_count();
    println!("# Hearth engine benchmark");
    println!("machine: {}", machine());
    println!(
        "build: {}; model: {} ({} bytes); threads: {threads} generating, {batch_threads} reading prompts; context: {}",
        if cfg!(target_feature = "avx512f") { "target-cpu with AVX-512" } else { "default (AVX2)" },
        model_path.display(),
        std::fs::metadata(&model_path).map(|it| it.len()).unwrap_or_default(),
        config.model.context_size,
    );

    let raw = raw_llama_rates(&model_path, threads, batch_threads, config.model.batch_size);
    println!(
        "\nllama.cpp through llama-cpp-2 directly: pp512 {:.1} tok/s, tg64 {:.1} tok/s (median of {RUNS})",
        raw.0, raw.1
    );

    let corpus = corpus();
    let (engine, info) = load_engine(&config).expect("the model loads");
    let fim = FimFamily::detect(&info.control_tokens).expect("a FIM model");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    println!(
        "\n| prompt tokens | cold | warm repeat | +1 char (p50 of 5) | new line (p50 of 5) | prefill tok/s | decode tok/s |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut rates = Vec::new();
    for target in [512usize, 1500, 3000] {
        // Code runs at about four bytes a token; a fifth of the window
        // follows the cursor.
        let completer =
            Completer::new(Arc::new(engine.handle()), fim, bench_config(target * 4, target));
        let mut session = Typing::new(&corpus, target * 4 + 2000);
        let complete = |session: &Typing| timed_completion(&runtime, &completer, session);

        // Cold: nothing of this prompt is cached (the previous size used
        // another window of the corpus).
        let (cold, cold_completion) = complete(&session);
        let g = cold_completion.generation.as_ref().expect("the engine ran");
        let prefill_rate =
            (g.prompt_tokens - g.reused_tokens) as f64 / g.prefill_time.as_secs_f64();
        let decode_rate = g.generated_tokens.saturating_sub(1) as f64 / g.decode_time.as_secs_f64();
        rates.push((prefill_rate, decode_rate));
        let warm = median((0..RUNS).map(|_| complete(&session).0).collect());
        let mut typed = Vec::new();
        for _ in 0..5 {
            session.type_char();
            typed.push(complete(&session).0);
        }
        let typed = median(typed);
        // New lines: re-anchoring re-reads the finished line and the suffix.
        let mut lines = Vec::new();
        for _ in 0..5 {
            session.next_line();
            session.type_char();
            let (latency, completion) = complete(&session);
            let g = completion.generation.expect("the engine ran");
            lines.push((
                latency,
                g.prefill_time,
                g.prompt_tokens - g.reused_tokens,
                g.generated_tokens,
            ));
        }
        lines.sort();
        let (latency, prefill, evaluated, generated) = lines[lines.len() / 2];
        let new_line = format!(
            "{} (prefill {evaluated} tokens: {}, {generated} generated)",
            ms(latency),
            ms(prefill)
        );
        println!(
            "| {} | {} | {} | {} | {} | {prefill_rate:.0} | {decode_rate:.1} |",
            g.prompt_tokens,
            ms(cold),
            ms(warm),
            ms(typed),
            new_line
        );
    }
    // The engine alone, as tg64 measures llama.cpp: 64 generated tokens
    // after a 512-token prompt (suggestions are too short for a rate).
    let mut decode = Vec::new();
    for run in 0..RUNS {
        let mut prompt = Prompt::default();
        let start = run * 3000;
        prompt.push(Piece::Text(corpus[start..start + 2200].to_owned()));
        let job = Job {
            prompt,
            max_tokens: 64,
            time_budget: Duration::from_secs(60),
            stop: StopRules::default(),
            sampling: Sampling::default(),
            cancel: CancelToken::new(),
            stream: None,
            required_prefix: String::new(),
            banned_first: Vec::new(),
        };
        let g = engine.handle().run_blocking(job).expect("a generation");
        decode.push(g.generated_tokens.saturating_sub(1) as f64 / g.decode_time.as_secs_f64());
    }
    let engine_decode = median_f(decode);
    let best_prefill = rates.iter().map(|it| it.0).fold(0.0, f64::max);
    println!(
        "\nHearth's engine: 64 tokens at {engine_decode:.1} tok/s. Hearth / raw llama.cpp: prefill {:.2}x (best cold rate above), decode {:.2}x",
        best_prefill / raw.0,
        engine_decode / raw.1
    );

    // Contention: another program keeps one core busy, as a compiler does.
    // Both phases replay the same keystrokes from the same state, so greedy
    // decoding writes the same suggestions and only the machine differs.
    let completer = Completer::new(Arc::new(engine.handle()), fim, bench_config(4000, 1000));
    let keystrokes = |session: &mut Typing| -> Duration {
        let mut times = Vec::new();
        for i in 0..6 {
            session.type_char();
            let (latency, _) = timed_completion(&runtime, &completer, session);
            // The first keystroke of a phase re-reads the line: not timed.
            if i > 0 {
                times.push(latency);
            }
        }
        median(times)
    };
    let idle = keystrokes(&mut Typing::new(&corpus, 9000));
    let mut hog = BusyCore::start();
    let contended = keystrokes(&mut Typing::new(&corpus, 9000));
    hog.stop();
    println!(
        "\nkeystroke at ~1.5k tokens, same 5 keystrokes: idle p50 {}, with one core busy p50 {} ({:.2}x)",
        ms(idle),
        ms(contended),
        contended.as_secs_f64() / idle.as_secs_f64(),
    );
    drop(completer);
    engine.shutdown();
    println!(
        "peak RSS: {} MB (model file {} MB)",
        peak_rss_kb() / 1024,
        info.file_size / 1_000_000
    );
}

/// Limits for measuring the engine: short single-line suggestions, no time
/// limit, and no suggestion cache (every figure is a model call).
fn bench_config(prefix_bytes: usize, suffix_bytes: usize) -> CompletionConfig {
    CompletionConfig {
        context: ContextConfig { prefix_bytes, suffix_bytes },
        max_tokens_line: 24,
        time_budget: Duration::from_secs(30),
        use_cache: false,
        ..CompletionConfig::default()
    }
}

/// One completion at the typist's cursor, timed.
fn timed_completion(
    runtime: &tokio::runtime::Runtime,
    completer: &Completer,
    session: &Typing<'_>,
) -> (Duration, Completion) {
    let text = Rope::from_str(&session.document());
    let request = CompletionRequest {
        key: "bench",
        text: &text,
        cursor: session.cursor(),
        path: "src/bench.rs",
        repo_name: "hearth",
        lang: Some(hearth_grammars::Lang::Rust),
        tree: None,
        other_files: &[],
        trigger: Trigger::Automatic,
    };
    let started = Instant::now();
    let completion = runtime.block_on(completer.complete(&request)).expect("a completion");
    (started.elapsed(), completion)
}

/// A user writing the corpus line by line: the document holds everything
/// before the cursor on the current line and everything after the line.
struct Typing<'a> {
    corpus: &'a str,
    line_start: usize,
    typed: usize,
}

impl<'a> Typing<'a> {
    /// Starts on a non-blank line at least `offset` bytes into the corpus,
    /// after the line's indentation and first few characters.
    fn new(corpus: &'a str, offset: usize) -> Typing<'a> {
        let mut line_start = corpus[..offset.min(corpus.len())].rfind('\n').map_or(0, |it| it + 1);
        while Typing::line(corpus, line_start).trim().len() < 20 {
            line_start += Typing::line(corpus, line_start).len() + 1;
        }
        let line = Typing::line(corpus, line_start);
        let indent = line.len() - line.trim_start().len();
        Typing { corpus, line_start, typed: indent + 4 }
    }

    fn line(corpus: &str, start: usize) -> &str {
        let end = corpus[start..].find('\n').map_or(corpus.len(), |it| start + it);
        &corpus[start..end]
    }

    fn line_end(&self) -> usize {
        self.line_start + Typing::line(self.corpus, self.line_start).len()
    }

    fn cursor(&self) -> usize {
        self.line_start + self.typed
    }

    fn document(&self) -> String {
        format!("{}{}", &self.corpus[..self.cursor()], &self.corpus[self.line_end()..])
    }

    fn type_char(&mut self) {
        if self.cursor() >= self.line_end() {
            self.next_line();
        }
        let ch = self.corpus[self.cursor()..].chars().next().unwrap_or(' ');
        self.typed += ch.len_utf8();
    }

    /// Finishes the line and starts the next one after its indentation.
    fn next_line(&mut self) {
        self.line_start = self.line_end() + 1;
        let line = Typing::line(self.corpus, self.line_start);
        self.typed = line.len() - line.trim_start().len();
    }
}

/// Real code to complete: Hearth's own sources, which every clone has.
fn corpus() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src");
    let mut files = Vec::new();
    collect_rust_files(&root, &mut files);
    files.sort();
    let mut corpus = String::new();
    for file in files {
        corpus.push_str(&std::fs::read_to_string(file).unwrap_or_default());
        corpus.push('\n');
    }
    corpus
}

fn collect_rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rust_files(&path, out);
        } else if path.extension().is_some_and(|it| it == "rs") {
            out.push(path);
        }
    }
}

/// llama.cpp's prompt-processing and generation rates with no Hearth code
/// around them (like `llama-bench` pp512 and tg64).
fn raw_llama_rates(
    path: &std::path::Path,
    threads: u32,
    batch_threads: u32,
    batch: u32,
) -> (f64, f64) {
    let backend = LlamaBackend::init().expect("llama.cpp starts");
    let model = LlamaModel::load_from_file(
        &backend,
        path,
        &LlamaModelParams::default().with_n_gpu_layers(0),
    )
    .expect("the model loads");
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(4096))
        .with_n_batch(batch)
        .with_n_ubatch(batch)
        .with_n_threads(threads as i32)
        .with_n_threads_batch(batch_threads as i32);
    let mut ctx = model.new_context(&backend, params).expect("a context");
    let vocab = model.vocab();
    let tokens = vocab.tokenize(corpus().as_bytes(), false, false);
    let mut pp = Vec::new();
    let mut tg = Vec::new();
    for run in 0..RUNS {
        ctx.clear_kv_cache();
        let mut batch_512 = LlamaBatch::new(512, 1);
        for (i, token) in tokens[run * 512..(run + 1) * 512].iter().enumerate() {
            batch_512.add(*token, i as i32, &[0], i == 511).unwrap();
        }
        let started = Instant::now();
        ctx.decode(&mut batch_512).unwrap();
        pp.push(512.0 / started.elapsed().as_secs_f64());

        let mut sampler = LlamaSampler::greedy();
        let mut one = LlamaBatch::new(1, 1);
        let mut last = 511;
        let started = Instant::now();
        for i in 0..64 {
            let token = sampler.sample(&ctx, last);
            one.clear();
            one.add(token, 512 + i, &[0], true).unwrap();
            ctx.decode(&mut one).unwrap();
            last = 0;
        }
        tg.push(64.0 / started.elapsed().as_secs_f64());
    }
    drop(ctx);
    drop(model);
    drop(backend);
    (median_f(pp), median_f(tg))
}

/// A child process spinning on one core.
struct BusyCore(Option<Child>);

impl BusyCore {
    fn start() -> BusyCore {
        BusyCore(Command::new("sh").arg("-c").arg("while :; do :; done").spawn().ok())
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for BusyCore {
    fn drop(&mut self) {
        self.stop();
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn median_f(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|it| it.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or_default()
}

fn machine() -> String {
    let date = Command::new("date").arg("-u").arg("+%Y-%m-%d").output().ok();
    let date =
        date.map(|it| String::from_utf8_lossy(&it.stdout).trim().to_owned()).unwrap_or_default();
    format!("{}, {} logical CPUs, {date}", cpu_model(), logical_cpus())
}
