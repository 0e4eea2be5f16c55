//! Typing replay: what a user typing in an editor with automatic inline
//! completion gets from Hearth, keystroke by keystroke.
//!
//! Each case is a real file with one line taken out. The bench opens the file
//! without that line in the real `hearth` binary, as an editor would, and
//! types the line back one character per keystroke at a steady pace (a
//! keystroke every 80 ms by default). After each keystroke it sends an
//! automatic `textDocument/inlineCompletion` request and never cancels an
//! older one, as Neovim and Helix do. It measures:
//!
//! - the latency of every response, and whether every request got exactly one
//!   response (the server promises that, superseded requests included);
//! - where the answers came from (the suggestion cache, a speculation computed
//!   ahead of time, the model, or nothing because the request was skipped or
//!   superseded), from the server's own counters (`hearth/completionStats`);
//! - how often the suggestion completes the rest of the line exactly, and how
//!   often it also arrived before the next keystroke, so a user at that pace
//!   saw it.
//!
//! The cases are derived at run time from code nobody on this project wrote
//! and every machine that builds Hearth has: the sources of the dependency
//! crates in cargo's registry (found through `cargo metadata`) and the Python
//! standard library. A seed makes the choice deterministic for a given
//! `Cargo.lock` and Python version. `--cases FILE.jsonl` runs a case file in
//! the format of the public evaluation cases instead (`id`, `language`, `kind`,
//! `path`, `prefix`, `suffix`, `expected`; the editor shows `prefix + suffix`).
//!
//! Attributing a response to a source: after each response arrives, one
//! collector thread asks for the counters. When the counters account for
//! exactly the responses received so far, both before and after this one, the
//! one counter that moved is this response's source. Responses that arrive
//! too close together to tell apart are counted as unattributed.
//!
//! Run: `cargo bench -p hearth-benches --bench typing_replay -- [--count N]
//! [--seed N] [--interval-ms N] [--cases FILE.jsonl] [--kinds line,mid]
//! [--json OUT] [--timeout-s N] [--wait] [--keys N] [--build] [--list]`.
//! `--wait` makes the typist wait for each response (and then the interval)
//! before the next keystroke, as `typing_replay.py` does, so every request
//! finds the model idle; `--keys N` types only the first N characters of each
//! line. `--list` prints the cases and runs nothing. Needs the default model
//! (`scripts/fetch-model`) and `target/release/hearth` (built when missing, or
//! always with `--build`).
#![allow(clippy::print_stdout, reason = "a benchmark reports its figures on stdout")]

use std::{
    collections::{HashMap, HashSet},
    panic::AssertUnwindSafe,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    sync::mpsc,
    time::{Duration, Instant},
};

use hearth_benches::{
    report::{Dist, cpu_model, load_average, logical_cpus},
    server::{bench_main, check_model, ensure_binary, number, wait_for_model, workspace_root},
};
use hearth_tests::{
    Server, ServerOptions,
    rng::Rng,
    text::{Change, Encoding, Position, offset_of},
};
use serde_json::{Value, json};

const USAGE: &str = "usage: typing_replay [--count N] [--seed N] [--interval-ms N] \
[--cases FILE.jsonl] [--kinds line,mid] [--json OUT] [--timeout-s N] [--wait] [--keys N] [--build] [--list]";

/// Derived cases when `--count` is not given.
const DEFAULT_COUNT: usize = 24;

/// Responses faster than this are answered without the model in practice;
/// the latency figures show the split for comparison with the counters.
const FAST: Duration = Duration::from_millis(30);

fn main() -> ExitCode {
    bench_main("typing_replay", USAGE, Args::parse(std::env::args().skip(1)), run)
}

