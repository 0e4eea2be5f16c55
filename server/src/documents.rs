//! Open documents: the text as a rope and, for known languages, a tree-sitter tree.
//!
//! Everything here speaks byte offsets into the document's UTF-8 text; the
//! conversion from LSP positions lives in `lsp::convert` and nowhere else.
//!
//! Edits are applied synchronously and in order. Each edit updates the rope and
//! tells the tree about it (`Tree::edit`) with byte offsets and byte columns, so
//! the tree's offsets always match the text even before it is reparsed. A
//! reparse then runs under a time budget: after a keystroke in a 1 MB file it
//! takes about half a millisecond at the median (see `benches/README.md`), but
//! the first parse of a multi-megabyte file, or a reparse of a file with
//! thousands of top-level items, may not fit. The document then keeps its
//! edited (stale) tree, `needs_reparse` says so, and the parse is finished off
//! the hot path (`start_background_parse`).

use std::{
    collections::HashMap,
    ops::Range,
    time::{Duration, Instant},
};

use hearth_grammars::Lang;
use ropey::Rope;
use tree_sitter::{InputEdit, Parser, Point, Tree};

/// Tuning for parsing documents.
#[derive(Clone, Copy, Debug)]
pub struct SyntaxConfig {
    /// How long one synchronous reparse may take before it is abandoned.
    pub parse_budget: Duration,
}

impl Default for SyntaxConfig {
    fn default() -> Self {
        SyntaxConfig { parse_budget: Duration::from_millis(20) }
    }
}

/// The open documents, keyed by URI.
#[derive(Default)]
pub struct DocumentStore {
    docs: HashMap<String, Document>,
}

impl DocumentStore {
    pub fn open(&mut self, uri: String, doc: Document) -> Option<Document> {
        self.docs.insert(uri, doc)
    }

    pub fn close(&mut self, uri: &str) -> Option<Document> {
        self.docs.remove(uri)
    }

    pub fn get(&self, uri: &str) -> Option<&Document> {
        self.docs.get(uri)
    }

    pub fn get_mut(&mut self, uri: &str) -> Option<&mut Document> {
        self.docs.get_mut(uri)
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
}

/// A cheap, immutable copy of a document's state, for work outside the lock.
///
/// Cloning a `Rope` and a `Tree` is O(1): both share structure.
#[derive(Clone)]
pub struct DocumentSnapshot {
    pub text: Rope,
    pub version: i32,
    pub language_id: String,
    pub lang: Option<Lang>,
    /// The tree for `text`, if one has been parsed since the last edit.
    pub tree: Option<Tree>,
}

/// An edit whose byte range does not fall on character boundaries inside the text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("edit range {start}..{end} is not a valid byte range of a {len}-byte document")]
pub struct InvalidEdit {
    pub start: usize,
    pub end: usize,
    pub len: usize,
}

/// The result of one attempt to bring the tree up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseOutcome {
    /// The document has no grammar; there is nothing to parse.
    PlainText,
    /// The tree now matches the text.
    Parsed,
    /// The budget ran out; the tree is stale until the next attempt.
    OutOfBudget,
}

/// One open document.
pub struct Document {
    text: Rope,
    version: i32,
    language_id: String,
    syntax: Option<Syntax>,
}

struct Syntax {
    lang: Lang,
    parser: Parser,
    /// The last parsed tree, edited to match every edit since.
    tree: Option<Tree>,
    /// Whether `tree` was parsed from the current text (not only edited).
    fresh: bool,
    /// While a background parse runs: its generation and the edits made since
    /// it took its copy of the text, to replay onto its result.
    background: Option<(u64, Vec<InputEdit>)>,
    generation: u64,
}

/// A full parse to run off the hot path, for a document too large to parse
/// within the synchronous budget.
pub struct BackgroundParse {
    lang: Lang,
    text: Rope,
    generation: u64,
}

impl BackgroundParse {
    /// Parses the copied text within [`parse_time_limit`]. Blocking.
    pub fn run(&self) -> Option<Tree> {
        let mut parser = Parser::new();
        parser.set_language(&self.lang.ts_language()).ok()?;
        let deadline = Instant::now() + parse_time_limit(self.text.len_bytes());
        parse_until(&mut parser, &mut rope_reader(&self.text), None, deadline)
    }
}

impl Document {
    /// Opens a document and parses it within the configured budget.
    pub fn new(language_id: &str, version: i32, text: &str, config: SyntaxConfig) -> Document {
        let syntax = Lang::from_language_id(language_id).and_then(Syntax::new);
        let mut doc = Document {
            text: Rope::from_str(text),
            version,
            language_id: language_id.to_owned(),
            syntax,
        };
        doc.reparse(config.parse_budget);
        doc
    }

