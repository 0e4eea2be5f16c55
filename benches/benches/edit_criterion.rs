//! One keystroke on a 1 MB Rust document, measured by criterion.
//!
//! The `documents` bench reports a whole session's latency distribution; this
//! one gives a statistically sound figure, with confidence intervals and
//! change detection between runs, for the single most frequent operation: a
//! typed character followed by the server's budgeted reparse.
//!
//! Run with `cargo bench -p hearth-benches --bench edit_criterion`.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::{Criterion, criterion_group, criterion_main};
use hearth::documents::{Document, ParseOutcome, SyntaxConfig};
use hearth_benches::{Layout, rust_corpus};

/// The server's per-`didChange` budget.
const BUDGET: Duration = Duration::from_millis(20);

/// A fully parsed 1 MB document and a byte offset inside an identifier in
/// its middle, where typing a letter keeps the code valid.
fn document() -> (Document, usize) {
    let text = rust_corpus(1_000_000, Layout::Modules);
    let at = text[text.len() / 2..].find("let workers").expect("the corpus has a `let workers`")
        + text.len() / 2
        + "let work".len();
    let config = SyntaxConfig { parse_budget: Duration::from_secs(600) };
    let doc = Document::new("rust", 1, &text, config);
    assert!(!doc.needs_reparse());
    (doc, at)
}

fn keystroke(c: &mut Criterion) {
    let (mut doc, at) = document();
    let mut group = c.benchmark_group("keystroke_1mb");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1));

    // Each iteration types one letter and reparses, which is what is timed,
    // then backspaces it and reparses again untimed, so every iteration sees
    // the same document.
    group.bench_function("insert_and_reparse", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                doc.edit(at..at, "x").expect("valid edit");
                let outcome = doc.reparse(BUDGET);
                timed += start.elapsed();
                assert_eq!(black_box(outcome), ParseOutcome::Parsed);
                doc.edit(at..at + 1, "").expect("valid edit");
                doc.reparse(BUDGET);
            }
            timed
        });
    });

    // The edit alone: updating the rope and telling the tree, no parse.
    group.bench_function("insert_only", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                doc.edit(at..at, "x").expect("valid edit");
                timed += start.elapsed();
                doc.edit(at..at + 1, "").expect("valid edit");
            }
            // Leave a parsed document for whatever runs next.
            doc.reparse(Duration::from_secs(600));
            timed
        });
    });
    group.finish();
}

criterion_group!(benches, keystroke);
criterion_main!(benches);