fn run(args: &Args) -> Result<(), String> {
    if args.list {
        return list_cases(args);
    }
    let binary = ensure_binary(args.build)?;
    // SAFETY: no other thread exists yet; the client reads `HEARTH_BIN` to
    // find the binary.
    unsafe { std::env::set_var("HEARTH_BIN", &binary) };
    let model = check_model()?;
    let (cases, origin) = load_cases(args)?;
    if cases.is_empty() {
        return Err("no cases to replay".to_owned());
    }
    let load_before = load_average();
    println!("# Hearth typing replay");
    println!("machine: {}, {} logical CPUs", cpu_model(), logical_cpus());
    println!("binary:  {}", binary.display());
    println!("model:   {}", model.display());
    println!("cases:   {origin}");
    let pace = if args.wait {
        format!(
            "each response awaited, then {} ms to the next keystroke",
            args.interval.as_millis()
        )
    } else {
        format!("a keystroke every {} ms", args.interval.as_millis())
    };
    let keys =
        args.keys.map_or(String::new(), |n| format!(", the first {n} characters of each line"));
    println!("typing:  {pace}{keys}, an automatic inline request after each, none cancelled");
    println!("load:    {load_before} (1, 5, 15 min) at start");

    let started = Instant::now();
    let mut server =
        Server::start(ServerOptions { inline_completion: true, ..ServerOptions::default() });
    server.timeout = args.timeout;
    wait_for_model(&server)?;
    let model_ready = started.elapsed();
    eprintln!("model ready after {:.1} s", model_ready.as_secs_f64());

    let before = Stats::query(&server);
    let replay_started = Instant::now();
    let mut results = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let result = replay_case(&server, case, index, args);
        eprintln!("[{}/{}] {}", index + 1, cases.len(), result.progress_line());
        results.push(result);
    }
    let replay_time = replay_started.elapsed();
    let total = Stats::query(&server).since(before);
    let delivery = check_delivery(&server, &results);
    let exit = server.shutdown_and_exit();
    if !exit.success() {
        eprintln!("warning: hearth exited with {exit}");
    }

    let report = Report::new(&cases, &results, total, delivery);
    report.print();
    println!(
        "time:    {:.1} s replaying, {:.1} s loading the model",
        replay_time.as_secs_f64(),
        model_ready.as_secs_f64()
    );
    println!("load:    {} (1, 5, 15 min) at end", load_average());
    if let Some(path) = &args.json {
        let value = json!({
            "machine": { "cpu": cpu_model(), "logicalCpus": logical_cpus() },
            "cases": origin,
            "intervalMs": args.interval.as_millis() as u64,
            "wait": args.wait,
            "keys": args.keys,
            "loadAtStart": load_before,
            "loadAtEnd": load_average(),
            "modelReadyS": model_ready.as_secs_f64(),
            "replayS": replay_time.as_secs_f64(),
            "summary": report.json(),
            "perCase": results.iter().map(CaseResult::json).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&value).expect("serialize the results");
        std::fs::write(path, text)
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        println!("json:    {}", path.display());
    }
    Ok(())
}

/// Prints the cases without running them, to see what a seed picks.
fn list_cases(args: &Args) -> Result<(), String> {
    let (cases, origin) = load_cases(args)?;
    println!("cases: {origin}");
    for case in &cases {
        println!("{:<40} {:<50} {:?}", case.id, case.path, case.line());
    }
    Ok(())
}

// ----- Arguments -----

struct Args {
    cases: Option<PathBuf>,
    count: Option<usize>,
    seed: u64,
    interval: Duration,
    kinds: Vec<String>,
    json: Option<PathBuf>,
    timeout: Duration,
    build: bool,
    list: bool,
    /// Wait for each response before the next keystroke.
    wait: bool,
    /// Type at most this many characters of each line.
    keys: Option<usize>,
}

