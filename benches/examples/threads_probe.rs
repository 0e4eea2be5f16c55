//! Prompt-reading and generation speed of llama.cpp by thread count, idle and
//! with another program keeping one core busy. This measurement chose
//! Hearth's default thread counts (`model.threads`, `model.batchThreads`):
//!
//! `cargo run --release -p hearth-benches --example threads_probe`
#![allow(clippy::print_stdout, reason = "a probe reports its figures on stdout")]
use std::{num::NonZeroU32, process::Command, time::Instant};

use llama_cpp_2::{
    context::params::LlamaContextParams, llama_backend::LlamaBackend, llama_batch::LlamaBatch,
    model::LlamaModel, model::params::LlamaModelParams, sampling::LlamaSampler,
};

fn main() {
    // SAFETY: first thing in main, no other thread exists yet.
    unsafe { std::env::set_var("OMP_WAIT_POLICY", "passive") };
    let path = std::env::var("HOME").unwrap()
        + "/.cache/hearth/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";
    let backend = LlamaBackend::init().unwrap();
    let model = LlamaModel::load_from_file(
        &backend,
        &path,
        &LlamaModelParams::default().with_n_gpu_layers(0),
    )
    .unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../server/src/engine/llama.rs"
    ))
    .unwrap();
    let tokens = model.vocab().tokenize(text.as_bytes(), false, false);
    for busy in [false, true] {
        let mut hog =
            busy.then(|| Command::new("sh").arg("-c").arg("while :; do :; done").spawn().unwrap());
        for (nt, ntb) in [(2, 2), (1, 2), (1, 1)] {
            let params = LlamaContextParams::default()
                .with_n_ctx(NonZeroU32::new(2048))
                .with_n_batch(512)
                .with_n_ubatch(512)
                .with_n_threads(nt)
                .with_n_threads_batch(ntb);
            let mut ctx = model.new_context(&backend, params).unwrap();
            let mut batch = LlamaBatch::new(512, 1);
            for (i, t) in tokens[..256].iter().enumerate() {
                batch.add(*t, i as i32, &[0], i == 255).unwrap();
            }
            let started = Instant::now();
            ctx.decode(&mut batch).unwrap();
            let pp = 256.0 / started.elapsed().as_secs_f64();
            let mut sampler = LlamaSampler::greedy();
            let mut one = LlamaBatch::new(1, 1);
            let mut last = 255;
            let started = Instant::now();
            for i in 0..48 {
                let token = sampler.sample(&ctx, last);
                one.clear();
                one.add(token, 256 + i, &[0], true).unwrap();
                ctx.decode(&mut one).unwrap();
                last = 0;
            }
            let tg = 48.0 / started.elapsed().as_secs_f64();
            println!(
                "busy={busy} n_threads={nt} n_threads_batch={ntb}: pp256 {pp:.0} tok/s, tg48 {tg:.1} tok/s"
            );
        }
        if let Some(h) = hog.as_mut() {
            h.kill().unwrap();
            h.wait().unwrap();
        }
    }
}