    pub fn text(&self) -> &Rope {
        &self.text
    }

    pub fn version(&self) -> i32 {
        self.version
    }

    pub fn set_version(&mut self, version: i32) {
        self.version = version;
    }

    pub fn language_id(&self) -> &str {
        &self.language_id
    }

    pub fn lang(&self) -> Option<Lang> {
        self.syntax.as_ref().map(|it| it.lang)
    }

    /// The tree for the current text, if it is up to date.
    pub fn tree(&self) -> Option<&Tree> {
        self.syntax.as_ref().filter(|it| it.fresh).and_then(|it| it.tree.as_ref())
    }

    /// Whether the document has a grammar but its tree lags behind the text.
    pub fn needs_reparse(&self) -> bool {
        self.syntax.as_ref().is_some_and(|it| !it.fresh)
    }

    pub fn snapshot(&self) -> DocumentSnapshot {
        DocumentSnapshot {
            text: self.text.clone(),
            version: self.version,
            language_id: self.language_id.clone(),
            lang: self.lang(),
            tree: self.tree().cloned(),
        }
    }

    /// Replaces the whole text (a full-document sync) and starts the tree afresh.
    pub fn replace_all(&mut self, text: &str) {
        self.text = Rope::from_str(text);
        if let Some(syntax) = &mut self.syntax {
            syntax.tree = None;
            syntax.fresh = false;
            // A background parse of the old text can no longer be replayed.
            syntax.background = None;
        }
    }

    /// Starts a background parse unless one is already running.
    pub fn start_background_parse(&mut self) -> Option<BackgroundParse> {
        let syntax = self.syntax.as_mut().filter(|it| !it.fresh && it.background.is_none())?;
        syntax.generation += 1;
        syntax.background = Some((syntax.generation, Vec::new()));
        Some(BackgroundParse {
            lang: syntax.lang,
            text: self.text.clone(),
            generation: syntax.generation,
        })
    }

    /// Installs the result of a background parse: the edits made meanwhile are
    /// replayed onto it and an incremental reparse within `budget` catches up.
    pub fn finish_background_parse(
        &mut self,
        parse: &BackgroundParse,
        tree: Option<Tree>,
        budget: Duration,
    ) -> ParseOutcome {
        let Some(syntax) = &mut self.syntax else { return ParseOutcome::PlainText };
        match syntax.background.take() {
            Some((generation, edits)) if generation == parse.generation => {
                if let Some(mut tree) = tree {
                    for edit in &edits {
                        tree.edit(edit);
                    }
                    syntax.tree = Some(tree);
                    // With no edits since, the new tree is the current one.
                    syntax.fresh = edits.is_empty();
                }
            }
            other => syntax.background = other,
        }
        self.reparse(budget)
    }

    /// Replaces `range` (bytes, on character boundaries) with `new_text`.
    ///
    /// The tree is edited to match but not reparsed: callers batch several
    /// edits and reparse once.
    pub fn edit(&mut self, range: Range<usize>, new_text: &str) -> Result<(), InvalidEdit> {
        let len = self.text.len_bytes();
        let invalid = InvalidEdit { start: range.start, end: range.end, len };
        if range.start > range.end || range.end > len {
            return Err(invalid);
        }
        let start_char = self.text.byte_to_char(range.start);
        let end_char = self.text.byte_to_char(range.end);
        if self.text.char_to_byte(start_char) != range.start
            || self.text.char_to_byte(end_char) != range.end
        {
            return Err(invalid);
        }

        let start_position = point_at(&self.text, range.start);
        let old_end_position = point_at(&self.text, range.end);
        self.text.remove(start_char..end_char);
        self.text.insert(start_char, new_text);
        let new_end_byte = range.start + new_text.len();
        let new_end_position = point_at(&self.text, new_end_byte);

        if let Some(syntax) = &mut self.syntax {
            let input_edit = InputEdit {
                start_byte: range.start,
                old_end_byte: range.end,
                new_end_byte,
                start_position,
                old_end_position,
                new_end_position,
            };
            if let Some(tree) = &mut syntax.tree {
                tree.edit(&input_edit);
            }
            if let Some((_, log)) = &mut syntax.background {
                log.push(input_edit);
            }
            syntax.fresh = false;
        }
        Ok(())
    }

    /// Brings the tree up to date, giving up after `budget`.
    ///
    /// Parsing reads the rope chunk by chunk, so the text is never copied.
    pub fn reparse(&mut self, budget: Duration) -> ParseOutcome {
        let Some(syntax) = &mut self.syntax else { return ParseOutcome::PlainText };
        if syntax.fresh {
            return ParseOutcome::Parsed;
        }
        let deadline = Instant::now() + budget;
        let mut read = rope_reader(&self.text);
        match parse_until(&mut syntax.parser, &mut read, syntax.tree.as_ref(), deadline) {
            Some(tree) => {
                syntax.tree = Some(tree);
                syntax.fresh = true;
                ParseOutcome::Parsed
            }
            None => ParseOutcome::OutOfBudget,
        }
    }
}