impl Args {
    fn parse(mut raw: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            cases: None,
            count: None,
            seed: 1,
            interval: Duration::from_millis(80),
            kinds: vec!["line".to_owned(), "mid".to_owned()],
            json: None,
            timeout: Duration::from_secs(120),
            build: false,
            list: false,
            wait: false,
            keys: None,
        };
        while let Some(flag) = raw.next() {
            let mut value = || raw.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                // `cargo bench` passes `--bench` to every bench without a harness.
                "--bench" => {}
                "--cases" => args.cases = Some(value()?.into()),
                "--count" => args.count = Some(number(&value()?)?),
                "--seed" => args.seed = number(&value()?)?,
                "--interval-ms" => args.interval = Duration::from_millis(number(&value()?)?),
                "--kinds" => args.kinds = value()?.split(',').map(str::to_owned).collect(),
                "--json" => args.json = Some(value()?.into()),
                "--timeout-s" => args.timeout = Duration::from_secs(number(&value()?)?),
                "--build" => args.build = true,
                "--list" => args.list = true,
                "--wait" => args.wait = true,
                "--keys" => args.keys = Some(number(&value()?)?),
                "-h" | "--help" => return Err("typing replay benchmark".to_owned()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}

// ----- Cases -----

/// One line to type: the editor shows `prefix + suffix` with the cursor
/// between them, and the user types the first line of `expected`.
#[derive(Clone, Debug)]
struct Case {
    id: String,
    language: String,
    kind: String,
    path: String,
    prefix: String,
    suffix: String,
    expected: String,
}

impl Case {
    fn from_json(value: &Value) -> Option<Case> {
        let field = |name: &str| value.get(name)?.as_str().map(str::to_owned);
        Some(Case {
            id: field("id")?,
            language: field("language")?,
            kind: field("kind")?,
            path: field("path").unwrap_or_default(),
            prefix: field("prefix")?,
            suffix: field("suffix")?,
            expected: field("expected")?,
        })
    }

    /// What the user types: the expected text up to its first line break.
    fn line(&self) -> &str {
        self.expected.split('\n').next().unwrap_or_default()
    }

    fn uri(&self, index: usize) -> String {
        let name: String = self
            .path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "._-/".contains(c) { c } else { '_' })
            .collect();
        let name = if name.is_empty() { format!("case.{}", self.language) } else { name };
        format!("file:///replay/{index}/{}", name.trim_start_matches('/'))
    }
}

/// The cases to replay and a line saying where they came from.
fn load_cases(args: &Args) -> Result<(Vec<Case>, String), String> {
    match &args.cases {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
            let mut cases = Vec::new();
            for (n, line) in text.lines().enumerate().filter(|(_, it)| !it.trim().is_empty()) {
                let value: Value = serde_json::from_str(line)
                    .map_err(|err| format!("{}:{}: {err}", path.display(), n + 1))?;
                let case = Case::from_json(&value)
                    .ok_or_else(|| format!("{}:{}: not a case", path.display(), n + 1))?;
                if args.kinds.contains(&case.kind) && !case.line().is_empty() {
                    cases.push(case);
                }
            }
            cases.truncate(args.count.unwrap_or(usize::MAX));
            let origin = format!(
                "{} ({} cases of kinds {}, in file order)",
                path.display(),
                cases.len(),
                args.kinds.join(",")
            );
            Ok((cases, origin))
        }
        None => derive_cases(args.count.unwrap_or(DEFAULT_COUNT), args.seed),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Language {
    Rust,
    Python,
}

impl Language {
    fn id(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
        }
    }

    fn is_comment(self, body: &str) -> bool {
        match self {
            Language::Rust => body.starts_with("//") || body.starts_with('*'),
            Language::Python => body.starts_with('#'),
        }
    }

    /// Whether a block comment (Rust) or a triple-quoted string (Python) is
    /// open after `body`, given whether one was open before it. Strings that
    /// hold the markers can fool it; a few prose lines more or less do not
    /// matter for picking code lines.
    fn block_open_after(self, body: &str, open: bool) -> bool {
        match self {
            Language::Rust if open => !body.contains("*/"),
            Language::Rust => body.matches("/*").count() > body.matches("*/").count(),
            Language::Python => {
                let quotes = body.matches("\"\"\"").count() + body.matches("'''").count();
                open ^ (quotes % 2 == 1)
            }
        }
    }
}

/// Files of one language, grouped (a crate, a top-level Python module or
/// package) so that the choice spreads over groups rather than following the
/// largest one.
struct Corpus {
    language: Language,
    /// `(group, files)`; paths are shown relative to `shown_from`.
    groups: Vec<Vec<PathBuf>>,
    shown_from: PathBuf,
    description: String,
}

/// The crates to take Rust from, when the lock file has them: well-known,
/// varied code. Any registry crate is used when none of them is there.
const RUST_CRATES: [&str; 10] = [
    "tokio",
    "serde",
    "serde_json",
    "ropey",
    "tree-sitter",
    "clap_builder",
    "regex-automata",
    "futures-util",
    "tracing-subscriber",
    "indexmap",
];

/// Source files outside this size range are skipped, as in the public cases.
const FILE_SIZES: std::ops::RangeInclusive<u64> = 800..=120_000;

/// Picks `count` cases, half Rust and half Python, alternating.
fn derive_cases(count: usize, seed: u64) -> Result<(Vec<Case>, String), String> {
    let rust = rust_corpus()?;
    let python = match python_corpus() {
        Ok(source) => Some(source),
        Err(err) => {
            eprintln!("warning: no Python cases: {err}");
            None
        }
    };
    let mut rng = Rng::new(seed);
    let mut seen = HashSet::new();
    let mut cases = Vec::new();
    for n in 0..count {
        let source = match &python {
            Some(python) if n % 2 == 1 => python,
            _ => &rust,
        };
        cases.push(
            pick_case(source, &mut rng, &mut seen)
                .ok_or_else(|| format!("no usable {} file found", source.language.id()))?,
        );
    }
    let mut origin = format!("{count} derived with seed {seed}: {}", rust.description);
    if let Some(python) = &python {
        origin = format!("{origin}; {}", python.description);
    }
    Ok((cases, origin))
}

/// One case from a file of `source` not used yet: a code line, typed after
/// its indentation.
fn pick_case(source: &Corpus, rng: &mut Rng, seen: &mut HashSet<PathBuf>) -> Option<Case> {
    for _ in 0..1000 {
        let group = rng.pick(&source.groups);
        let file = rng.pick(group);
        if seen.contains(file) {
            continue;
        }
        if let Some(case) = case_from_file(source, file, rng) {
            seen.insert(file.clone());
            return Some(case);
        }
    }
    None
}

fn case_from_file(source: &Corpus, file: &Path, rng: &mut Rng) -> Option<Case> {
    let text = std::fs::read_to_string(file).ok()?;
    if text.contains('\r') {
        return None;
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let candidates: Vec<usize> =
        code_lines(&lines, source.language).into_iter().filter(|&i| i > 5).collect();
    if candidates.is_empty() {
        return None;
    }
    let line = *rng.pick(&candidates);
    let line_start: usize = lines[..line].iter().map(|it| it.len() + 1).sum();
    let indent = lines[line].len() - lines[line].trim_start_matches([' ', '\t']).len();
    let start = line_start + indent;
    let end = line_start + lines[line].len();
    let shown = file.strip_prefix(&source.shown_from).unwrap_or(file).display().to_string();
    let name = file.file_name()?.to_string_lossy();
    Some(Case {
        id: format!("{}:{name}:{}:line", source.language.id(), line + 1),
        language: source.language.id().to_owned(),
        kind: "line".to_owned(),
        path: shown,
        prefix: text[..start].to_owned(),
        suffix: text[end..].to_owned(),
        expected: text[start..end].to_owned(),
    })
}

/// The indices of lines that are real code: not blank, not a comment, not
/// inside a block comment or docstring, 12 to 80 characters after the
/// indentation, without trailing blanks, with at least five letters or digits.
fn code_lines(lines: &[&str], language: Language) -> Vec<usize> {
    let mut out = Vec::new();
    let mut in_block = false;
    for (i, line) in lines.iter().enumerate() {
        let body = line.trim_start_matches([' ', '\t']);
        let was_in_block = in_block;
        in_block = language.block_open_after(body, in_block);
        let chars = body.chars().count();
        let usable = !was_in_block
            && !in_block
            && (12..=80).contains(&chars)
            && body.trim_end() == body
            && !language.is_comment(body)
            && !body.contains("/*")
            && body.chars().filter(|c| c.is_alphanumeric()).count() >= 5;
        if usable {
            out.push(i);
        }
    }
    out
}

/// The sources of well-known dependency crates in cargo's registry.
fn rust_corpus() -> Result<Corpus, String> {
    let metadata = cargo_metadata()?;
    let mut crates: Vec<(String, String, PathBuf)> = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata without packages")?
        .iter()
        .filter(|p| p["source"].as_str().is_some_and(|it| it.starts_with("registry+")))
        .filter_map(|p| {
            let dir = Path::new(p["manifest_path"].as_str()?).parent()?.to_owned();
            let name = p["name"].as_str()?.to_owned();
            let version = p["version"].as_str()?.to_owned();
            dir.join("src").is_dir().then_some((name, version, dir))
        })
        .collect();
    crates.sort();
    if crates.iter().any(|(name, ..)| RUST_CRATES.contains(&name.as_str())) {
        crates.retain(|(name, ..)| RUST_CRATES.contains(&name.as_str()));
    }
    let groups: Vec<Vec<PathBuf>> = crates
        .iter()
        .map(|(.., dir)| files_with_extension(&dir.join("src"), "rs"))
        .filter(|files| !files.is_empty())
        .collect();
    if groups.is_empty() {
        return Err("no crate sources in cargo's registry (build the project first)".to_owned());
    }
    let names: Vec<String> =
        crates.iter().map(|(name, version, _)| format!("{name} {version}")).collect();
    let shown_from = crates[0].2.parent().map(Path::to_owned).unwrap_or_default();
    Ok(Corpus {
        language: Language::Rust,
        groups,
        shown_from,
        description: format!("Rust from {}", names.join(", ")),
    })
}

fn cargo_metadata() -> Result<Value, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let run = |offline: bool| {
        let mut command = Command::new(&cargo);
        command.args(["metadata", "--format-version", "1"]).current_dir(workspace_root());
        if offline {
            command.arg("--offline");
        }
        command.output().ok().filter(|it| it.status.success())
    };
    let output = run(true).or_else(|| run(false)).ok_or("cargo metadata failed")?;
    serde_json::from_slice(&output.stdout).map_err(|err| format!("cargo metadata: {err}"))
}

/// The Python standard library, without its tests and bundled tools.
fn python_corpus() -> Result<Corpus, String> {
    let output = Command::new("python3")
        .args(["-c", "import sys, sysconfig; print(sysconfig.get_paths()['stdlib']); print(sys.version.split()[0])"])
        .output()
        .map_err(|err| format!("cannot run python3: {err}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let (Some(stdlib), Some(version)) = (lines.next(), lines.next()) else {
        return Err("python3 did not print its standard library's path".to_owned());
    };
    let stdlib = PathBuf::from(stdlib);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&stdlib)
        .map_err(|err| format!("cannot read {}: {err}", stdlib.display()))?
        .filter_map(|it| Some(it.ok()?.path()))
        .collect();
    entries.sort();
    let groups: Vec<Vec<PathBuf>> = entries
        .iter()
        .filter(|path| !is_excluded_dir(path))
        .map(|path| {
            if path.is_dir() {
                files_with_extension(path, "py")
            } else if path.extension().is_some_and(|it| it == "py") && has_usable_size(path) {
                vec![path.clone()]
            } else {
                Vec::new()
            }
        })
        .filter(|files| !files.is_empty())
        .collect();
    if groups.is_empty() {
        return Err(format!("no Python files under {}", stdlib.display()));
    }
    Ok(Corpus {
        language: Language::Python,
        groups,
        shown_from: stdlib.parent().map(Path::to_owned).unwrap_or_default(),
        description: format!("Python {version} standard library ({})", stdlib.display()),
    })
}

/// Tests, generated code, demos and installed packages are not the standard
/// library's ordinary code.
fn is_excluded_dir(path: &Path) -> bool {
    let name = path.file_name().map(|it| it.to_string_lossy()).unwrap_or_default();
    ["test", "tests", "idle_test", "__pycache__", "site-packages", "dist-packages", "lib2to3"]
        .contains(&name.as_ref())
        || ["idlelib", "turtledemo", "ensurepip", "pydoc_data"].contains(&name.as_ref())
        || name.starts_with("config-")
        || name.starts_with("test_")
}

fn has_usable_size(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|it| FILE_SIZES.contains(&it.len()))
}

