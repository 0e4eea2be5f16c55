//! Refusing suggestions that break the file's syntax.
//!
//! The text the model saw (prefix, typed middle, suffix) is parsed with and
//! without the suggestion; a suggestion may not add ERROR or MISSING nodes.
//! A multi-line suggestion that does is cut back, line by line, to its longest
//! clean beginning. Only the window around the cursor is parsed, a few
//! kilobytes, so this costs well under a millisecond.

use hearth_grammars::Lang;
use tree_sitter::{Node, Parser};

use crate::context::FimContext;

/// The suggestion, or its longest beginning of whole lines, that adds no
/// syntax errors; `None` when even its first line adds some.
pub fn keep_syntax_clean(lang: Lang, ctx: &FimContext, suggestion: &str) -> Option<String> {
    let mut parser = Parser::new();
    parser.set_language(&lang.ts_language()).ok()?;
    let mut errors_with = |insert: &str| -> Option<usize> {
        let text = format!("{}{}{insert}{}", ctx.prefix, ctx.middle, ctx.suffix);
        parser.parse(&text, None).map(|tree| count_errors(tree.root_node()))
    };
    let Some(baseline) = errors_with("") else { return Some(suggestion.to_owned()) };
    let lines: Vec<&str> = suggestion.split_inclusive('\n').collect();
    for keep in (1..=lines.len()).rev() {
        let candidate = lines[..keep].concat();
        let candidate = candidate.trim_end_matches('\n');
        if errors_with(candidate).is_some_and(|errors| errors <= baseline) {
            return Some(candidate.to_owned());
        }
    }
    None
}

fn count_errors(node: Node<'_>) -> usize {
    if !node.has_error() {
        return 0;
    }
    let own = usize::from(node.is_error() || node.is_missing());
    let mut cursor = node.walk();
    own + node.children(&mut cursor).map(count_errors).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::fixture;

    fn check(text: &str, suggestion: &str) -> Option<String> {
        keep_syntax_clean(Lang::Rust, &fixture(text), suggestion)
    }

    #[test]
    fn clean_suggestions_pass() {
        assert_eq!(check("fn f() -> i32 {\n    $0\n}\n", "1 + 2").as_deref(), Some("1 + 2"));
        // The line being typed is broken without the suggestion; completing it
        // only removes errors.
        assert_eq!(check("fn f() {\n    let x = $0\n}\n", "3;").as_deref(), Some("3;"));
    }

    #[test]
    fn breaking_suggestions_are_refused_or_cut() {
        assert_eq!(check("fn f() -> i32 {\n    $0\n}\n", "fn main() {"), None);
        assert_eq!(
            check("fn f() {\n    $0\n}\n", "let a = 1;\n    let b = (2;\n    let c = 3;")
                .as_deref(),
            Some("let a = 1;")
        );
    }
}
