//! How fast Hearth keeps a large document's syntax tree up to date.
//!
//! A plain program rather than a criterion bench: it replays one long,
//! reproducible editing session on a 1 MB Rust file and reports the latency
//! distribution of the per-keystroke reparse, which a mean would hide, plus
//! the cost of first parses of 1 MB and 5 MB files. A shorter session on a
//! 1 MB file whose items all sit at the top level shows the slow case. Every
//! session ends by checking that the incrementally maintained tree equals a
//! fresh parse of the final text, so a fast but wrong incremental path fails
//! the benchmark.
//!
//! Run with `cargo bench -p hearth-benches --bench documents`.

#![allow(clippy::print_stdout, reason = "a benchmark reports its figures on stdout")]

use std::{
    fmt,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use hearth::documents::{Document, ParseOutcome, SyntaxConfig, parse_fresh};
use hearth_benches::{
    EditKind, Layout, Typist,
    report::{cpu_model, load_average, logical_cpus},
    rust_corpus,
};
use hearth_grammars::Lang;
use ropey::Rope;

/// The server's per-`didChange` budget (its `SyntaxConfig` default).
const BUDGET: Duration = Duration::from_millis(20);
/// Long enough that a parse never gives up: a first parse or a final check.
const UNLIMITED: Duration = Duration::from_secs(600);
/// Edits in the main sessions.
const EDITS: usize = 10_000;
/// Edits in the flat-layout session, fewer because each reparse costs more.
const FLAT_EDITS: usize = 2_000;
const SEED: u64 = 0x4845_4152_5448;

fn main() {
    println!("Hearth document benchmark");
    println!("machine: {}, {} logical CPUs", cpu_model(), logical_cpus());
    println!("date:    {} (UTC)", today());
    println!("load:    {} (1, 5, 15 min) at start", load_average());
    println!();

    let modules_1mb = rust_corpus(1_000_000, Layout::Modules);
    let modules_5mb = rust_corpus(5_000_000, Layout::Modules);
    let flat_1mb = rust_corpus(1_000_000, Layout::Flat);
    println!("Documents");
    for (label, text) in [
        ("1 MB, modules", &modules_1mb),
        ("5 MB, modules", &modules_5mb),
        ("1 MB, flat", &flat_1mb),
    ] {
        let tree = parse_fresh(Lang::Rust, text).expect("the Rust grammar loads");
        assert!(!tree.root_node().has_error(), "the {label} corpus is valid Rust");
        println!(
            "  {label:<14} {:>9} bytes {:>7} lines {:>6} root nodes",
            text.len(),
            text.lines().count(),
            tree.root_node().child_count()
        );
    }
    println!();

    first_parses(&modules_1mb, &modules_5mb);
    println!();

    let every_edit = session(&modules_1mb, EDITS, 1);
    let batched = session(&modules_1mb, EDITS, 100);
    println!("Editing session on the 1 MB modules document, 20 ms budget");
    report_session(&every_edit);
    report_session(&batched);
    let per_edit = batched.edit_total / EDITS as u32;
    println!("  mean Document::edit alone (rope + Tree::edit): {}", Micros(per_edit));
    // The two sessions replay the same edits, so they must end on the same
    // text (each already matched a fresh parse of its own).
    assert_eq!(every_edit.final_text, batched.final_text, "the sessions diverged");
    println!();

    let flat = session(&flat_1mb, FLAT_EDITS, 1);
    println!("Editing session on the 1 MB flat document, 20 ms budget");
    report_session(&flat);
    println!();

    println!("correctness: every incremental tree equals a fresh parse of its final text");
    println!("load:    {} (1, 5, 15 min) at end", load_average());
}

/// Times first parses: opening a document, which parses within the server's
/// budget and may give up, and the full parse that `parse_fresh` does.
///
/// Each figure is a median of three: right after a large tree is freed, the
/// next large allocation (the rope) can take tens of milliseconds, a cost of
/// the process's history rather than of opening.
fn first_parses(text_1mb: &str, text_5mb: &str) {
    println!("First parse (median of 3 runs)");
    for (label, text) in [("1 MB", text_1mb), ("5 MB", text_5mb)] {
        let rope = median_time(3, || Rope::from_str(text));
        let mut stale = false;
        let open = median_time(3, || {
            let doc = Document::new("rust", 1, text, SyntaxConfig::default());
            stale = doc.needs_reparse();
            doc
        });
        let what = format!("Document::new, {label}, 20 ms budget");
        println!("  {what:<47} {:>10}  needs_reparse: {stale}", Micros(open));
        let what = format!("  of which building the rope, {label}");
        println!("  {what:<47} {:>10}", Micros(rope));
        if stale {
            // The server would finish this parse in the background; an
            // abandoned parse is not resumed, so this one starts over.
            let mut docs: Vec<Document> =
                (0..3).map(|_| Document::new("rust", 1, text, SyntaxConfig::default())).collect();
            let finish = median_time(3, || {
                let mut doc = docs.pop().expect("one document per run");
                assert_eq!(doc.reparse(UNLIMITED), ParseOutcome::Parsed);
                doc
            });
            let what = format!("  then reparse without a budget, {label}");
            println!("  {what:<47} {:>10}", Micros(finish));
        }
    }
    for (label, text) in [("1 MB", text_1mb), ("5 MB", text_5mb)] {
        let time =
            median_time(3, || parse_fresh(Lang::Rust, text).expect("the Rust grammar loads"));
        let what = format!("parse_fresh, {label}");
        println!("  {what:<47} {:>10}", Micros(time));
    }
}

/// One reparse's cost.
struct Reparse {
    /// The kind of the edit just before it.
    kind: EditKind,
    /// Wall-clock time: what the user waits, including time the thread spent
    /// descheduled while other processes ran.
    wall: Duration,
    /// CPU time of the parsing thread: what the reparse itself costs, immune
    /// to other load on the machine. `None` where the platform has no clock.
    cpu: Option<Duration>,
}

/// What one editing session measured.
struct Session {
    edits: usize,
    reparse_every: usize,
    /// Wall-clock time spent in `Document::edit` alone.
    edit_total: Duration,
    /// Wall-clock time spent in `Document::reparse` alone.
    reparse_total: Duration,
    reparses: Vec<Reparse>,
    out_of_budget: usize,
    kinds: [usize; 4],
    final_text: String,
}

/// Replays the seeded editing session on a fresh document, reparsing with the
/// server's budget after every `reparse_every` edits (and after the last one),
/// and checks the final tree against a fresh parse.
///
/// Only `edit` and `reparse` are timed; generating the edits is not.
fn session(text: &str, edits: usize, reparse_every: usize) -> Session {
    let mut doc = Document::new("rust", 1, text, SyntaxConfig { parse_budget: UNLIMITED });
    assert!(!doc.needs_reparse(), "the first parse completes without a budget");
    let mut typist = Typist::new(SEED);
    let mut session = Session {
        edits,
        reparse_every,
        edit_total: Duration::ZERO,
        reparse_total: Duration::ZERO,
        reparses: Vec::with_capacity(edits / reparse_every + 1),
        out_of_budget: 0,
        kinds: [0; 4],
        final_text: String::new(),
    };
    for i in 1..=edits {
        let edit = typist.next_edit(doc.text());
        let kind = edit.kind;
        session.kinds[kind as usize] += 1;
        let start = Instant::now();
        doc.edit(edit.range, &edit.text).expect("the typist's edits are valid");
        session.edit_total += start.elapsed();
        if i % reparse_every == 0 || i == edits {
            let cpu_start = thread_cpu_time();
            let start = Instant::now();
            let outcome = doc.reparse(BUDGET);
            let wall = start.elapsed();
            let cpu = thread_cpu_time().zip(cpu_start).map(|(end, start)| end - start);
            session.reparse_total += wall;
            session.reparses.push(Reparse { kind, wall, cpu });
            match outcome {
                ParseOutcome::Parsed => {}
                // The next edit's reparse starts over from the stale tree,
                // as in the server.
                ParseOutcome::OutOfBudget => session.out_of_budget += 1,
                ParseOutcome::PlainText => panic!("a Rust document has a grammar"),
            }
        }
    }

    assert_eq!(doc.reparse(UNLIMITED), ParseOutcome::Parsed);
    session.final_text = doc.text().to_string();
    let fresh = parse_fresh(Lang::Rust, &session.final_text).expect("the Rust grammar loads");
    let incremental = doc.tree().expect("a parsed document has a tree");
    assert!(
        incremental.root_node().to_sexp() == fresh.root_node().to_sexp(),
        "after {edits} edits reparsed every {reparse_every}, the incremental tree differs from a \
         fresh parse"
    );
    session
}

fn report_session(session: &Session) {
    let [insert, backspace, paste, cut] = session.kinds;
    println!(
        "  {} edits ({insert} inserts, {backspace} backspaces, {paste} pastes, {cut} cuts), \
         reparse after every {}:",
        session.edits,
        if session.reparse_every == 1 {
            "edit".to_owned()
        } else {
            format!("{} edits", session.reparse_every)
        },
    );
    println!(
        "    total: edit + reparse {:>10}   edits alone {:>10}   reparses alone {:>10}",
        Micros(session.edit_total + session.reparse_total),
        Micros(session.edit_total),
        Micros(session.reparse_total),
    );
    let wall: Vec<Duration> = session.reparses.iter().map(|it| it.wall).collect();
    println!(
        "    {:>5} reparses, wall: {}  out of budget: {}",
        wall.len(),
        Percentiles::of(wall),
        session.out_of_budget
    );
    let cpu: Option<Vec<Duration>> = session.reparses.iter().map(|it| it.cpu).collect();
    if let Some(cpu) = cpu {
        println!("    {:>5} reparses, CPU:  {}", cpu.len(), Percentiles::of(cpu));
    }
    if session.reparse_every > 1 {
        return;
    }
    // Whether structural edits cost more to reparse than typing does.
    let kinds = [
        (EditKind::Insert, "insert"),
        (EditKind::Backspace, "backspace"),
        (EditKind::Paste, "paste"),
        (EditKind::Cut, "cut"),
    ];
    let by_kind: Vec<String> = kinds
        .into_iter()
        .map(|(kind, name)| {
            let mut times: Vec<Duration> = session
                .reparses
                .iter()
                .filter(|it| it.kind == kind)
                .map(|it| it.cpu.unwrap_or(it.wall))
                .collect();
            times.sort_unstable();
            let p50 = Micros(percentile(&times, 50));
            format!("{name} {p50}/{}", Micros(percentile(&times, 95)))
        })
        .collect();
    println!("    p50/p95 by edit kind (CPU): {}", by_kind.join(", "));
}

/// The p50, p95, p99 and maximum of a set of durations.
struct Percentiles(Vec<Duration>);

impl Percentiles {
    fn of(mut times: Vec<Duration>) -> Percentiles {
        times.sort_unstable();
        Percentiles(times)
    }
}

impl fmt::Display for Percentiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sorted = &self.0;
        write!(
            f,
            "p50 {:>9}  p95 {:>9}  p99 {:>9}  max {:>9}",
            Micros(percentile(sorted, 50)),
            Micros(percentile(sorted, 95)),
            Micros(percentile(sorted, 99)),
            Micros(sorted.last().copied().unwrap_or_default()),
        )
    }
}