/// Files under `dir` with `extension` and a usable size, sorted, skipping
/// excluded directories.
fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() && !is_excluded_dir(&path) {
                pending.push(path);
            } else if kind.is_file()
                && path.extension().is_some_and(|it| it == extension)
                && has_usable_size(&path)
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

// ----- Replaying one case -----

/// Counters from `hearth/completionStats`, cumulative since the model loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Stats {
    answered: u64,
    skipped: u64,
    from_cache: u64,
    from_speculation: u64,
    from_model: u64,
    empty: u64,
    superseded: u64,
}

impl Stats {
    /// The counters now; zeros while no model is ready (`null`).
    fn query(server: &Server) -> Stats {
        let value = server
            .request("hearth/completionStats", Value::Null)
            .unwrap_or_else(|err| server.fail(&format!("hearth/completionStats: {err}")));
        let count = |name: &str| value[name].as_u64().unwrap_or(0);
        Stats {
            answered: count("answered"),
            skipped: count("skipped"),
            from_cache: count("fromCache"),
            from_speculation: count("fromSpeculation"),
            from_model: count("fromModel"),
            empty: count("empty"),
            superseded: count("superseded"),
        }
    }

    fn since(self, base: Stats) -> Stats {
        Stats {
            answered: self.answered.saturating_sub(base.answered),
            skipped: self.skipped.saturating_sub(base.skipped),
            from_cache: self.from_cache.saturating_sub(base.from_cache),
            from_speculation: self.from_speculation.saturating_sub(base.from_speculation),
            from_model: self.from_model.saturating_sub(base.from_model),
            empty: self.empty.saturating_sub(base.empty),
            superseded: self.superseded.saturating_sub(base.superseded),
        }
    }

