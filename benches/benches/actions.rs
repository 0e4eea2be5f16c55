//! Code actions end to end: how fast they are listed, and what resolving
//! each one produces with the real default model.
//!
//! Editors ask for code actions on every cursor move, so listing them
//! (`textDocument/codeAction`) must never wait for the model: the server
//! answers from the syntax tree alone, and the issue asks for well under
//! 50 ms. The integration tests assert that only loosely (2 s, because they
//! share the machine with builds); this bench measures it. Resolving an
//! action (`codeAction/resolve`, or `workspace/executeCommand hearth.rewrite`
//! for Rewrite) runs the model, and what the model writes is what a user
//! gets, so the bench shows it and checks it the way the tests do.
//!
//! It starts the real `target/release/hearth` (built when missing) with the
//! default model, as a client that resolves code actions lazily (VS Code's
//! way), and speaks LSP to it through the integration tests' client
//! (`tests/src/client.rs`):
//!
//! 1. **Listing.** Opens two large real files, the largest `.rs` file of
//!    this workspace and `argparse.py` from the Python standard library, and
//!    asks for code actions at 200 cursors spread evenly over each (the
//!    middle of a line's text) and over 50 multi-line selections. It reports
//!    the client-measured round trip (nearest-rank p50, p95, maximum) and how
//!    many actions were listed. Then it sends an explicit inline completion,
//!    which reads a cold prompt for seconds, and lists actions repeatedly
//!    while that completion runs, to show that listing does not queue behind
//!    the model.
//! 2. **Resolving.** On the integration tests' Rust and Python fixtures
//!    (`hearth_tests::fixtures`), plus a Rust and a Python function each with
//!    a type-error diagnostic (for Fix), it resolves every action offered for
//!    each fixture function (Document, Explain, Write a test, and Fix where
//!    there is a diagnostic), and runs two Rewrites per language through
//!    `hearth.rewrite` with an instruction (the client accepts the
//!    `workspace/applyEdit`, and the bench reads the edit from it). For each:
//!    the resolve latency, success or the server's error message, the new
//!    text, whether the edit changes the text at all, whether the edited file
//!    still compiles (`rustc --edition 2021 --crate-type lib`, with `--test`
//!    for Write a test) or parses (Python's `ast.parse`), and the tokens the
//!    model generated against the action's budget
//!    (`hearth::actions::max_tokens`), read from the line the server logs for
//!    each reply: a reply that used the whole budget was cut off.
//! 3. **Summary.** A table per action and language: count, succeeded (and
//!    of those, unchanged), compiled or parsed, cut at the token budget,
//!    resolve latency p50 and maximum.
//!
//! Run: `cargo bench -p hearth-benches --bench actions -- [--json OUT]
//! [--positions N] [--selections N] [--rust FILE] [--python FILE]
//! [--skip-listing] [--skip-resolve] [--build]`. Needs the default model
//! (`scripts/fetch-model`). Everything is printed to stderr.

use std::{
    collections::BTreeMap,
    ops::Range,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::{Duration, Instant},
};

use hearth::actions::{ActionKind, max_tokens};
use hearth_benches::{
    report::{Dist, cpu_model, load_average, logical_cpus},
    server::{bench_main, check_model, ensure_binary, number, wait_for_model, workspace_root},
};
use hearth_tests::{
    Position, Server, ServerOptions,
    fixtures::{
        self, PYTHON_ACTIONS, RUST_ACTIONS, RUST_TYPE_ERROR, applied_edits, apply, code_actions,
        diagnostic, edits_of, python_parses, rustc,
    },
    text::{line_starts, position_of},
};
use serde_json::{Value, json};

const USAGE: &str = "usage: actions [--json OUT] [--positions N] [--selections N] \
[--rust FILE] [--python FILE] [--skip-listing] [--skip-resolve] [--build]";

/// How long one resolve may take before the bench gives up on the server.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(600);

/// The listing latency the issue asks for.
const LISTING_TARGET: Duration = Duration::from_millis(50);

/// Lines of an edit's new text printed per action.
const SHOWN_LINES: usize = 15;

fn main() -> ExitCode {
    bench_main("actions", USAGE, Args::parse(std::env::args().skip(1)), run)
}

