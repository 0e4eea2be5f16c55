//! Where to cut the windows around the cursor: at syntax boundaries.
//!
//! A window that starts in the middle of a function shows the model a body
//! without its signature; one that starts where an item starts shows whole
//! items. Among the lines a window may start on (or end after), the best is
//! the one where the shallowest syntax node begins (or ends): whole top-level
//! items first, then items nested in them, then statements, and plain lines
//! when the tree offers nothing better.
//!
//! The candidate lines lie far from the cursor (a quarter of the budget at the
//! window's far edge), so typing at the cursor does not move the cut and the
//! prompt stays a pure extension of the cached one.

use std::ops::Range;

use ropey::Rope;
use tree_sitter::{Node, Tree};

/// The line in `lines` on whose first character the shallowest node
/// starts; the earliest of equals, so the window is as large as allowed.
pub fn best_start_line(text: &Rope, tree: &Tree, lines: Range<usize>) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for line in lines {
        let Some(at) = first_char(text, line) else { continue };
        let Some(node) = outermost_starting_at(tree, at) else { continue };
        let depth = depth(node);
        if best.is_none_or(|(best_depth, _)| depth < best_depth) {
            best = Some((depth, line));
        }
    }
    best.map(|(_, line)| line)
}

/// The line in `lines` on whose last character the shallowest node ends;
/// the latest of equals, so the window is as large as allowed.
pub fn best_end_line(text: &Rope, tree: &Tree, lines: Range<usize>) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for line in lines {
        let Some(at) = last_char(text, line) else { continue };
        let Some(node) = outermost_ending_at(tree, at) else { continue };
        let depth = depth(node);
        if best.is_none_or(|(best_depth, _)| depth <= best_depth) {
            best = Some((depth, line));
        }
    }
    best.map(|(_, line)| line)
}

/// The byte offset of the first non-blank character of `line`.
fn first_char(text: &Rope, line: usize) -> Option<usize> {
    let content = text.line(line);
    // Blanks are one byte each, so their count is a byte offset too.
    let blanks = content.chars().take_while(|c| *c == ' ' || *c == '\t').count();
    content.get_char(blanks).filter(|c| !c.is_whitespace())?;
    Some(text.line_to_byte(line) + blanks)
}

/// The byte offset just after the last non-blank character of `line`.
fn last_char(text: &Rope, line: usize) -> Option<usize> {
    let start = text.line_to_byte(line);
    let content = text.line(line).to_string();
    let trimmed = content.trim_end();
    if trimmed.trim_start().is_empty() { None } else { Some(start + trimmed.len()) }
}

/// The largest node (short of the root) that starts at byte `at`.
fn outermost_starting_at(tree: &Tree, at: usize) -> Option<Node<'_>> {
    let root = tree.root_node();
    let mut node = root.descendant_for_byte_range(at, at + 1)?;
    if node.start_byte() != at {
        return None;
    }
    while let Some(parent) = node.parent() {
        if parent.id() == root.id() || parent.start_byte() != at {
            break;
        }
        node = parent;
    }
    usable(node, root)
}

/// The largest node (short of the root) that ends at byte `end`.
fn outermost_ending_at(tree: &Tree, end: usize) -> Option<Node<'_>> {
    let root = tree.root_node();
    let mut node = root.descendant_for_byte_range(end.saturating_sub(1), end)?;
    if node.end_byte() != end {
        return None;
    }
    while let Some(parent) = node.parent() {
        if parent.id() == root.id() || parent.end_byte() != end {
            break;
        }
        node = parent;
    }
    usable(node, root)
}

/// Error recovery's nodes are no boundaries to trust.
fn usable<'t>(node: Node<'t>, root: Node<'t>) -> Option<Node<'t>> {
    (node.id() != root.id() && !node.is_error() && !node.is_missing()).then_some(node)
}

/// How many ancestors a node has.
fn depth(node: Node<'_>) -> usize {
    std::iter::successors(node.parent(), Node::parent).count()
}

#[cfg(test)]
mod tests {
    use hearth_grammars::Lang;

    use super::*;
    use crate::documents::parse_fresh;

    fn lines_of(lang: Lang, source: &str) -> (Rope, Tree) {
        (Rope::from_str(source), parse_fresh(lang, source).expect("parses"))
    }

    const RUST: &str = "\
fn one() {
    let a = 1;
    let b = 2;
}

impl Two {
    fn two(&self) {
        call(
            1,
        );
    }
}
";

    #[test]
    fn starts_prefer_whole_items() {
        let (text, tree) = lines_of(Lang::Rust, RUST);
        // Lines 1..=5: statements at depth 3, the `impl` at the top level.
        assert_eq!(best_start_line(&text, &tree, 1..6), Some(5));
        // Inside the impl: the method beats the statements in it.
        assert_eq!(best_start_line(&text, &tree, 7..10), Some(7));
        assert_eq!(best_start_line(&text, &tree, 6..10), Some(6));
        // A continuation line is a worse start than the call it belongs to.
        assert_eq!(best_start_line(&text, &tree, 7..9), Some(7));
    }

    #[test]
    fn ends_prefer_whole_items() {
        let (text, tree) = lines_of(Lang::Rust, RUST);
        assert_eq!(best_end_line(&text, &tree, 0..5), Some(3));
        assert_eq!(best_end_line(&text, &tree, 7..11), Some(10));
    }

    #[test]
    fn python_items_and_statements() {
        let source = "import os\n\ndef f(x):\n    y = x\n    return y\n\nclass C:\n    pass\n";
        let (text, tree) = lines_of(Lang::Python, source);
        assert_eq!(best_start_line(&text, &tree, 3..8), Some(6));
        assert_eq!(best_end_line(&text, &tree, 2..6), Some(4));
    }
}