    /// Every request the counters know the end of.
    fn counted(self) -> u64 {
        self.answered + self.superseded
    }

    fn by_source(self) -> [(Source, u64); 5] {
        [
            (Source::Cache, self.from_cache),
            (Source::Speculation, self.from_speculation),
            (Source::Model, self.from_model),
            (Source::Skipped, self.skipped),
            (Source::Superseded, self.superseded),
        ]
    }

    /// The one source a delta of exactly one request names.
    fn single_source(self) -> Option<Source> {
        let moved: Vec<Source> =
            self.by_source().into_iter().filter(|(_, n)| *n > 0).map(|(it, _)| it).collect();
        match moved[..] {
            [source] if self.counted() == 1 => Some(source),
            _ => None,
        }
    }

    fn json(self) -> Value {
        json!({
            "answered": self.answered,
            "skipped": self.skipped,
            "fromCache": self.from_cache,
            "fromSpeculation": self.from_speculation,
            "fromModel": self.from_model,
            "empty": self.empty,
            "superseded": self.superseded,
        })
    }
}

/// Where one response came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Source {
    Cache,
    Speculation,
    Model,
    /// The server judged the place one to stay quiet at.
    Skipped,
    /// A newer request replaced or cancelled this one.
    Superseded,
}

impl Source {
    const ALL: [Source; 5] =
        [Source::Cache, Source::Speculation, Source::Model, Source::Skipped, Source::Superseded];

    fn name(self) -> &'static str {
        match self {
            Source::Cache => "cache",
            Source::Speculation => "speculation",
            Source::Model => "model",
            Source::Skipped => "skipped",
            Source::Superseded => "superseded",
        }
    }
}

/// A response as the waiting thread saw it arrive.
struct Arrival {
    keystroke: usize,
    at: Instant,
    /// `None` when no response came within the timeout.
    response: Option<Value>,
}

/// One keystroke's request and what became of it.
#[derive(Clone, Debug)]
struct Keystroke {
    id: i64,
    sent: Instant,
    /// When the response arrived, if it did.
    arrived: Option<Instant>,
    /// The suggestion's text between the cursor and the rest of the document.
    suggestion: Option<String>,
    source: Option<Source>,
    /// Some text of the line was still to be typed after this keystroke.
    open: bool,
    /// The suggestion completes the rest of the line exactly.
    hit: bool,
}

impl Keystroke {
    fn latency(&self) -> Option<Duration> {
        Some(self.arrived?.duration_since(self.sent))
    }
}

struct CaseResult {
    id: String,
    language: String,
    path: String,
    keystrokes: Vec<Keystroke>,
    /// The counters' movement over the case.
    stats: Stats,
    /// Responses that arrived before a response to an older request.
    out_of_order: usize,
}

