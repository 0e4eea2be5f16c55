//! Seeded random edits, and the driver that checks the server against the
//! reference model.
//!
//! The generator produces mostly valid incremental changes (inserts, deletes
//! and replacements, some spanning many lines) plus a small share of
//! out-of-range positions: columns past the end of a line, lines past the end
//! of the document and, in UTF-16, columns that split a surrogate pair. The
//! reference model ([`RefDoc`]) applies the server's clamping rules to those,
//! so every change has one expected result.

use std::collections::VecDeque;

use crate::{
    client::Server,
    rng::Rng,
    text::{
        Change, Encoding, Position, RefDoc, describe_difference, line_count, line_range,
        position_of,
    },
};

/// A document with ASCII, two- and three-byte characters, and astral
/// characters (surrogate pairs in UTF-16).
pub const TEXT_DOC: &str = "Hearth test document\n\
    caf\u{e9} na\u{ef}ve \u{4e2d}\u{6587} text\n\
    emoji \u{1f600} and music \u{1d11e} symbols\n\
    \n\
    mixed: a\u{e9}\u{4e2d}\u{1f600}\u{1d11e}z\n\
    last line without newline";

/// Pieces inserted into [`TEXT_DOC`]: every width of character, newlines, and
/// empty-ish fragments.
pub const TEXT_POOL: &[&str] = &[
    "a",
    "xyz",
    " ",
    "hello world",
    "\n",
    "\n\n",
    "line\nbreak",
    "\u{e9}",
    "\u{4e2d}",
    "\u{1f600}",
    "\u{1d11e}",
    "\u{e9}\u{4e2d}\u{1f600}",
    "\u{1f600}\u{1f600}",
    "tab\t",
    "\u{1d11e}\nx",
    "caf\u{e9}",
    "end.\n",
];

/// A small, valid Rust file to start from.
pub const RUST_DOC: &str = r#"//! A module.
use std::collections::HashMap;

/// A counter with a name: "café" 😀.
#[derive(Debug, Default)]
pub struct Counter {
    name: String,
    counts: HashMap<String, u32>,
}

impl Counter {
    pub fn add(&mut self, key: &str) -> u32 {
        let entry = self.counts.entry(key.to_owned()).or_insert(0);
        *entry += 1;
        *entry
    }
}

fn main() {
    let mut c = Counter::default();
    for word in "a b 中 a".split(' ') {
        println!("{} {}", word, c.add(word));
    }
}
"#;

/// Rust fragments: balanced and unbalanced brackets, strings, comments and
/// non-ASCII text, so edits create and repair syntax errors.
pub const RUST_POOL: &[&str] = &[
    "fn f() {}\n",
    "}",
    "{",
    "(",
    ")",
    "let x = 1;",
    "\n",
    "    ",
    "\"str \u{e9}\"",
    "'c'",
    "// comment \u{1f600}\n",
    "/* block */",
    "/*",
    "*/",
    "struct S { a: u8 }\n",
    "impl S {}\n",
    "x.y()",
    " + ",
    "::",
    "<T>",
    "#[derive(Debug)]\n",
    "r#\"raw\"#",
    "\u{4e2d}",
    "match x { _ => 0 }",
    "\"",
    "mod m;\n",
    "'a",
    "&mut ",
    "\u{1d11e}",
];

/// A small, valid Python file to start from.
pub const PYTHON_DOC: &str = r#""""A module: café 😀."""
import os


class Counter:
    def __init__(self, name):
        self.name = name
        self.counts = {}

    def add(self, key):
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]


def main():
    c = Counter("中")
    for word in "a b a".split():
        if word:
            print(word, c.add(word))
        else:
            pass


if __name__ == "__main__":
    main()
"#;

/// Python fragments, including indentation changes that exercise the
/// indentation-tracking external scanner.
pub const PYTHON_POOL: &[&str] = &[
    "def f(x):\n",
    "    return x\n",
    "class A:\n",
    "    pass\n",
    "if x:\n",
    "else:\n",
    "    ",
    "\n",
    "(",
    ")",
    "[",
    "]",
    "\"s\u{1f600}\"",
    "'''doc'''",
    "# \u{e9} comment\n",
    "lambda y: y",
    "import os\n",
    " + ",
    "x = 1\n",
    "f\"{x}\"",
    "\t",
    "\"\"\"",
    "\u{4e2d}",
    ":",
    "\n        ",
];

/// What the generator produced, to show the run covered the rare cases.
#[derive(Clone, Debug, Default)]
pub struct EditStats {
    pub inserts: usize,
    pub deletes: usize,
    pub replacements: usize,
    pub multi_line: usize,
    pub past_line_end: usize,
    pub past_document_end: usize,
    pub split_surrogate: usize,
}