/// The longest a parse without a budget of its own may take (a fresh parse,
/// a background parse): one second, and a second per megabyte of text.
///
/// Tree-sitter parses several megabytes a second, but its error recovery can
/// take unbounded time and memory on some broken text: found by
/// `fuzz/context_postprocess`, the 28 bytes `class :a[//b[[[[[[c)t y;d}b ` as
/// TSX ran for 20 minutes and took 23 GB before they were stopped (the same
/// kind of bug as tree-sitter-typescript's issue 323). A parse out of time
/// gives no tree, as for a document without a grammar.
pub fn parse_time_limit(bytes: usize) -> Duration {
    Duration::from_secs(1) + Duration::from_millis(u64::try_from(bytes / 1000).unwrap_or(u64::MAX))
}

/// Parses with `read` (from `old`, edited to match, if given) unless it takes
/// until `deadline`.
pub(crate) fn parse_until<T: AsRef<[u8]>>(
    parser: &mut Parser,
    read: &mut impl FnMut(usize, Point) -> T,
    old: Option<&Tree>,
    deadline: Instant,
) -> Option<Tree> {
    let mut out_of_time = |_: &tree_sitter::ParseState| Instant::now() >= deadline;
    let options = tree_sitter::ParseOptions::new().progress_callback(&mut out_of_time);
    let tree = parser.parse_with_options(read, old, Some(options));
    if tree.is_none() {
        // An abandoned parse leaves state in the parser that belongs to this
        // text; the next one may see different text.
        parser.reset();
    }
    tree
}

/// Feeds a string to tree-sitter.
pub(crate) fn str_reader<'a>(text: &'a str) -> impl FnMut(usize, Point) -> &'a [u8] + 'a {
    move |byte, _| text.as_bytes().get(byte..).unwrap_or_default()
}

impl Syntax {
    fn new(lang: Lang) -> Option<Syntax> {
        let mut parser = Parser::new();
        match parser.set_language(&lang.ts_language()) {
            Ok(()) => Some(Syntax {
                lang,
                parser,
                tree: None,
                fresh: false,
                background: None,
                generation: 0,
            }),
            Err(err) => {
                tracing::error!("cannot use the {} grammar: {err}", lang.name());
                None
            }
        }
    }
}

/// Feeds a rope to tree-sitter chunk by chunk, so the text is never copied.
fn rope_reader<'a>(text: &'a Rope) -> impl FnMut(usize, Point) -> &'a [u8] + 'a {
    move |byte, _| {
        if byte >= text.len_bytes() {
            return &[];
        }
        let (chunk, chunk_start, _, _) = text.chunk_at_byte(byte);
        &chunk.as_bytes()[byte - chunk_start..]
    }
}

/// The tree-sitter point (row, byte column) of a byte offset.
///
/// Tree-sitter counts columns in bytes; using characters or UTF-16 units here
/// corrupts incremental parses on any line with non-ASCII text before the edit.
pub(crate) fn point_at(text: &Rope, byte: usize) -> Point {
    let row = text.byte_to_line(byte);
    Point { row, column: byte - text.line_to_byte(row) }
}