impl CaseResult {
    /// Whether keystroke `k`'s response arrived before keystroke `k + 1` was
    /// sent, so that the user saw it (the last one always counts).
    fn in_time(&self, k: usize) -> bool {
        match (self.keystrokes[k].arrived, self.keystrokes.get(k + 1)) {
            (Some(arrived), Some(next)) => arrived <= next.sent,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    fn hits(&self) -> usize {
        self.keystrokes.iter().filter(|it| it.hit).count()
    }

    fn progress_line(&self) -> String {
        let first = self.keystrokes.first().and_then(Keystroke::latency);
        let sources: Vec<String> = self
            .stats
            .by_source()
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(source, n)| format!("{} {n}", source.name()))
            .collect();
        format!(
            "{}: {} keys, first {}, hits {}/{}, {}",
            self.id,
            self.keystrokes.len(),
            first.map_or("none".to_owned(), |it| format!("{} ms", it.as_millis())),
            self.hits(),
            self.keystrokes.iter().filter(|it| it.open).count(),
            sources.join(", "),
        )
    }

    fn json(&self) -> Value {
        let keystrokes: Vec<Value> = self
            .keystrokes
            .iter()
            .enumerate()
            .map(|(k, it)| {
                json!({
                    "k": k + 1,
                    "latencyMs": it.latency().map(|d| d.as_secs_f64() * 1000.0),
                    "source": it.source.map(Source::name),
                    "suggestion": it.suggestion,
                    "hit": it.hit,
                    "inTime": self.in_time(k),
                })
            })
            .collect();
        json!({
            "id": self.id,
            "language": self.language,
            "path": self.path,
            "stats": self.stats.json(),
            "outOfOrder": self.out_of_order,
            "keystrokes": keystrokes,
        })
    }
}

/// Opens the case's document, types its line with a request after each
/// keystroke, waits for every response and closes the document.
fn replay_case(server: &Server, case: &Case, index: usize, args: &Args) -> CaseResult {
    let uri = case.uri(index);
    server.did_open(&uri, &case.language, 1, &format!("{}{}", case.prefix, case.suffix));
    let line = case.prefix.matches('\n').count() as u32;
    let line_start = case.prefix.rfind('\n').map_or(0, |it| it + 1);
    let mut column = Encoding::Utf16.len(&case.prefix[line_start..]);
    let mut typed: Vec<char> = case.line().chars().collect();
    typed.truncate(args.keys.unwrap_or(usize::MAX));
    // The counters now cover every earlier request, since all were answered.
    let base = Stats::query(server);

    let (sent, arrivals) = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<Arrival>();
        let collector = scope.spawn(move || collect(server, case, rx, base));
        let (done_tx, done_rx) = mpsc::channel::<()>();
        // A fixed schedule, so that slow responses never slow the typist,
        // unless it waits for each response.
        let mut due = Instant::now() + args.interval;
        let mut sent = Vec::new();
        for (k, ch) in typed.iter().enumerate() {
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let at = Position::new(line, column);
            server.did_change(&uri, k as i32 + 2, &[Change::range(at, at, ch.to_string())]);
            column += Encoding::Utf16.units(*ch);
            let params = json!({
                "textDocument": { "uri": uri },
                "position": Position::new(line, column).to_json(),
                "context": { "triggerKind": 2 },
            });
            let id = server.request_async("textDocument/inlineCompletion", params);
            sent.push((id, Instant::now()));
            let tx = tx.clone();
            let done_tx = done_tx.clone();
            let timeout = args.timeout;
            scope.spawn(move || {
                // A missing response makes the client panic with the server's
                // log; it is counted here instead of ending the run.
                let response = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    server.wait_response(id, timeout)
                }))
                .ok();
                let _ = tx.send(Arrival { keystroke: k, at: Instant::now(), response });
                let _ = done_tx.send(());
            });
            if args.wait {
                let _ = done_rx.recv();
                due = Instant::now() + args.interval;
            } else {
                due += args.interval;
            }
        }
        drop(tx);
        (sent, collector.join().expect("the collector thread"))
    });
    server.did_close(&uri);

    let (answers, last) = arrivals;
    let mut keystrokes: Vec<Keystroke> = sent
        .iter()
        .enumerate()
        .map(|(k, &(id, at))| Keystroke {
            id,
            sent: at,
            arrived: None,
            suggestion: None,
            source: None,
            open: k + 1 < typed_len(case),
            hit: false,
        })
        .collect();
    let mut order = Vec::new();
    for answer in answers {
        let keystroke = &mut keystrokes[answer.keystroke];
        keystroke.arrived = answer.arrived;
        keystroke.suggestion = answer.suggestion;
        keystroke.source = answer.source;
        keystroke.hit = answer.hit;
        if answer.arrived.is_some() {
            order.push(answer.keystroke);
        }
    }
    CaseResult {
        id: case.id.clone(),
        language: case.language.clone(),
        path: case.path.clone(),
        keystrokes,
        stats: last.since(base),
        out_of_order: out_of_order(&order),
    }
}

fn typed_len(case: &Case) -> usize {
    case.line().chars().count()
}

/// Counts responses that arrived after a response to a newer request.
fn out_of_order(arrival_order: &[usize]) -> usize {
    let mut newest = None;
    let mut count = 0;
    for &k in arrival_order {
        match newest {
            Some(newest) if k < newest => count += 1,
            _ => newest = Some(k),
        }
    }
    count
}

/// What the collector makes of one response.
struct Answer {
    keystroke: usize,
    arrived: Option<Instant>,
    suggestion: Option<String>,
    source: Option<Source>,
    hit: bool,
}

