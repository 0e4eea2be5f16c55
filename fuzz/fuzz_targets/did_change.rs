//! Sequences of `didChange` edits in all three position encodings, applied to
//! a `Document` the way the server applies them (`convert::edit_range`, then
//! `Document::edit`) and to a plain `String` by an independent reference of
//! the documented position rules, mixed with reparses, full replacements and
//! background parses.
//!
//! Invariants:
//! - the document's text always equals the reference's, every mapped offset
//!   is a valid edit range, and the "adjusted" count matches the reference;
//! - a mapped start position maps back (`position_of`) to itself;
//! - after a reparse with a generous budget the incrementally maintained tree
//!   is node for node (kind, byte range, points) the tree of a fresh parse
//!   (unless tree-sitter cannot parse the text at all).
//!
//! Position rules (`lsp::convert`): lines end at `\n` (a `\r` right before it
//! belongs to the line break, a lone `\r` is text); a column past the end of
//! its line is the line's end; a column inside a character (a UTF-16
//! surrogate half, a byte inside a UTF-8 sequence) is that character's
//! start; a line past the end of the document is the document's end; a
//! reversed range is put in order.

#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use hearth::{
    documents::{BackgroundParse, Document, ParseOutcome, SyntaxConfig, parse_fresh},
    lsp::convert::{self, PositionEncoding},
};
use hearth_fuzz::{Num, Piece, language_id, text};
use libfuzzer_sys::fuzz_target;
use tower_lsp_server::gen_lsp_types::{Position, Range};
use tree_sitter::{Point, Tree};

/// A budget no parse of a fuzz input comes near, unless it is one that
/// tree-sitter cannot finish at all (see `documents::parse_time_limit`): then
/// there is no tree to compare.
const GENEROUS: Duration = Duration::from_secs(2);

#[derive(Arbitrary, Debug)]
struct Input {
    language: u8,
    encoding: u8,
    /// Parse at open within the budget, or not at all (as for a file too
    /// large for the synchronous budget).
    parse_at_open: bool,
    initial: Vec<Piece>,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Edit {
        start: (Num, Num),
        end: (Num, Num),
        text: Vec<Piece>,
    },
    /// A reparse with a generous budget (checked against a fresh parse) or
    /// with none (abandoned).
    Reparse {
        generous: bool,
    },
    ReplaceAll(Vec<Piece>),
    StartBackground,
    /// Installs one of the background parses started so far, or its
    /// failure, and catches up within a generous budget or none.
    FinishBackground {
        which: u8,
        failed: bool,
        generous: bool,
    },
}

fuzz_target!(|input: Input| run(input));