/// Parses `text` from scratch within [`parse_time_limit`]: for checking
/// incremental trees, and for text that is not an open document.
pub fn parse_fresh(lang: Lang, text: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&lang.ts_language()).ok()?;
    let deadline = Instant::now() + parse_time_limit(text.len());
    parse_until(&mut parser, &mut str_reader(text), None, deadline)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rust_doc(text: &str) -> Document {
        Document::new("rust", 1, text, SyntaxConfig { parse_budget: Duration::from_secs(5) })
    }

    fn assert_tree_matches_fresh_parse(doc: &mut Document) {
        assert_eq!(doc.reparse(Duration::from_secs(5)), ParseOutcome::Parsed);
        let fresh = parse_fresh(doc.lang().unwrap(), &doc.text().to_string()).unwrap();
        assert_eq!(doc.tree().unwrap().root_node().to_sexp(), fresh.root_node().to_sexp());
    }

    #[test]
    fn plain_text_has_no_tree() {
        let mut doc = Document::new("markdown", 1, "# hi\n", SyntaxConfig::default());
        assert!(doc.tree().is_none());
        assert!(!doc.needs_reparse());
        assert_eq!(doc.reparse(Duration::from_millis(1)), ParseOutcome::PlainText);
        doc.edit(0..1, "##").unwrap();
        assert_eq!(doc.text().to_string(), "## hi\n");
    }

    #[test]
    fn edits_keep_the_tree_in_step() {
        let mut doc = rust_doc("fn main() {\n    let s = \"é中😀\";\n}\n");
        // Insert after the non-ASCII literal: byte columns matter here.
        let at = doc.text().to_string().find(';').unwrap();
        doc.edit(at..at, ".len()").unwrap();
        assert!(doc.needs_reparse());
        assert!(doc.tree().is_none(), "a stale tree is never handed out");
        assert_tree_matches_fresh_parse(&mut doc);
        assert_eq!(doc.text().to_string(), "fn main() {\n    let s = \"é中😀\".len();\n}\n");
    }

    #[test]
    fn rejects_ranges_off_char_boundaries() {
        let mut doc = rust_doc("é");
        assert_eq!(doc.edit(1..2, "x"), Err(InvalidEdit { start: 1, end: 2, len: 2 }));
        assert_eq!(doc.edit(0..3, "x"), Err(InvalidEdit { start: 0, end: 3, len: 2 }));
        assert_eq!(doc.text().to_string(), "é");
    }

    #[test]
    fn over_budget_parse_keeps_a_consistent_document() {
        let big = "fn f() { let x = [1, 2, 3]; }\n".repeat(50_000);
        let mut doc = Document::new("rust", 1, &big, SyntaxConfig { parse_budget: Duration::ZERO });
        assert!(doc.needs_reparse());
        doc.edit(0..0, "// head\n").unwrap();
        assert_tree_matches_fresh_parse(&mut doc);
    }

    #[test]
    fn background_parse_replays_edits_made_meanwhile() {
        let big = "fn f() { let x = [1, 2, 3]; }\n".repeat(20_000);
        let mut doc = Document::new("rust", 1, &big, SyntaxConfig { parse_budget: Duration::ZERO });
        let parse = doc.start_background_parse().unwrap();
        assert!(doc.start_background_parse().is_none(), "one background parse at a time");
        let tree = parse.run();
        doc.edit(0..0, "struct S;\n").unwrap();
        let outcome = doc.finish_background_parse(&parse, tree, Duration::from_secs(5));
        assert_eq!(outcome, ParseOutcome::Parsed);
        assert_tree_matches_fresh_parse(&mut doc);
    }

    #[test]
    fn parses_that_never_end_are_stopped() {
        // Found by `fuzz/context_postprocess` (see `parse_time_limit`).
        let text = "class :a[//b[[[[[[c)t y;d}b ";
        let started = Instant::now();
        assert!(parse_fresh(Lang::Tsx, text).is_none());
        let mut doc = Document::new("typescriptreact", 1, text, SyntaxConfig::default());
        assert!(doc.needs_reparse());
        let parse = doc.start_background_parse().unwrap();
        let tree = parse.run();
        assert!(tree.is_none());
        doc.finish_background_parse(&parse, tree, Duration::ZERO);
        assert!(doc.tree().is_none());
        // Two parses out of their limit of a second each, and little else.
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        // The document is still usable: an edit that makes it parse.
        doc.edit(0..text.len(), "class A {}").unwrap();
        assert_eq!(doc.reparse(Duration::from_secs(5)), ParseOutcome::Parsed);
    }

    #[test]
    fn full_replace_resets_the_tree() {
        let mut doc = rust_doc("fn a() {}");
        doc.replace_all("struct S;");
        assert_tree_matches_fresh_parse(&mut doc);
    }

    fn edit_strategy() -> impl Strategy<Value = (usize, usize, String)> {
        let pieces = prop::sample::select(vec![
            "a",
            "é",
            "中",
            "😀",
            "\n",
            "{",
            "}",
            "(",
            ")",
            ";",
            " ",
            "fn x",
            "let y = 1;",
            "\"",
            "//",
            "\r\n",
            "𝄞",
        ]);
        (any::<usize>(), 0usize..12, prop::collection::vec(pieces, 0..5))
            .prop_map(|(at, del, pieces)| (at, del, pieces.concat()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn random_edits_match_a_reference_and_a_fresh_parse(
            edits in prop::collection::vec(edit_strategy(), 1..40)
        ) {
            let mut reference = String::from("fn main() {\n    println!(\"héllo 😀\");\n}\n");
            let mut doc = rust_doc(&reference);
            for (at, del, text) in edits {
                let mut start = at % (reference.len() + 1);
                while !reference.is_char_boundary(start) { start -= 1; }
                let mut end = (start + del).min(reference.len());
                while !reference.is_char_boundary(end) { end -= 1; }
                reference.replace_range(start..end, &text);
                doc.edit(start..end, &text).unwrap();
                prop_assert_eq!(doc.text().to_string(), reference.clone());
            }
            assert_tree_matches_fresh_parse(&mut doc);
        }
    }
}