/// A seeded generator of incremental changes.
pub struct EditGen {
    rng: Rng,
    encoding: Encoding,
    pool: &'static [&'static str],
    /// Above this size (in bytes) the generator prefers deleting, to keep
    /// documents small and the run fast.
    max_len: usize,
    /// Out-of-range changes, per thousand.
    out_of_range_per_mille: u32,
    pub stats: EditStats,
}

impl EditGen {
    pub fn new(
        seed: u64,
        encoding: Encoding,
        pool: &'static [&'static str],
        max_len: usize,
    ) -> EditGen {
        EditGen {
            rng: Rng::new(seed),
            encoding,
            pool,
            max_len,
            out_of_range_per_mille: 40,
            stats: EditStats::default(),
        }
    }

    /// The generator's random source, for decisions made by the driver.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// A random change to `text`.
    pub fn next_change(&mut self, text: &str) -> Change {
        let len = text.len();
        let roll = self.rng.below(100);
        // 0 = insert, 1 = delete, 2 = replace.
        let kind = if len > self.max_len {
            if roll < 70 { 1 } else { 2 }
        } else if len < 16 || roll < 40 {
            // Tiny documents only grow, so they never stay empty for long.
            0
        } else if roll < 65 {
            1
        } else {
            2
        };
        let s = floor_boundary(text, self.rng.below(len + 1));
        let e = if kind == 0 {
            s
        } else {
            let span = match self.rng.below(100) {
                0..70 => self.rng.between(1, 12),
                70..95 => self.rng.between(10, 120),
                _ => self.rng.between(100, 600),
            };
            ceil_boundary(text, (s + span).min(len))
        };
        let new_text: String = if kind == 1 {
            String::new()
        } else {
            let pieces = self.rng.between(1, 3);
            (0..pieces).map(|_| *self.rng.pick(self.pool)).collect()
        };
        match kind {
            0 => self.stats.inserts += 1,
            1 => self.stats.deletes += 1,
            _ => self.stats.replacements += 1,
        }
        if text[s..e].contains('\n') {
            self.stats.multi_line += 1;
        }
        let mut start = position_of(text, s, self.encoding);
        let mut end = position_of(text, e, self.encoding);
        if self.rng.chance(self.out_of_range_per_mille) {
            self.perturb(text, s, e, &mut start, &mut end);
        }
        Change::range(start, end, new_text)
    }

    /// Moves `start`/`end` (the positions of bytes `s..e`) out of range in
    /// one of the ways the server must clamp, keeping `start <= end` in
    /// position order so the clamped range is never reversed.
    fn perturb(
        &mut self,
        text: &str,
        s: usize,
        e: usize,
        start: &mut Position,
        end: &mut Position,
    ) {
        let lines = line_count(text) as u32;
        let modes = if self.encoding == Encoding::Utf16 { 5 } else { 4 };
        match self.rng.below(modes) {
            0 => {
                end.character = self.line_units(text, end.line) + self.rng.between(1, 40) as u32;
                self.stats.past_line_end += 1;
            }
            1 if start.line < end.line => {
                start.character =
                    self.line_units(text, start.line) + self.rng.between(1, 40) as u32;
                self.stats.past_line_end += 1;
            }
            1 | 2 => {
                *end = Position::new(
                    lines + self.rng.between(0, 5) as u32,
                    self.rng.between(0, 20) as u32,
                );
                self.stats.past_document_end += 1;
            }
            3 => {
                let past = Position::new(
                    lines + self.rng.between(0, 3) as u32,
                    self.rng.between(0, 9) as u32,
                );
                *start = past;
                *end = past;
                self.stats.past_document_end += 1;
            }
            _ => {
                // Split surrogate pairs: put the start (and sometimes the end)
                // between the halves of an astral character at or after `s`.
                let astral: Vec<usize> = text[s..]
                    .char_indices()
                    .filter(|(_, c)| c.len_utf16() == 2)
                    .map(|(i, _)| s + i)
                    .take(4)
                    .collect();
                let Some(&a) = astral.first() else { return };
                *start = position_of(text, a, self.encoding);
                start.character += 1;
                let b = *self.rng.pick(&astral);
                if self.rng.chance(500) {
                    *end = position_of(text, b, self.encoding);
                    end.character += 1;
                } else {
                    *end = position_of(text, e.max(b + 4), self.encoding);
                }
                self.stats.split_surrogate += 1;
            }
        }
    }

    fn line_units(&self, text: &str, line: u32) -> u32 {
        line_range(text, line as usize).map_or(0, |range| self.encoding.len(&text[range]))
    }
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// A document being edited at random, with its reference model.
pub struct FuzzDoc {
    pub uri: String,
    pub language_id: String,
    pub model: RefDoc,
    pub version: i32,
    /// The last few changes, for failure messages.
    history: VecDeque<String>,
}