fn run(args: &Args) -> Result<(), String> {
    let model = check_model()?;
    let binary = ensure_binary(args.build)?;
    // SAFETY: no other thread exists yet; the client reads `HEARTH_BIN` to
    // find the binary.
    unsafe { std::env::set_var("HEARTH_BIN", &binary) };
    let load_before = load_average();
    eprintln!("# Hearth code actions");
    eprintln!("machine: {}, {} logical CPUs", cpu_model(), logical_cpus());
    eprintln!("binary:  {}", binary.display());
    eprintln!("model:   {}", model.display());
    eprintln!("load:    {load_before} (1, 5, 15 min) at start");

    let started = Instant::now();
    let options = ServerOptions {
        resolve_code_actions: true,
        inline_completion: true,
        work_done_progress: true,
        init_options: Some(json!({ "model": { "path": model } })),
        ..ServerOptions::default()
    };
    let mut server = Server::start(options);
    server.timeout = RESOLVE_TIMEOUT;
    wait_for_model(&server)?;
    let model_ready = started.elapsed();
    eprintln!("model ready after {:.1} s", model_ready.as_secs_f64());

    let mut output = json!({
        "machine": { "cpu": cpu_model(), "logicalCpus": logical_cpus() },
        "binary": binary.display().to_string(),
        "loadAtStart": load_before,
        "modelReadyS": model_ready.as_secs_f64(),
    });

    let listing_started = Instant::now();
    if !args.skip_listing {
        let files = listing_files(args)?;
        let mut results = Vec::new();
        for (index, file) in files.iter().enumerate() {
            let uri = format!("file:///bench/listing/{}", file.name());
            server.did_open(&uri, file.language_id, 1, &file.text);
            let result = measure_listing(&server, &uri, file, args);
            let busy = listing_while_completing(&server, &uri, &file.text, index);
            server.did_close(&uri);
            results.push((result, busy));
        }
        print_listing(&files, &results);
        output["listing"] = json!(
            files
                .iter()
                .zip(&results)
                .map(|(file, (result, busy))| json!({
                    "file": file.path.display().to_string(),
                    "bytes": file.text.len(),
                    "lines": line_starts(&file.text).len(),
                    "cursors": result.cursors.iter().map(Sample::json).collect::<Vec<_>>(),
                    "selections": result.selections.iter().map(Sample::json).collect::<Vec<_>>(),
                    "cursorLatency": Dist::json(Dist::of(result.cursors.iter().map(|s| s.latency))),
                    "selectionLatency":
                        Dist::json(Dist::of(result.selections.iter().map(|s| s.latency))),
                    "titles": result.titles,
                    "firstTreeMs": result.first_tree.as_secs_f64() * 1000.0,
                    "duringCompletion": busy.json(),
                }))
                .collect::<Vec<_>>()
        );
    }
    let listing_time = listing_started.elapsed();

    let resolve_started = Instant::now();
    if !args.skip_resolve {
        let mut resolved = Vec::new();
        for fixture in fixtures() {
            resolve_fixture(&server, &fixture, &mut resolved);
        }
        print_summary(&resolved);
        output["resolved"] = json!(resolved.iter().map(Resolved::json).collect::<Vec<_>>());
        output["summary"] = summary_json(&resolved);
    }
    let resolve_time = resolve_started.elapsed();

    let exit = server.shutdown_and_exit();
    if !exit.success() {
        eprintln!("warning: hearth exited with {exit}");
    }
    let load_after = load_average();
    eprintln!(
        "time:    {:.1} s loading the model, {:.1} s listing, {:.1} s resolving",
        model_ready.as_secs_f64(),
        listing_time.as_secs_f64(),
        resolve_time.as_secs_f64()
    );
    eprintln!("load:    {load_after} (1, 5, 15 min) at end");
    if let Some(path) = &args.json {
        output["loadAtEnd"] = json!(load_after);
        output["listingS"] = json!(listing_time.as_secs_f64());
        output["resolveS"] = json!(resolve_time.as_secs_f64());
        let text = serde_json::to_string_pretty(&output).expect("serialize the results");
        std::fs::write(path, text)
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        eprintln!("json:    {}", path.display());
    }
    Ok(())
}

// ----- Arguments -----

struct Args {
    json: Option<PathBuf>,
    positions: usize,
    selections: usize,
    rust: Option<PathBuf>,
    python: Option<PathBuf>,
    skip_listing: bool,
    skip_resolve: bool,
    build: bool,
}

impl Args {
    fn parse(mut raw: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            json: None,
            positions: 200,
            selections: 50,
            rust: None,
            python: None,
            skip_listing: false,
            skip_resolve: false,
            build: false,
        };
        while let Some(flag) = raw.next() {
            let mut value = || raw.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                // `cargo bench` passes `--bench` to every bench without a harness.
                "--bench" => {}
                "--json" => args.json = Some(value()?.into()),
                "--positions" => args.positions = number(&value()?)?,
                "--selections" => args.selections = number(&value()?)?,
                "--rust" => args.rust = Some(value()?.into()),
                "--python" => args.python = Some(value()?.into()),
                "--skip-listing" => args.skip_listing = true,
                "--skip-resolve" => args.skip_resolve = true,
                "--build" => args.build = true,
                "-h" | "--help" => return Err("code actions benchmark".to_owned()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}

// ----- Listing -----

struct ListingFile {
    path: PathBuf,
    language_id: &'static str,
    text: String,
}

impl ListingFile {
    fn name(&self) -> String {
        self.path.file_name().map_or_else(String::new, |it| it.to_string_lossy().into_owned())
    }
}

/// The largest `.rs` file of the workspace and `argparse.py`, or the files
/// given on the command line.
fn listing_files(args: &Args) -> Result<Vec<ListingFile>, String> {
    let rust = match &args.rust {
        Some(path) => path.clone(),
        None => largest_rust_file(&workspace_root()).ok_or("no .rs file found in the workspace")?,
    };
    let python = match &args.python {
        Some(path) => path.clone(),
        None => python_stdlib()?.join("argparse.py"),
    };
    let read = |path: PathBuf, language_id| {
        std::fs::read_to_string(&path)
            .map(|text| ListingFile { path: path.clone(), language_id, text })
            .map_err(|err| format!("cannot read {}: {err}", path.display()))
    };
    Ok(vec![read(rust, "rust")?, read(python, "python")?])
}

fn largest_rust_file(root: &Path) -> Option<PathBuf> {
    let mut best: Option<(u64, PathBuf)> = None;
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    stack.push(path);
                }
            } else if kind.is_file() && name.ends_with(".rs") {
                let size = entry.metadata().map_or(0, |it| it.len());
                if best.as_ref().is_none_or(|(best, _)| size > *best) {
                    best = Some((size, path));
                }
            }
        }
    }
    best.map(|(_, path)| path)
}