/// The nearest-rank percentile of sorted durations (zero for none).
fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    let rank = (pct * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or_default()
}

/// Runs `f` `runs` times and returns the median duration. What `f` returns
/// is dropped outside the timing, since freeing a large tree takes a while.
fn median_time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let result = f();
            let time = start.elapsed();
            drop(result);
            time
        })
        .collect();
    times.sort_unstable();
    times[runs / 2]
}

/// A duration printed in µs below 10 ms and in ms above, so small and large
/// figures both stay readable.
struct Micros(Duration);

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.as_secs_f64() * 1e6;
        let text = if micros < 10_000.0 {
            format!("{micros:.1} µs")
        } else {
            format!("{:.1} ms", micros / 1_000.0)
        };
        f.pad(&text)
    }
}

/// The CPU time the calling thread has used so far.
#[cfg(unix)]
fn thread_cpu_time() -> Option<Duration> {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid, writable timespec for the call to fill in.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    let secs = u64::try_from(now.tv_sec).ok()?;
    let nanos = u32::try_from(now.tv_nsec).ok()?;
    (rc == 0).then(|| Duration::new(secs, nanos))
}

#[cfg(not(unix))]
fn thread_cpu_time() -> Option<Duration> {
    None
}

/// Today's date in UTC as `YYYY-MM-DD`, without a date crate: the civil-from-
/// days conversion from Howard Hinnant's date algorithms.
fn today() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |it| it.as_secs());
    let days = (secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