fn run(input: Input) {
    let encoding = match input.encoding % 3 {
        0 => PositionEncoding::Utf8,
        1 => PositionEncoding::Utf16,
        _ => PositionEncoding::Utf32,
    };
    let budget = if input.parse_at_open { GENEROUS } else { Duration::ZERO };
    let mut reference = text(&input.initial);
    let mut doc = Document::new(
        language_id(input.language),
        1,
        &reference,
        SyntaxConfig { parse_budget: budget },
    );
    let mut pending: Vec<(BackgroundParse, Option<Tree>)> = Vec::new();
    for op in input.ops {
        match op {
            Op::Edit { start, end, text: new_text } => {
                let new_text = text(&new_text);
                let start = Position { line: start.0.get(), character: start.1.get() };
                let end = Position { line: end.0.get(), character: end.1.get() };
                let (want_start, start_adjusted) = reference_offset(&reference, start, encoding);
                let (want_end, end_adjusted) = reference_offset(&reference, end, encoding);
                let want = want_start.min(want_end)..want_start.max(want_end);
                let want_adjusted = usize::from(start_adjusted) + usize::from(end_adjusted);

                let (range, adjusted) =
                    convert::edit_range(doc.text(), Range { start, end }, encoding);
                assert_eq!(
                    (range.clone(), adjusted),
                    (want.clone(), want_adjusted),
                    "{start:?}..{end:?} in {reference:?}"
                );
                if !start_adjusted {
                    let back = convert::position_of(doc.text(), want_start, encoding);
                    assert_eq!(back, start, "in {reference:?}");
                }
                doc.edit(range, &new_text).expect("a mapped range is a valid edit");
                reference.replace_range(want, &new_text);
            }
            Op::Reparse { generous: true } => check_tree(&mut doc, &reference),
            Op::Reparse { generous: false } => {
                doc.reparse(Duration::ZERO);
            }
            Op::ReplaceAll(new_text) => {
                reference = text(&new_text);
                doc.replace_all(&reference);
            }
            Op::StartBackground => {
                // One runs at a time: another may be running only if one
                // was started and not yet finished.
                let may_run = !pending.is_empty();
                match doc.start_background_parse() {
                    Some(parse) => {
                        let tree = parse.run();
                        pending.push((parse, tree));
                    }
                    None => assert!(
                        may_run || !doc.needs_reparse(),
                        "a needed background parse did not start"
                    ),
                }
            }
            Op::FinishBackground { which, failed, generous } => {
                if !pending.is_empty() {
                    let (parse, tree) = pending.remove(usize::from(which) % pending.len());
                    let tree = if failed { None } else { tree };
                    let budget = if generous { GENEROUS } else { Duration::ZERO };
                    doc.finish_background_parse(&parse, tree, budget);
                }
            }
        }
        assert!(
            doc.text() == reference.as_str(),
            "text differs:\n{:?}\n{reference:?}",
            doc.text().to_string()
        );
    }
    check_tree(&mut doc, &reference);
}

/// Where the server must put an LSP position, by the documented rules, and
/// whether it had to move it.
fn reference_offset(text: &str, pos: Position, encoding: PositionEncoding) -> (usize, bool) {
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1)).collect();
    let Some(&start) = line_starts.get(pos.line as usize) else { return (text.len(), true) };
    let end = text[start..].find('\n').map_or(text.len(), |at| start + at);
    let content_end = if end < text.len() && text[..end].ends_with('\r') { end - 1 } else { end };
    let wanted = pos.character as usize;
    let mut units = 0;
    for (at, ch) in text[start..content_end].char_indices() {
        let width = match encoding {
            PositionEncoding::Utf8 => ch.len_utf8(),
            PositionEncoding::Utf16 => ch.len_utf16(),
            PositionEncoding::Utf32 => 1,
        };
        if units + width > wanted {
            return (start + at, units != wanted);
        }
        units += width;
    }
    (content_end, units != wanted)
}

/// Brings the tree up to date and compares it, node for node, with a fresh
/// parse of the reference text.
fn check_tree(doc: &mut Document, reference: &str) {
    let outcome = doc.reparse(GENEROUS);
    let Some(lang) = doc.lang() else {
        assert_eq!(outcome, ParseOutcome::PlainText);
        return;
    };
    if outcome == ParseOutcome::OutOfBudget {
        assert!(doc.needs_reparse() && doc.tree().is_none());
        return;
    }
    assert_eq!(outcome, ParseOutcome::Parsed);
    assert!(!doc.needs_reparse());
    let tree = doc.tree().expect("a parsed document has a tree");
    let Some(fresh) = parse_fresh(lang, reference) else { return };
    if nodes(tree) != nodes(&fresh) {
        panic!(
            "the incremental tree differs from a fresh parse of {reference:?}\nincremental: {}\nfresh:       {}",
            tree.root_node().to_sexp(),
            fresh.root_node().to_sexp()
        );
    }
}

type NodeFacts = (u16, bool, bool, bool, usize, usize, Point, Point);

/// Every node in pre-order: kind, named, error, missing, bytes and points.
fn nodes(tree: &Tree) -> Vec<NodeFacts> {
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        out.push((
            node.kind_id(),
            node.is_named(),
            node.is_error(),
            node.is_missing(),
            node.start_byte(),
            node.end_byte(),
            node.start_position(),
            node.end_position(),
        ));
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return out;
            }
        }
    }
}