/// Receives the responses in arrival order, attributes each to a source and
/// judges its suggestion. Returns the answers and the last counters.
fn collect(
    server: &Server,
    case: &Case,
    arrivals: mpsc::Receiver<Arrival>,
    base: Stats,
) -> (Vec<Answer>, Stats) {
    let mut answers = Vec::new();
    let mut received = 0;
    let mut previous = base;
    let mut previous_in_sync = true;
    for arrival in arrivals {
        let Some(response) = arrival.response else {
            answers.push(Answer {
                keystroke: arrival.keystroke,
                arrived: None,
                suggestion: None,
                source: None,
                hit: false,
            });
            previous_in_sync = false;
            continue;
        };
        received += 1;
        let now = Stats::query(server);
        // In sync: the counters know exactly the responses received so far.
        // Two snapshots in sync around this response leave it alone in the
        // delta between them.
        let in_sync = now.since(base).counted() == received;
        let source =
            if previous_in_sync && in_sync { now.since(previous).single_source() } else { None };
        previous = now;
        previous_in_sync = in_sync;

        let typed: String = case.line().chars().take(arrival.keystroke + 1).collect();
        let prefix = format!("{}{typed}", case.prefix);
        let suggestion = first_item(&response).map(|item| shown_text(&prefix, &case.suffix, item));
        let want = rest_of_line(&case.line()[typed.len()..]);
        let hit =
            !want.is_empty() && suggestion.as_deref().is_some_and(|it| rest_of_line(it) == want);
        answers.push(Answer {
            keystroke: arrival.keystroke,
            arrived: Some(arrival.at),
            suggestion,
            source,
            hit,
        });
    }
    (answers, previous)
}

/// The first item of an inline completion response, in any of its shapes.
fn first_item(response: &Value) -> Option<&Value> {
    let result = response.get("result")?;
    let items = result.get("items").unwrap_or(result);
    items.as_array()?.first()
}

/// The text an inline item puts between the old prefix and the old suffix,
/// honouring its range (as `run_eval.py`'s `apply_inline` does).
fn shown_text(prefix: &str, suffix: &str, item: &Value) -> String {
    let insert = match &item["insertText"] {
        Value::String(text) => text.as_str(),
        other => other["value"].as_str().unwrap_or_default(),
    };
    let cursor = prefix.len();
    let range = item.get("range").filter(|it| it.is_object());
    let Some(range) = range else { return insert.to_owned() };
    let text = format!("{prefix}{suffix}");
    let position = |at: &Value| {
        let line = at["line"].as_u64().unwrap_or(0) as u32;
        let character = at["character"].as_u64().unwrap_or(0) as u32;
        offset_of(&text, Position::new(line, character), Encoding::Utf16)
    };
    let (start, end) = (position(&range["start"]), position(&range["end"]));
    let new = format!("{}{insert}{}", &text[..start], &text[end.max(start)..]);
    if !new.starts_with(&prefix[..start.min(cursor)]) {
        return String::new();
    }
    let end = if new.ends_with(suffix) { new.len() - suffix.len() } else { new.len() };
    new.get(cursor..end).unwrap_or_default().to_owned()
}

/// The text up to the first line break, without trailing blanks.
fn rest_of_line(text: &str) -> &str {
    text.split('\n').next().unwrap_or_default().trim_end()
}

/// Counts, over the whole run, the responses each request got: every
/// request must get exactly one.
struct Delivery {
    requests: usize,
    responses: usize,
    missing: usize,
    duplicated: usize,
}

fn check_delivery(server: &Server, results: &[CaseResult]) -> Delivery {
    let ids: HashSet<i64> =
        results.iter().flat_map(|it| it.keystrokes.iter().map(|k| k.id)).collect();
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for message in server.received() {
        if message.get("method").is_none()
            && let Some(id) = message.get("id").and_then(Value::as_i64)
            && ids.contains(&id)
        {
            *counts.entry(id).or_default() += 1;
        }
    }
    Delivery {
        requests: ids.len(),
        responses: counts.values().sum(),
        missing: ids.iter().filter(|id| !counts.contains_key(id)).count(),
        duplicated: counts.values().filter(|n| **n > 1).count(),
    }
}

// ----- The report -----

struct Report {
    cases: usize,
    by_language: Vec<(String, usize)>,
    keystrokes: usize,
    delivery: Delivery,
    out_of_order: usize,
    all: Option<Dist>,
    non_empty: Option<Dist>,
    fast: usize,
    by_source: Vec<(Source, Option<Dist>)>,
    attributed: usize,
    first: Option<Dist>,
    stats: Stats,
    suggestions: usize,
    open: usize,
    hits: usize,
    hits_in_time: usize,
    late: usize,
    late_with_suggestion: usize,
}

