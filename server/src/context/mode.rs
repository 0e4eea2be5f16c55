//! How much to suggest at the cursor, from the text and the syntax tree.
//!
//! A small model writes well when it is asked for the right amount: the rest
//! of the line in the middle of one, a few lines on an empty line inside a
//! block, and nothing where any suggestion would be noise (a word touching
//! the cursor on its right, a finished statement with code after it, or,
//! when the user says so, comments and strings).
//!
//! The choice for an empty line uses the text alone, never the tree, so that
//! the state predicted after accepting a suggestion (for which no tree
//! exists yet) gets the same mode as the request that later arrives in it.

use tree_sitter::{Node, Tree};

use super::{FimContext, Mode};

/// What the user allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModeConfig {
    /// Suggest inside comments and strings.
    pub in_comments_and_strings: bool,
}

impl Default for ModeConfig {
    fn default() -> Self {
        ModeConfig { in_comments_and_strings: true }
    }
}

/// The mode for `ctx`, whose cursor is at byte `cursor` of the text `tree`
/// was parsed from (a tree that is not current is not passed).
pub fn classify(ctx: &FimContext, cursor: usize, tree: Option<&Tree>, config: ModeConfig) -> Mode {
    if !config.in_comments_and_strings
        && tree.is_some_and(|tree| in_comment_or_string(tree, cursor))
    {
        return Mode::Empty;
    }
    let after = ctx.line_after_cursor.trim();
    let typed = ctx.middle.trim_end();
    // A word right of the cursor: whatever the model wrote would run into it.
    if ctx.line_after_cursor.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        return Mode::Empty;
    }
    // A finished statement with code after it on the line: nothing is missing.
    if !after.is_empty() && (typed.ends_with(';') || typed.ends_with('}')) {
        return Mode::Empty;
    }
    if !typed.trim_start().is_empty() || !after.is_empty() {
        return Mode::SingleLine;
    }
    let indented = !ctx.middle.is_empty();
    let previous = ctx.prefix.lines().rev().map(str::trim).find(|line| !line.is_empty());
    match previous {
        _ if indented => Mode::MultiLine,
        Some(line) if opens_block(line) || is_comment(line) => Mode::MultiLine,
        // At the top level after a finished item, one line (the start of
        // the next item) is what can be guessed well.
        _ => Mode::SingleLine,
    }
}

/// Whether a line ends by opening a block or a bracket whose body follows.
fn opens_block(line: &str) -> bool {
    ["{", ":", "(", "[", "=>", "=", " do", " then"].iter().any(|end| line.ends_with(end))
}

/// Whether a line is a comment in one of the supported languages: a comment
/// on an empty line says what comes next.
fn is_comment(line: &str) -> bool {
    ["//", "#", "--", "/*", "*", "\"\"\""].iter().any(|start| line.starts_with(start))
}

/// Whether `cursor` is inside a comment or a string literal.
fn in_comment_or_string(tree: &Tree, cursor: usize) -> bool {
    // The character before the cursor: at the end of a line comment, an
    // empty range would find the node after it.
    let Some(node) = tree.root_node().descendant_for_byte_range(cursor.saturating_sub(1), cursor)
    else {
        return false;
    };
    let mut node: Option<Node<'_>> = Some(node);
    while let Some(current) = node {
        let kind = current.kind();
        // A string's end is its closing quote: after it is code again.
        let inside = current.start_byte() < cursor && cursor < current.end_byte();
        // A line comment ends at the end of its line, where the cursor may be.
        let at_comment_end =
            kind.contains("comment") && kind != "block_comment" && cursor == current.end_byte();
        if (kind.contains("comment") || kind.contains("string")) && (inside || at_comment_end) {
            return true;
        }
        node = current.parent();
    }
    false
}

#[cfg(test)]
mod tests {
    use hearth_grammars::Lang;

    use super::*;
    use crate::{context::tests::at_cursor, documents::parse_fresh};

    fn mode_in(lang: Lang, fixture: &str, config: ModeConfig) -> Mode {
        let (text, cursor) = at_cursor(fixture);
        let tree = parse_fresh(lang, &text.to_string());
        let ctx = crate::context::build(&text, cursor, &Default::default());
        classify(&ctx, cursor, tree.as_ref(), config)
    }

    fn mode(lang: Lang, fixture: &str) -> Mode {
        mode_in(lang, fixture, ModeConfig::default())
    }

    #[test]
    fn mid_line_asks_for_the_rest_of_the_line() {
        assert_eq!(mode(Lang::Rust, "fn f() {\n    let x = $0\n}\n"), Mode::SingleLine);
        assert_eq!(mode(Lang::Rust, "fn f() {\n    foo($0)\n}\n"), Mode::SingleLine);
        assert_eq!(mode(Lang::Python, "def f():\n    return$0\n"), Mode::SingleLine);
    }

    #[test]
    fn empty_lines_in_a_block_ask_for_several_lines() {
        assert_eq!(mode(Lang::Rust, "fn f() {\n    $0\n}\n"), Mode::MultiLine);
        assert_eq!(mode(Lang::Python, "def f(x):\n$0\n"), Mode::MultiLine);
        assert_eq!(mode(Lang::Python, "# Sum of squares.\n$0\n"), Mode::MultiLine);
        // Between finished items at the top level: the next item's first line.
        assert_eq!(mode(Lang::Rust, "fn f() {}\n\n$0\n"), Mode::SingleLine);
    }

    #[test]
    fn nothing_where_a_suggestion_would_be_noise() {
        assert_eq!(mode(Lang::Rust, "fn f() {\n    let $0value = 1;\n}\n"), Mode::Empty);
        assert_eq!(mode(Lang::Rust, "fn f() {\n    g();$0 h();\n}\n"), Mode::Empty);
        // Closing brackets to the right are no reason to stay quiet.
        assert_eq!(mode(Lang::Rust, "fn f() {\n    g($0);\n}\n"), Mode::SingleLine);
    }

    #[test]
    fn comments_and_strings_only_when_allowed() {
        let off = ModeConfig { in_comments_and_strings: false };
        assert_eq!(mode_in(Lang::Rust, "// adds two $0\nfn f() {}\n", off), Mode::Empty);
        assert_eq!(mode_in(Lang::Rust, "fn f() { g(\"ab $0\"); }\n", off), Mode::Empty);
        assert_eq!(mode_in(Lang::Python, "x = 'ab$0'\n", off), Mode::Empty);
        assert_eq!(mode_in(Lang::Python, "x = 'ab'$0\n", off), Mode::SingleLine);
        assert_eq!(mode(Lang::Rust, "// adds two $0\nfn f() {}\n"), Mode::SingleLine);
    }
}