fn python_stdlib() -> Result<PathBuf, String> {
    let output = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .map_err(|err| format!("cannot run python3: {err}"))?;
    if !output.status.success() {
        return Err("python3 could not name its standard library".to_owned());
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
}

/// One `textDocument/codeAction` round trip.
struct Sample {
    /// The requested range, as LSP lines (start, end).
    lines: (u32, u32),
    latency: Duration,
    actions: usize,
}

impl Sample {
    fn json(&self) -> Value {
        json!({
            "startLine": self.lines.0,
            "endLine": self.lines.1,
            "ms": self.latency.as_secs_f64() * 1000.0,
            "actions": self.actions,
        })
    }
}

struct ListingResult {
    cursors: Vec<Sample>,
    selections: Vec<Sample>,
    /// Actions listed by title, over all requests.
    titles: BTreeMap<String, usize>,
    /// How long after `didOpen` the first non-empty listing came.
    first_tree: Duration,
}

fn code_action(server: &Server, uri: &str, start: Position, end: Position) -> (Duration, Value) {
    let started = Instant::now();
    let result = code_actions(server, uri, start, end, json!([]));
    (started.elapsed(), result)
}

/// The byte offset of the middle of line `line`'s text (after its
/// indentation), on a character boundary.
fn middle_of_line(text: &str, starts: &[usize], line: usize) -> usize {
    let start = starts[line];
    let end = starts.get(line + 1).map_or(text.len(), |next| next - 1);
    let content = &text[start..end];
    let indent = content.len() - content.trim_start().len();
    let mut at = start + indent + (content.len() - indent) / 2;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn measure_listing(server: &Server, uri: &str, file: &ListingFile, args: &Args) -> ListingResult {
    let text = &file.text;
    let encoding = server.position_encoding();
    let starts = line_starts(text);
    let lines = starts.len();
    // A large file's first parse may finish off the hot path; until it has,
    // the server lists nothing. Wait for the tree before measuring.
    let opened = Instant::now();
    let probe = position_of(text, middle_of_line(text, &starts, lines / 2), encoding);
    let first_tree = loop {
        let (_, result) = code_action(server, uri, probe, probe);
        if result.as_array().is_some_and(|it| !it.is_empty()) || opened.elapsed().as_secs() > 10 {
            break opened.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut titles = BTreeMap::new();
    let mut record = |result: &Value| {
        let actions = result.as_array().map_or(&[][..], Vec::as_slice);
        for action in actions {
            let title = action["title"].as_str().unwrap_or("?").to_owned();
            *titles.entry(title).or_insert(0) += 1;
        }
        actions.len()
    };
    let mut cursors = Vec::new();
    for i in 0..args.positions {
        let line = i * lines / args.positions.max(1);
        let at = position_of(text, middle_of_line(text, &starts, line), encoding);
        let (latency, result) = code_action(server, uri, at, at);
        let actions = record(&result);
        cursors.push(Sample { lines: (at.line, at.line), latency, actions });
    }
    let mut selections = Vec::new();
    for i in 0..args.selections {
        let first = i * lines / args.selections.max(1);
        // 2 to 16 lines, from the first line's text to the last line's end.
        let last = (first + 1 + i % 15).min(lines - 1);
        let line_text = |line: usize| {
            let end = starts.get(line + 1).map_or(text.len(), |next| next - 1);
            starts[line]..end
        };
        let first_range = line_text(first);
        let indent = text[first_range.clone()].len() - text[first_range.clone()].trim_start().len();
        let start = position_of(text, first_range.start + indent, encoding);
        let end = position_of(text, line_text(last).end, encoding);
        let (latency, result) = code_action(server, uri, start, end);
        let actions = record(&result);
        selections.push(Sample { lines: (start.line, end.line), latency, actions });
    }
    ListingResult { cursors, selections, titles, first_tree }
}

/// Listing while an explicit inline completion runs in the model.
struct BusyListing {
    completion: Duration,
    completion_error: Option<String>,
    /// Each listing's latency, and whether the completion was still
    /// unanswered when the listing's answer came.
    listings: Vec<(Duration, bool)>,
}

impl BusyListing {
    fn while_pending(&self) -> impl Iterator<Item = Duration> + '_ {
        self.listings.iter().filter(|(_, pending)| *pending).map(|(latency, _)| *latency)
    }

    fn json(&self) -> Value {
        json!({
            "completionMs": self.completion.as_secs_f64() * 1000.0,
            "completionError": self.completion_error,
            "listings": self.listings.iter().map(|(latency, pending)| json!({
                "ms": latency.as_secs_f64() * 1000.0,
                "completionPending": pending,
            })).collect::<Vec<_>>(),
            "whilePending": Dist::json(Dist::of(self.while_pending())),
        })
    }
}

fn listing_while_completing(server: &Server, uri: &str, text: &str, seed: usize) -> BusyListing {
    let encoding = server.position_encoding();
    let starts = line_starts(text);
    // A code line about two thirds into the file (a different one per
    // file), cursor at its end: an explicit request always asks the model.
    let mut line = starts.len() * 2 / 3 + seed;
    while line + 1 < starts.len() && text[starts[line]..starts[line + 1]].trim().len() < 8 {
        line += 1;
    }
    let end_of_line = starts.get(line + 1).map_or(text.len(), |next| next - 1);
    let cursor = position_of(text, end_of_line, encoding);
    let listed_at = position_of(text, middle_of_line(text, &starts, line), encoding);
    let started = Instant::now();
    let completion_id = server.request_async(
        "textDocument/inlineCompletion",
        json!({
            "textDocument": { "uri": uri },
            "position": cursor.to_json(),
            "context": { "triggerKind": 1 },
        }),
    );
    // Let the completion reach the model before listing.
    std::thread::sleep(Duration::from_millis(200));
    let answered = |server: &Server| {
        server.received().iter().any(|m| m["id"] == completion_id && m.get("method").is_none())
    };
    // Every 200 ms until the completion is answered (at most 30 s).
    let mut listings = Vec::new();
    while listings.len() < 150 {
        let (latency, _) = code_action(server, uri, listed_at, listed_at);
        let pending = !answered(server);
        listings.push((latency, pending));
        if !pending {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let response = server.wait_response(completion_id, RESOLVE_TIMEOUT);
    let completion = started.elapsed();
    let completion_error = response.get("error").map(Value::to_string);
    BusyListing { completion, completion_error, listings }
}

fn print_listing(files: &[ListingFile], results: &[(ListingResult, BusyListing)]) {
    eprintln!("\n## Listing (textDocument/codeAction, client round trip)\n");
    for (file, (result, busy)) in files.iter().zip(results) {
        eprintln!(
            "{} ({} bytes, {} lines); first non-empty listing {:.0} ms after didOpen",
            file.path.display(),
            file.text.len(),
            line_starts(&file.text).len(),
            result.first_tree.as_secs_f64() * 1000.0
        );
        for (label, samples) in [("cursors", &result.cursors), ("selections", &result.selections)] {
            let latency = Dist::of(samples.iter().map(|it| it.latency));
            let listed: usize = samples.iter().map(|it| it.actions).sum();
            let none = samples.iter().filter(|it| it.actions == 0).count();
            let over = samples.iter().filter(|it| it.latency >= LISTING_TARGET).count();
            eprintln!(
                "  {label:<11} {}  | {listed} actions listed ({:.1} a request, {none} requests with none); {over} at or over {} ms",
                Dist::text(latency, 3, 1),
                listed as f64 / samples.len().max(1) as f64,
                LISTING_TARGET.as_millis()
            );
        }
        let titles: Vec<String> =
            result.titles.iter().map(|(title, n)| format!("{n} × {title}")).collect();
        eprintln!("  titles: {}", titles.join("; "));
        let pending = Dist::of(busy.while_pending());
        eprintln!(
            "  during an explicit inline completion ({:.0} ms to answer{}): {} listings while it ran: {}",
            busy.completion.as_secs_f64() * 1000.0,
            busy.completion_error.as_ref().map_or(String::new(), |err| format!(", error {err}")),
            pending.as_ref().map_or(0, |it| it.n),
            Dist::text(pending, 3, 1)
        );
        eprintln!();
    }
}

// ----- Resolving -----

/// A function in a fixture whose actions are all resolved.
struct Target {
    function: &'static str,
    /// The cursor goes just after this text.
    cursor_after: &'static str,
    /// A diagnostic over this text with this message, for Fix.
    diagnostic: Option<(&'static str, &'static str)>,
}

/// A `hearth.rewrite` over a function (to the end of its last line).
struct Rewrite {
    function: &'static str,
    /// The selection starts at this text and ends before `until` (or at the
    /// end of the text).
    from: &'static str,
    until: Option<&'static str>,
    instruction: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Language {
    Rust,
    Python,
}

impl Language {
    fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
        }
    }
}

struct Fixture {
    name: &'static str,
    language: Language,
    text: &'static str,
    targets: Vec<Target>,
    rewrites: Vec<Rewrite>,
}

/// A Python function with a type error (`n / 2` returned as an `int`), for
/// Fix, and one without, for Rewrite.
const PYTHON_FIX: &str = "\
def halve(n: int) -> int:
    return n / 2


def double(n):
    return n * 2
";

fn fixtures() -> Vec<Fixture> {
    let target = |function, cursor_after| Target { function, cursor_after, diagnostic: None };
    vec![
        Fixture {
            name: "lib.rs",
            language: Language::Rust,
            text: RUST_ACTIONS,
            targets: vec![
                target("add", "a + b"),
                target("largest", "let mut best"),
                target("is_palindrome", "chars.iter()"),
            ],
            rewrites: vec![
                Rewrite {
                    function: "is_palindrome",
                    from: "pub fn is_palindrome",
                    until: None,
                    instruction: "Compare bytes instead of chars.",
                },
                Rewrite {
                    function: "largest",
                    from: "pub fn largest",
                    until: Some("\n\npub fn is_palindrome"),
                    instruction: "Use Iterator::max instead of the loop.",
                },
            ],
        },
        Fixture {
            name: "fix.rs",
            language: Language::Rust,
            text: RUST_TYPE_ERROR,
            targets: vec![Target {
                function: "halve",
                cursor_after: "n / 2",
                diagnostic: Some((
                    "n / 2.0",
                    "mismatched types: expected `i32`, found floating-point number; cannot divide `i32` by `{float}`",
                )),
            }],
            rewrites: Vec::new(),
        },
        Fixture {
            name: "shapes.py",
            language: Language::Python,
            text: PYTHON_ACTIONS,
            targets: vec![
                target("circle_area", "return math.pi"),
                target("Counter.__init__", "self.count = 0"),
                target("Counter.increment", "self.count +="),
            ],
            rewrites: vec![Rewrite {
                function: "circle_area",
                from: "def circle_area",
                until: Some("\n\n\nclass Counter"),
                instruction: "Raise ValueError for a negative radius.",
            }],
        },
        Fixture {
            name: "numbers.py",
            language: Language::Python,
            text: PYTHON_FIX,
            targets: vec![Target {
                function: "halve",
                cursor_after: "return n /",
                diagnostic: Some((
                    "n / 2",
                    "Incompatible return value type (got \"float\", expected \"int\")  [return-value]",
                )),
            }],
            rewrites: vec![Rewrite {
                function: "double",
                from: "def double",
                until: None,
                instruction: "Add a type hint for the argument and the return value.",
            }],
        },
    ]
}

/// The action a title names.
fn kind_of(title: &str) -> &'static str {
    // Rewrite first: its title goes on with the user's instruction.
    let title = title.strip_prefix("Hearth: ").unwrap_or(title);
    if title.starts_with("Rewrite") {
        "Rewrite"
    } else if title.starts_with("Document") {
        "Document"
    } else if title.starts_with("Write a test") {
        "Write a test"
    } else if title.starts_with("Explain") {
        "Explain"
    } else if title.starts_with("Fix") {
        "Fix"
    } else {
        "other"
    }
}

/// What the edited file's check found.
enum Check {
    Passed,
    Failed(String),
    /// The fixture itself does not compile, so the check says nothing.
    NotApplicable,
}

struct Resolved {
    fixture: &'static str,
    language: Language,
    function: &'static str,
    title: String,
    kind: &'static str,
    latency: Duration,
    /// The edits (byte range in the fixture, new text), or the server's
    /// error message.
    outcome: Result<Vec<(Range<usize>, String)>, String>,
    /// The edit leaves the text as it was.
    unchanged: bool,
    check: Option<Check>,
    /// Tokens generated and preemptions, from the server's log.
    generated: Option<(usize, usize)>,
    /// The most tokens the action may generate (`actions::max_tokens`).
    budget: Option<usize>,
}

impl Resolved {
    /// Whether the reply used its whole token budget, so it was cut off.
    fn cut_off(&self) -> bool {
        matches!((self.generated, self.budget), (Some((tokens, _)), Some(budget)) if tokens >= budget)
    }
}

impl Resolved {
    fn json(&self) -> Value {
        let (ok, edits, error) = match &self.outcome {
            Ok(edits) => (
                true,
                edits
                    .iter()
                    .map(|(range, text)| {
                        json!({ "bytes": [range.start, range.end], "newText": text })
                    })
                    .collect(),
                None,
            ),
            Err(err) => (false, Vec::new(), Some(err.clone())),
        };
        let (check, check_errors) = match &self.check {
            Some(Check::Passed) => (json!(true), None),
            Some(Check::Failed(errors)) => (json!(false), Some(errors.clone())),
            Some(Check::NotApplicable) => (json!("n/a"), None),
            None => (Value::Null, None),
        };
        json!({
            "fixture": self.fixture,
            "language": self.language.name(),
            "function": self.function,
            "title": self.title,
            "action": self.kind,
            "ms": self.latency.as_secs_f64() * 1000.0,
            "succeeded": ok,
            "error": error,
            "edits": edits,
            "unchanged": self.unchanged,
            "generatedTokens": self.generated.map(|it| it.0),
            "preemptions": self.generated.map(|it| it.1),
            "tokenBudget": self.budget,
            "cutOff": self.cut_off(),
            "check": check,
            "checkErrors": check_errors,
        })
    }
}

/// Byte range of the first occurrence of `needle`.
fn find(text: &str, needle: &str) -> Range<usize> {
    let start = text.find(needle).unwrap_or_else(|| panic!("{needle:?} in the fixture"));
    start..start + needle.len()
}

fn resolve_fixture(server: &Server, fixture: &Fixture, out: &mut Vec<Resolved>) {
    let text = fixture.text;
    let uri = format!("file:///bench/fixtures/{}", fixture.name);
    server.did_open(&uri, fixture.language.name(), 1, text);
    let encoding = server.position_encoding();
    let baseline = check_source(fixture.language, text, false);
    eprintln!(
        "\n## {} ({}): the fixture itself {}",
        fixture.name,
        fixture.language.name(),
        match &baseline {
            Ok(()) if fixture.language == Language::Rust => "compiles".to_owned(),
            Ok(()) => "parses".to_owned(),
            Err(errors) => format!("does not compile: {}", first_error(errors)),
        }
    );
    for target in &fixture.targets {
        let at = position_of(text, find(text, target.cursor_after).end, encoding);
        let diagnostics = match target.diagnostic {
            Some((over, message)) => json!([diagnostic(server, text, find(text, over), message)]),
            None => json!([]),
        };
        let started = Instant::now();
        let listed = code_actions(server, &uri, at, at, diagnostics);
        let actions = listed.as_array().cloned().unwrap_or_default();
        let titles: Vec<&str> = actions.iter().filter_map(|it| it["title"].as_str()).collect();
        eprintln!(
            "\n### {} in {}: {} actions listed in {:.1} ms: {}",
            target.function,
            fixture.name,
            actions.len(),
            started.elapsed().as_secs_f64() * 1000.0,
            titles.join(", ")
        );
        for action in &actions {
            let title = action["title"].as_str().unwrap_or("?").to_owned();
            let target_bytes = action["data"]["target"]
                .as_array()
                .and_then(|it| Some(it.get(1)?.as_u64()?.saturating_sub(it.first()?.as_u64()?)))
                .map_or(0, |it| usize::try_from(it).unwrap_or(usize::MAX));
            let log_before = server.stderr_tail();
            let started = Instant::now();
            let result = server.request("codeAction/resolve", action.clone());
            let latency = started.elapsed();
            let edit = result.map(|it| it["edit"].clone()).map_err(|err| err.message);
            let attempt = Attempt {
                function: target.function,
                generated: generated_tokens(&log_before, &server.stderr_tail(), &title),
                title,
                latency,
                edit,
                target_bytes,
            };
            out.push(finish(server, fixture, attempt, baseline.is_ok()));
        }
    }
    for rewrite in &fixture.rewrites {
        let start = find(text, rewrite.from).start;
        let end = rewrite.until.map_or(text.trim_end().len(), |until| find(text, until).start);
        let before = applied_edits(server).len();
        let log_before = server.stderr_tail();
        let started = Instant::now();
        let result = fixtures::rewrite(server, &uri, text, start..end, rewrite.instruction);
        let latency = started.elapsed();
        let edit = result.map_err(|err| err.message).and_then(|_| {
            applied_edits(server)
                .get(before)
                .map(|it| it["params"]["edit"].clone())
                .ok_or_else(|| "the command succeeded without a workspace/applyEdit".to_owned())
        });
        eprintln!(
            "\n### Rewrite {} in {}: {:?}",
            rewrite.function, fixture.name, rewrite.instruction
        );
        let log_title = ActionKind::Rewrite.title("selection");
        let attempt = Attempt {
            function: rewrite.function,
            generated: generated_tokens(&log_before, &server.stderr_tail(), &log_title),
            title: format!("{log_title}: {}", rewrite.instruction),
            latency,
            edit,
            target_bytes: end - start,
        };
        out.push(finish(server, fixture, attempt, baseline.is_ok()));
    }
    server.did_close(&uri);
}

/// One resolve (or rewrite) as it came back from the server.
struct Attempt {
    function: &'static str,
    title: String,
    latency: Duration,
    /// The workspace edit, or the server's error message.
    edit: Result<Value, String>,
    /// The action's target (or the rewrite's selection), for the budget.
    target_bytes: usize,
    /// Tokens generated and preemptions, from the server's log.
    generated: Option<(usize, usize)>,
}

/// The tokens an action generated and how often completions preempted it,
/// from the line the server logs when an action's reply is in
/// (`{title}: N tokens, M preemptions, …`), looked for in the part of the
/// log's tail written since `before`. `None` when the action failed before
/// logging it.
fn generated_tokens(before: &str, after: &str, log_title: &str) -> Option<(usize, usize)> {
    let mut mark = before.len().saturating_sub(256);
    while !before.is_char_boundary(mark) {
        mark += 1;
    }
    let new = match after.rfind(&before[mark..]) {
        Some(at) if !before.is_empty() => &after[at + before.len() - mark..],
        _ => after,
    };
    let needle = format!("{log_title}: ");
    let line =
        new.lines().rev().find(|line| line.contains(&needle) && line.contains(" tokens, "))?;
    let rest = &line[line.find(&needle)? + needle.len()..];
    let number = |text: &str| text.split_whitespace().next()?.parse::<usize>().ok();
    let tokens = number(rest)?;
    let preemptions = number(rest.split_once(" tokens, ")?.1)?;
    Some((tokens, preemptions))
}

/// The server's action for a label of [`kind_of`].
fn action_kind(kind: &str) -> Option<ActionKind> {
    match kind {
        "Document" => Some(ActionKind::Document),
        "Write a test" => Some(ActionKind::WriteTest),
        "Explain" => Some(ActionKind::Explain),
        "Fix" => Some(ActionKind::Fix),
        "Rewrite" => Some(ActionKind::Rewrite),
        _ => None,
    }
}

/// Applies a resolved edit to the fixture, checks the result and prints it.
fn finish(server: &Server, fixture: &Fixture, attempt: Attempt, baseline_ok: bool) -> Resolved {
    let Attempt { function, title, latency, edit, target_bytes, generated } = attempt;
    let kind = kind_of(&title);
    let budget = action_kind(kind).map(|it| max_tokens(it, target_bytes) as usize);
    let edits = edit.and_then(|edit| edits_of(fixture.text, &edit, server.position_encoding()));
    let mut unchanged = false;
    let (outcome, check) = match edits {
        Ok(edits) => {
            let edited = apply(fixture.text, &edits);
            unchanged = edited == fixture.text;
            let applies = baseline_ok || kind == "Fix";
            let check = if applies {
                match check_source(fixture.language, &edited, kind == "Write a test") {
                    Ok(()) => Check::Passed,
                    Err(errors) => Check::Failed(errors),
                }
            } else {
                Check::NotApplicable
            };
            (Ok(edits), Some(check))
        }
        Err(err) => (Err(err), None),
    };
    let tokens = match (generated, budget) {
        (Some((tokens, preemptions)), Some(budget)) => {
            let cut = if tokens >= budget { " (the whole budget: cut off)" } else { "" };
            let preempted = if preemptions > 0 {
                format!(", preempted {preemptions}×")
            } else {
                String::new()
            };
            format!("{tokens} of {budget} tokens{cut}{preempted}, ")
        }
        _ => String::new(),
    };
    let verdict = match (&outcome, &check) {
        (Err(err), _) => format!("FAILED: {err}"),
        (Ok(_), _) if unchanged => "ok, but the edit changes nothing".to_owned(),
        (Ok(_), Some(Check::Passed)) if fixture.language == Language::Rust => {
            "ok, compiles".to_owned()
        }
        (Ok(_), Some(Check::Passed)) => "ok, parses".to_owned(),
        (Ok(_), Some(Check::Failed(errors))) => {
            let what = match fixture.language {
                Language::Rust => "does not compile",
                Language::Python => "does not parse",
            };
            format!("ok, but the file {what}: {}", first_error(errors))
        }
        (Ok(_), _) => "ok (the fixture does not compile, so the check is moot)".to_owned(),
    };
    eprintln!("{title} [{function}]: {:.1} s, {tokens}{verdict}", latency.as_secs_f64());
    if let Ok(edits) = &outcome {
        for (_, text) in edits {
            eprintln!("{}", shown(text));
        }
    }
    Resolved {
        fixture: fixture.name,
        language: fixture.language,
        function,
        title,
        kind,
        latency,
        outcome,
        unchanged,
        check,
        generated,
        budget,
    }
}

/// The first `SHOWN_LINES` lines of `text`, indented, with a count of the
/// rest.
fn shown(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end_matches('\n').lines().collect();
    let mut out: Vec<String> =
        lines.iter().take(SHOWN_LINES).map(|l| format!("    │ {l}")).collect();
    if lines.len() > SHOWN_LINES {
        out.push(format!("    │ … ({} more lines)", lines.len() - SHOWN_LINES));
    }
    out.join("\n")
}

/// The first line of a compiler's or parser's complaint.
fn first_error(errors: &str) -> String {
    let line = errors
        .lines()
        .find(|l| l.starts_with("error") || l.contains("Error"))
        .or_else(|| errors.lines().next())
        .unwrap_or_default();
    line.trim().to_owned()
}

/// Whether `source` compiles (Rust, as a library or with `test` its tests)
/// or parses (Python): the compiler's or parser's errors when not.
fn check_source(language: Language, source: &str, test: bool) -> Result<(), String> {
    let (tool, checked) = match language {
        Language::Rust => ("rustc", rustc(source, test)),
        Language::Python => ("python3", python_parses(source)),
    };
    checked.unwrap_or_else(|err| Err(format!("cannot run {tool}: {err}")))
}

// ----- Summary -----

/// Resolves grouped by action and language, in a stable order.
fn groups(resolved: &[Resolved]) -> Vec<((&'static str, Language), Vec<&Resolved>)> {
    let order = ["Document", "Explain", "Write a test", "Fix", "Rewrite", "other"];
    let mut groups: BTreeMap<(usize, Language), Vec<&Resolved>> = BTreeMap::new();
    for it in resolved {
        let rank = order.iter().position(|kind| *kind == it.kind).unwrap_or(order.len());
        groups.entry((rank, it.language)).or_default().push(it);
    }
    groups
        .into_iter()
        .map(|((rank, language), items)| ((order[rank.min(order.len() - 1)], language), items))
        .collect()
}

/// A group's counts for the summary table.
struct Counts {
    count: usize,
    succeeded: usize,
    /// Succeeded, but the edit leaves the text as it was.
    unchanged: usize,
    /// The edited file compiles (Rust) or parses (Python).
    checked: usize,
    /// The fixture itself does not compile, so the check says nothing.
    moot: usize,
    /// The reply used its whole token budget.
    cut_off: usize,
}

impl Counts {
    fn of(items: &[&Resolved]) -> Counts {
        let count = |keep: &dyn Fn(&Resolved) -> bool| items.iter().filter(|it| keep(it)).count();
        Counts {
            count: items.len(),
            succeeded: count(&|it| it.outcome.is_ok()),
            unchanged: count(&|it| it.unchanged),
            checked: count(&|it| matches!(it.check, Some(Check::Passed))),
            moot: count(&|it| matches!(it.check, Some(Check::NotApplicable))),
            cut_off: count(&Resolved::cut_off),
        }
    }
}

fn print_summary(resolved: &[Resolved]) {
    eprintln!("\n## Resolve summary\n");
    eprintln!(
        "| action | language | count | succeeded | of which unchanged | compiled / parsed | cut at token budget | resolve p50 | resolve max |"
    );
    eprintln!("|---|---|---|---|---|---|---|---|---|");
    for ((kind, language), items) in groups(resolved) {
        let Counts { count, succeeded, unchanged, checked, moot, cut_off } = Counts::of(&items);
        let latency = Dist::of(items.iter().map(|it| it.latency));
        let checked =
            if moot > 0 { format!("{checked} (+{moot} n/a)") } else { checked.to_string() };
        eprintln!(
            "| {kind} | {} | {count} | {succeeded} | {unchanged} | {checked} | {cut_off} | {:.1} s | {:.1} s |",
            language.name(),
            latency.as_ref().map_or(0.0, |it| it.p50 / 1000.0),
            latency.as_ref().map_or(0.0, |it| it.max / 1000.0),
        );
    }
    let failures: Vec<&Resolved> = resolved.iter().filter(|it| it.outcome.is_err()).collect();
    if !failures.is_empty() {
        eprintln!("\nfailures:");
        for it in failures {
            eprintln!(
                "  {} {} [{}]: {}",
                it.fixture,
                it.title,
                it.function,
                it.outcome.as_ref().err().map_or("", String::as_str)
            );
        }
    }
    let broken: Vec<&Resolved> =
        resolved.iter().filter(|it| matches!(it.check, Some(Check::Failed(_)))).collect();
    if !broken.is_empty() {
        eprintln!("\nedits that leave the file failing its check:");
        for it in broken {
            if let Some(Check::Failed(errors)) = &it.check {
                eprintln!(
                    "  {} {} [{}]: {}",
                    it.fixture,
                    it.title,
                    it.function,
                    first_error(errors)
                );
            }
        }
    }
}

fn summary_json(resolved: &[Resolved]) -> Value {
    json!(
        groups(resolved)
            .into_iter()
            .map(|((kind, language), items)| {
                let counts = Counts::of(&items);
                json!({
                    "action": kind,
                    "language": language.name(),
                    "count": counts.count,
                    "succeeded": counts.succeeded,
                    "unchanged": counts.unchanged,
                    "checked": counts.checked,
                    "checkNotApplicable": counts.moot,
                    "cutOff": counts.cut_off,
                    "latency": Dist::json(Dist::of(items.iter().map(|it| it.latency))),
                })
            })
            .collect::<Vec<_>>()
    )
}