impl Report {
    fn new(cases: &[Case], results: &[CaseResult], total: Stats, delivery: Delivery) -> Report {
        let all_keys = || results.iter().flat_map(|it| it.keystrokes.iter());
        let mut by_language: Vec<(String, usize)> = Vec::new();
        for case in cases {
            match by_language.iter_mut().find(|(it, _)| *it == case.language) {
                Some((_, n)) => *n += 1,
                None => by_language.push((case.language.clone(), 1)),
            }
        }
        let mut late = 0;
        let mut late_with_suggestion = 0;
        let mut hits_in_time = 0;
        for result in results {
            for (k, keystroke) in result.keystrokes.iter().enumerate() {
                let in_time = result.in_time(k);
                if keystroke.arrived.is_some() && !in_time {
                    late += 1;
                    late_with_suggestion += usize::from(keystroke.suggestion.is_some());
                }
                hits_in_time += usize::from(keystroke.hit && in_time);
            }
        }
        Report {
            cases: results.len(),
            by_language,
            keystrokes: all_keys().count(),
            delivery,
            out_of_order: results.iter().map(|it| it.out_of_order).sum(),
            all: Dist::of(all_keys().filter_map(Keystroke::latency)),
            non_empty: Dist::of(
                all_keys().filter(|it| it.suggestion.is_some()).filter_map(Keystroke::latency),
            ),
            fast: all_keys().filter_map(Keystroke::latency).filter(|it| *it < FAST).count(),
            by_source: Source::ALL
                .into_iter()
                .map(|source| {
                    let latencies = all_keys()
                        .filter(|it| it.source == Some(source))
                        .filter_map(Keystroke::latency);
                    (source, Dist::of(latencies))
                })
                .collect(),
            attributed: all_keys().filter(|it| it.source.is_some()).count(),
            first: Dist::of(results.iter().filter_map(|it| it.keystrokes.first()?.latency())),
            stats: total,
            suggestions: all_keys().filter(|it| it.suggestion.is_some()).count(),
            open: all_keys().filter(|it| it.open).count(),
            hits: all_keys().filter(|it| it.hit).count(),
            hits_in_time,
            late,
            late_with_suggestion,
        }
    }

    fn print(&self) {
        let languages: Vec<String> =
            self.by_language.iter().map(|(name, n)| format!("{n} {name}")).collect();
        let d = &self.delivery;
        let responses = self.all.map_or(0, |it| it.n);
        let share = |n: usize, of: usize| if of == 0 { 0.0 } else { 100.0 * n as f64 / of as f64 };
        println!();
        println!("cases:        {} ({})", self.cases, languages.join(", "));
        println!("keystrokes:   {} (= requests)", self.keystrokes);
        println!(
            "responses:    {} for {} requests; without response: {}, with more than one: {}, \
             arrived after a newer request's: {}",
            d.responses, d.requests, d.missing, d.duplicated, self.out_of_order
        );
        println!();
        println!("latency, request to response");
        println!("  all responses        {}", Dist::text(self.all, 4, 0));
        println!("  with a suggestion    {}", Dist::text(self.non_empty, 4, 0));
        println!("  first keystroke      {}  (per case, cold)", Dist::text(self.first, 4, 0));
        println!(
            "  under {} ms          {} of {responses} ({:.0}%)",
            FAST.as_millis(),
            self.fast,
            share(self.fast, responses)
        );
        println!(
            "  by source ({} of {responses} responses attributed through the counters):",
            self.attributed
        );
        for (source, dist) in &self.by_source {
            println!("    {:<18} {}", source.name(), Dist::text(*dist, 4, 0));
        }
        println!();
        let s = self.stats;
        let requests = self.keystrokes;
        println!("answers by source (hearth/completionStats, whole run; share of requests)");
        for (source, n) in s.by_source() {
            println!("  {:<20} {n:>5} ({:.1}%)", source.name(), share(n as usize, requests));
        }
        println!(
            "  answered {} (of which empty {}), superseded {}",
            s.answered, s.empty, s.superseded
        );
        println!();
        println!(
            "suggestions:  {} of {responses} responses carry one ({:.1}%)",
            self.suggestions,
            share(self.suggestions, responses)
        );
        println!(
            "complete the line exactly: {} of {} keystrokes with text left to type ({:.1}%); \
             also arrived before the next keystroke: {} ({:.1}%)",
            self.hits,
            self.open,
            share(self.hits, self.open),
            self.hits_in_time,
            share(self.hits_in_time, self.open)
        );
        println!(
            "late:         {} responses arrived after the next keystroke, {} of them with a \
             suggestion (stale if an editor showed it)",
            self.late, self.late_with_suggestion
        );
    }

    fn json(&self) -> Value {
        json!({
            "cases": self.cases,
            "casesByLanguage": self.by_language.iter().map(|(name, n)| json!({ "language": name, "cases": n })).collect::<Vec<_>>(),
            "keystrokes": self.keystrokes,
            "requests": self.delivery.requests,
            "responses": self.delivery.responses,
            "withoutResponse": self.delivery.missing,
            "withMoreThanOneResponse": self.delivery.duplicated,
            "outOfOrder": self.out_of_order,
            "latency": {
                "all": Dist::json(self.all),
                "withSuggestion": Dist::json(self.non_empty),
                "firstKeystroke": Dist::json(self.first),
                "under30Ms": self.fast,
                "bySource": self.by_source.iter().map(|(source, dist)| (source.name().to_owned(), Dist::json(*dist))).collect::<serde_json::Map<_, _>>(),
                "attributed": self.attributed,
            },
            "stats": self.stats.json(),
            "suggestions": self.suggestions,
            "keystrokesWithTextLeft": self.open,
            "completesLine": self.hits,
            "completesLineInTime": self.hits_in_time,
            "late": self.late,
            "lateWithSuggestion": self.late_with_suggestion,
        })
    }
}