impl FuzzDoc {
    /// Opens the document on `server` and returns its model.
    pub fn open(server: &Server, uri: &str, language_id: &str, text: &str) -> FuzzDoc {
        let encoding = server.position_encoding();
        server.did_open(uri, language_id, 1, text);
        FuzzDoc {
            uri: uri.to_owned(),
            language_id: language_id.to_owned(),
            model: RefDoc::new(text, encoding),
            version: 1,
            history: VecDeque::new(),
        }
    }
}

/// Settings of one random-edit run.
pub struct FuzzRun {
    pub seed: u64,
    /// Total number of changes, over all documents.
    pub edits: usize,
    /// Check every document after this many changes.
    pub checkpoint_every: usize,
    /// Also require the incremental tree to equal a fresh parse.
    pub check_trees: bool,
    pub pool: &'static [&'static str],
    pub max_len: usize,
}

/// Applies `run.edits` random changes to `docs` through `server` and the
/// reference models, checking the server's view at every checkpoint and at
/// the end. Changes go out as notifications without waiting; most carry one
/// change, some carry several (applied in order within the notification).
/// Returns what the generator produced.
pub fn run_random_edits(server: &Server, docs: &mut [FuzzDoc], run: &FuzzRun) -> EditStats {
    assert!(!docs.is_empty());
    let encoding = server.position_encoding();
    let mut generator = EditGen::new(run.seed, encoding, run.pool, run.max_len);
    let mut done = 0;
    let mut next_checkpoint = run.checkpoint_every;
    let mut checked_at = None;
    while done < run.edits {
        let index = generator.rng().below(docs.len());
        let count = if generator.rng().chance(200) { generator.rng().between(2, 4) } else { 1 };
        let count = count.min(run.edits - done);
        let doc = &mut docs[index];
        let mut changes = Vec::with_capacity(count);
        doc.version += 1;
        for _ in 0..count {
            let change = generator.next_change(&doc.model.text);
            let replaced = doc.model.apply(&change);
            if doc.history.len() == 8 {
                doc.history.pop_front();
            }
            doc.history.push_back(format!(
                "v{} edit #{}: {} -> replaced bytes {replaced:?}",
                doc.version,
                done + changes.len() + 1,
                change.to_json()
            ));
            changes.push(change);
        }
        server.did_change(&doc.uri, doc.version, &changes);
        done += count;
        if done >= next_checkpoint {
            check_documents(server, docs, run, done);
            checked_at = Some(done);
            next_checkpoint += run.checkpoint_every;
        }
    }
    if checked_at != Some(done) {
        check_documents(server, docs, run, done);
    }
    eprintln!("{} edits ({encoding:?}) over {} documents: {:?}", done, docs.len(), generator.stats);
    generator.stats
}

/// Compares the server's view of every document with its model.
pub fn check_documents(server: &Server, docs: &[FuzzDoc], run: &FuzzRun, done: usize) {
    for doc in docs {
        let got = server
            .debug_document(&doc.uri, None)
            .unwrap_or_else(|err| server.fail(&format!("debugDocument {} failed: {err}", doc.uri)));
        let context = || {
            format!(
                "seed {} after {done} edits, document {} ({}); last changes:\n{}",
                run.seed,
                doc.uri,
                doc.language_id,
                doc.history.iter().cloned().collect::<Vec<_>>().join("\n")
            )
        };
        let text = got["text"].as_str().unwrap_or_default();
        if let Some(difference) = describe_difference(&doc.model.text, text) {
            server.fail(&format!("text mismatch: {difference}\n{}", context()));
        }
        if got["version"] != doc.version {
            server.fail(&format!(
                "version mismatch: expected {}, got {}\n{}",
                doc.version,
                got["version"],
                context()
            ));
        }
        if run.check_trees {
            let (Some(tree), Some(fresh)) = (got["tree"].as_str(), got["freshTree"].as_str())
            else {
                server.fail(&format!(
                    "expected trees, got tree={} freshTree={}\n{}",
                    got["tree"],
                    got["freshTree"],
                    context()
                ));
            };
            if let Some(difference) = describe_difference(fresh, tree) {
                server.fail(&format!(
                    "the incremental tree differs from a fresh parse ({difference})\n{}\n\
                     --- document text ---\n{text}",
                    context()
                ));
            }
        }
    }
}
