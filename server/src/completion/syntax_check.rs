//! Refusing suggestions that break the file's syntax.
//!
//! The document is parsed with the suggestion inserted at the cursor, as an
//! incremental reparse of the document's own tree, and a suggestion may not
//! add ERROR or MISSING nodes to it. A multi-line suggestion that does is cut
//! back, line by line, to its longest clean beginning; failing that, to its
//! longest beginning that is clean once the brackets it leaves open are
//! closed (a block cut short by the token limit), and those closing lines
//! are added to it. Parsing the whole
//! document (not a window around the cursor) matters: a window that starts
//! inside a docstring or a string would parse code as text and text as code.
//! A check that runs out of time (see [`CHECK_BUDGET`]) lets the suggestion
//! through unchecked, as for a document too large to check.

use std::{
    borrow::Cow,
    time::{Duration, Instant},
};

use hearth_grammars::Lang;
use ropey::Rope;
use tree_sitter::{InputEdit, Node, Parser, Point, Tree};

use super::leading_blanks;
use crate::documents::{parse_until, str_reader};

/// Documents larger than this are not checked: without a current tree the
/// fresh parse would cost too much per suggestion.
const MAX_FRESH_PARSE_BYTES: usize = 512 * 1024;

/// The longest one check may take, all its parses together. They take well
/// under a millisecond each when the document has a current tree, and the
/// fresh parse of the largest document checked without one takes a fraction
/// of this; but tree-sitter's error recovery can take unbounded time and
/// memory on some broken text (see `documents::parse_time_limit`).
const CHECK_BUDGET: Duration = Duration::from_millis(500);

/// The suggestion, or its longest beginning of whole lines, that adds no
/// syntax errors when inserted at `cursor`; `None` when even its first line
/// adds some.
pub fn keep_syntax_clean(
    lang: Lang,
    text: &Rope,
    tree: Option<&Tree>,
    cursor: usize,
    suggestion: &str,
) -> Option<String> {
    let deadline = Instant::now() + CHECK_BUDGET;
    let Some(mut parser) = parser_for(lang) else { return Some(suggestion.to_owned()) };
    let Some(tree) = tree_or_parse(&mut parser, text, tree, deadline) else {
        return Some(suggestion.to_owned());
    };
    let tree = tree.as_ref();
    let baseline = count_errors(tree.root_node());
    let before = text.byte_slice(..cursor).to_string();
    let after = text.byte_slice(cursor..).to_string();
    let lines: Vec<&str> = suggestion.split_inclusive('\n').collect();
    // `None` when out of time.
    let mut clean = |text: &str| {
        errors_with(&mut parser, tree, &before, &after, text, deadline).map(|it| it <= baseline)
    };
    for keep in (1..=lines.len()).rev() {
        let candidate = lines[..keep].concat();
        let candidate = candidate.trim_end_matches('\n');
        // Blank lines alone are no suggestion, clean as they are.
        if candidate.trim().is_empty() {
            break;
        }
        match clean(candidate) {
            Some(true) => return Some(candidate.to_owned()),
            Some(false) => {}
            None => return Some(suggestion.to_owned()),
        }
    }
    // No beginning is clean as it stands. A suggestion cut short by its
    // limits inside a block (`for edge in edges {` and part of its body) is
    // offered with the brackets it leaves open closed, each on a line of its
    // own under the line that opened it, so that accepting it leaves the
    // file whole. Its lines must be clean otherwise.
    let cursor_indent = leading_blanks(before.rsplit('\n').next().unwrap_or_default());
    for keep in (1..=lines.len()).rev() {
        let candidate = lines[..keep].concat();
        let candidate = candidate.trim_end_matches('\n');
        let closing = closing_lines(candidate, cursor_indent);
        if closing.is_empty() {
            continue;
        }
        let closed = format!("{candidate}{closing}");
        match clean(&closed) {
            Some(true) => return Some(closed),
            Some(false) => {}
            None => return Some(suggestion.to_owned()),
        }
    }
    None
}

/// The ERROR and MISSING nodes in `text`, and in `text` with `suggestion`
/// inserted at byte `cursor`, for measuring what suggestions do to the
/// syntax (`benches/examples/syntax_breaks.rs`); `None` when a parse runs
/// out of time or `cursor` is not a character boundary.
pub fn errors_without_and_with(
    lang: Lang,
    text: &str,
    cursor: usize,
    suggestion: &str,
) -> Option<(usize, usize)> {
    let deadline = Instant::now() + CHECK_BUDGET;
    let mut parser = parser_for(lang)?;
    let tree = parse_until(&mut parser, &mut str_reader(text), None, deadline)?;
    let (before, after) = (text.get(..cursor)?, text.get(cursor..)?);
    let with = errors_with(&mut parser, &tree, before, after, suggestion, deadline)?;
    Some((count_errors(tree.root_node()), with))
}

/// The line that closes the innermost bracket left open before the cursor,
/// indented as the line that opened it, when inserting it on the cursor's
/// blank line leaves fewer syntax errors: for the end of a body the model
/// has nothing more for (a function whose `}` is not written yet). The
/// brackets are the syntax tree's tokens, so those in comments and strings
/// do not count.
pub fn missing_closer(
    lang: Lang,
    text: &Rope,
    tree: Option<&Tree>,
    cursor: usize,
) -> Option<String> {
    // The cursor's line must be blank; a first look before any parsing
    // (ropey's line is part of the one split at `\n` checked below).
    let row = text.try_byte_to_line(cursor).ok()?;
    if !text.line(row).to_string().trim().is_empty() {
        return None;
    }
    let deadline = Instant::now() + CHECK_BUDGET;
    let mut parser = parser_for(lang)?;
    let tree = tree_or_parse(&mut parser, text, tree, deadline)?;
    let tree = tree.as_ref();
    let baseline = count_errors(tree.root_node());
    if baseline == 0 {
        return None;
    }
    let before = text.get_byte_slice(..cursor)?.to_string();
    let after = text.get_byte_slice(cursor..)?.to_string();
    let typed = before.rsplit('\n').next().unwrap_or_default();
    if !typed.trim().is_empty() || !after.split('\n').next().unwrap_or_default().trim().is_empty() {
        return None;
    }
    let mut open = open_brackets(tree.root_node(), cursor);
    let (closer, opened_at) = open.pop()?;
    // The indentation of the line holding byte `at` (before the cursor).
    let indent_of = |at: usize| {
        let line_start = before.get(..at)?.rfind('\n').map_or(0, |it| it + 1);
        Some(leading_blanks(&before[line_start..]).to_owned())
    };
    let indent = indent_of(opened_at)?;
    // A line after the cursor indented deeper belongs to the open body.
    let next = after.lines().skip(1).find(|it| !it.trim().is_empty());
    if next.is_some_and(|it| leading_blanks(it).len() > indent.len()) {
        return None;
    }
    let line = format!("{}{closer}", indent.strip_prefix(typed)?);
    // Judged with the brackets around it closed too, each under its line.
    let mut closed = line.clone();
    for (closer, at) in open.iter().rev() {
        closed.push_str(&format!("\n{}{closer}", indent_of(*at)?));
    }
    let errors = errors_with(&mut parser, tree, &before, &after, &closed, deadline)?;
    (errors < baseline).then_some(line)
}

/// The brackets opened before `cursor` and not closed before it, outermost
/// first: the closer of each and the byte it was opened at. Top-level nodes
/// that end before the cursor without errors are balanced and skipped. A
/// template string's `${` opens a brace; a closer that does not match the
/// innermost open bracket closes nothing.
fn open_brackets(root: Node<'_>, cursor: usize) -> Vec<(&'static str, usize)> {
    let mut open: Vec<(&'static str, usize)> = Vec::new();
    let mut walk = root.walk();
    for item in root.children(&mut walk) {
        if item.start_byte() >= cursor {
            break;
        }
        // A bracket token on its own is an item when the root is an ERROR.
        if item.end_byte() <= cursor && item.child_count() > 0 && !item.has_error() {
            continue;
        }
        let mut leaves = item.walk();
        loop {
            let node = leaves.node();
            if node.start_byte() >= cursor {
                break;
            }
            if node.child_count() == 0 || node.is_missing() {
                match node.kind() {
                    "{" | "${" => open.push(("}", node.start_byte())),
                    "(" => open.push((")", node.start_byte())),
                    "[" => open.push(("]", node.start_byte())),
                    kind @ ("}" | ")" | "]")
                        if !node.is_missing() && open.last().is_some_and(|it| it.0 == kind) =>
                    {
                        open.pop();
                    }
                    _ => {}
                }
            }
            if node.child_count() > 0 && leaves.goto_first_child() {
                continue;
            }
            while !leaves.goto_next_sibling() {
                if !leaves.goto_parent() {
                    break;
                }
            }
            if leaves.node() == item && leaves.depth() == 0 {
                break;
            }
        }
    }
    open
}

/// The document's current tree, or a fresh parse of it when it has none
/// and is small enough; `None` when it is too large or the parse runs out
/// of time.
fn tree_or_parse<'t>(
    parser: &mut Parser,
    text: &Rope,
    tree: Option<&'t Tree>,
    deadline: Instant,
) -> Option<Cow<'t, Tree>> {
    match tree {
        Some(tree) => Some(Cow::Borrowed(tree)),
        None if text.len_bytes() <= MAX_FRESH_PARSE_BYTES => {
            let source = text.to_string();
            parse_until(parser, &mut str_reader(&source), None, deadline).map(Cow::Owned)
        }
        None => None,
    }
}

/// A parser for `lang`; `None` when tree-sitter refuses the grammar (built
/// for another version of it).
fn parser_for(lang: Lang) -> Option<Parser> {
    let mut parser = Parser::new();
    parser.set_language(&lang.ts_language()).ok()?;
    Some(parser)
}

/// Lines that close the brackets `text` opens and does not close, innermost
/// first: the brackets opened on one line are closed together on a line
/// indented as that one (`cursor_indent` is the indentation before `text`'s
/// first line). Brackets inside quotes are skipped (roughly: quotes are not
/// balanced across lines in code worth checking). Empty when `text` closes
/// more than it opens: that is for the parse to judge.
fn closing_lines(text: &str, cursor_indent: &str) -> String {
    let indents: Vec<String> = text
        .split('\n')
        .enumerate()
        .map(|(i, line)| {
            let own = leading_blanks(line);
            if i == 0 { format!("{cursor_indent}{own}") } else { own.to_owned() }
        })
        .collect();
    // Each open bracket's closer and the line it was opened on.
    let mut open: Vec<(char, usize)> = Vec::new();
    let mut line = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for ch in text.chars() {
        if ch == '\n' {
            line += 1;
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == q || ch == '\n' {
                quote = None;
            }
            continue;
        }
        match ch {
            '"' | '\'' | '`' => quote = Some(ch),
            '(' => open.push((')', line)),
            '[' => open.push((']', line)),
            '{' => open.push(('}', line)),
            ')' | ']' | '}' if open.pop().map(|it| it.0) != Some(ch) => return String::new(),
            _ => {}
        }
    }
    let mut closing = String::new();
    let mut last_line = None;
    for (closer, line) in open.into_iter().rev() {
        if last_line != Some(line) {
            closing.push('\n');
            closing.push_str(&indents[line]);
            last_line = Some(line);
        }
        closing.push(closer);
    }
    closing
}

/// The error count of the document with `insert` at the cursor, reparsed
/// incrementally from the document's tree; `None` if that takes until
/// `deadline`.
fn errors_with(
    parser: &mut Parser,
    tree: &Tree,
    before: &str,
    after: &str,
    insert: &str,
    deadline: Instant,
) -> Option<usize> {
    let mut edited = tree.clone();
    let start = before.len();
    edited.edit(&InputEdit {
        start_byte: start,
        old_end_byte: start,
        new_end_byte: start + insert.len(),
        start_position: point_after(before),
        old_end_position: point_after(before),
        new_end_position: point_after(&format!("{before}{insert}")),
    });
    let text = format!("{before}{insert}{after}");
    let parsed = parse_until(parser, &mut str_reader(&text), Some(&edited), deadline);
    parsed.map(|it| count_errors(it.root_node()))
}

/// The tree-sitter point (row, byte column) at the end of `text`.
fn point_after(text: &str) -> Point {
    let row = text.matches('\n').count();
    let column = text.len() - text.rfind('\n').map_or(0, |it| it + 1);
    Point { row, column }
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

    fn check(fixture: &str, suggestion: &str) -> Option<String> {
        let cursor = fixture.find("$0").unwrap();
        let text = fixture.replace("$0", "");
        keep_syntax_clean(Lang::Rust, &Rope::from_str(&text), None, cursor, suggestion)
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
        assert_eq!(check("fn f() -> i32 {\n    $0\n}\n", "let = 5;"), None);
        let text = "fn f() -> i32 {\n    \n}\n";
        let (without, with) = errors_without_and_with(Lang::Rust, text, 20, "let = 5;").unwrap();
        assert!(without == 0 && with > 0, "{without} -> {with}");
        assert_eq!(
            check("fn f() {\n    $0\n}\n", "let a = 1;\n    let b = (2;\n    let c = 3;")
                .as_deref(),
            Some("let a = 1;")
        );
    }

    #[test]
    fn a_blank_beginning_is_no_suggestion() {
        // Found by `fuzz/context_postprocess`: a suggestion whose first line
        // is blank and whose second breaks the syntax was cut back to its
        // blank line and returned as an empty suggestion.
        let text = Rope::from_str("import osdef f(x):\r\n");
        let cursor = text.len_bytes();
        assert_eq!(keep_syntax_clean(Lang::Python, &text, None, cursor, "\n(\0{"), None);
        assert_eq!(check("fn f() {\n    $0\n}\n", "  \nlet = 5;"), None);
    }

    #[test]
    fn a_check_that_takes_too_long_lets_the_suggestion_through() {
        // Found by `fuzz/context_postprocess`: in this TSX (shortened; see
        // `documents::parse_time_limit`), a parse with the suggestion
        // inserted ran for 20 minutes and took 23 GB before it was stopped.
        let source = "class :a[//b[[[[[[c)t y;d}";
        let text = Rope::from_str(source);
        let started = Instant::now();
        let checked = keep_syntax_clean(Lang::Tsx, &text, None, source.len(), "b ");
        assert_eq!(checked.as_deref(), Some("b "));
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }

    #[test]
    fn an_unfinished_block_is_judged_with_its_brackets_closed() {
        let fixture = "fn f(edges: &[u32]) {\n    $0\n}\n";
        assert_eq!(
            check(fixture, "for edge in edges {\n        g(*edge);").as_deref(),
            Some("for edge in edges {\n        g(*edge);\n    }")
        );
        // The lines of an open block must still be clean.
        assert_eq!(
            check(fixture, "for edge in edges {\n        g(*edge;").as_deref(),
            Some("for edge in edges {\n    }")
        );
        // Brackets opened on one line close together, under that line.
        assert_eq!(closing_lines("a(b[\"(\"], {", "  "), "\n  })");
        assert_eq!(
            closing_lines("items.iter().map(|it| {\n    match it {\n        A => 1,", ""),
            "\n    }\n})"
        );
        assert_eq!(closing_lines("x)", ""), "");
    }

    fn closer(lang: Lang, fixture: &str) -> Option<String> {
        let cursor = fixture.find("$0").unwrap();
        let text = fixture.replace("$0", "");
        missing_closer(lang, &Rope::from_str(&text), None, cursor)
    }

    #[test]
    fn a_body_left_open_is_closed_under_its_opening_line() {
        assert_eq!(closer(Lang::Rust, "fn f() -> u32 {\n    1\n$0").as_deref(), Some("}"));
        assert_eq!(closer(Lang::Rust, "fn f() -> u32 {\n1\n$0\n").as_deref(), Some("}"));
        let nested = "impl A {\n    fn f(&self) -> u32 {\n        1\n    $0";
        assert_eq!(closer(Lang::Rust, nested).as_deref(), Some("}"));
        let nested = "impl A {\n    fn f(&self) -> u32 {\n        1\n$0";
        assert_eq!(closer(Lang::Rust, nested).as_deref(), Some("    }"));
        // Brackets in comments and strings are not the syntax's.
        let fixture = "// fn g() {\nfn f() -> &'static str {\n\"{\"\n$0";
        assert_eq!(closer(Lang::Rust, fixture).as_deref(), Some("}"));
        let fixture = "const x = f(a,\n  b,\n$0";
        assert_eq!(closer(Lang::JavaScript, fixture).as_deref(), Some(")"));
        // A template string's `${…}` is balanced on its own.
        let fixture = "function f(x) {\n  return `a ${x} b`\n$0";
        assert_eq!(closer(Lang::JavaScript, fixture).as_deref(), Some("}"));
    }

    #[test]
    fn nothing_is_closed_where_nothing_is_missing_or_text_follows() {
        assert_eq!(closer(Lang::Rust, "fn f() -> u32 {\n    1\n$0\n}\n"), None);
        // Statements after the cursor belong to the open body.
        assert_eq!(closer(Lang::Rust, "fn f() {\n    g();\n$0\n    h();\n"), None);
        // Text typed on the cursor's line.
        assert_eq!(closer(Lang::Rust, "fn f() -> u32 {\n    1\n    x$0"), None);
        assert_eq!(closer(Lang::Python, "def f():\n    return 1\n$0"), None);
    }

    #[test]
    fn text_inside_a_docstring_far_from_its_start_is_fine() {
        let doc = format!(
            "def f():\n    \"\"\"Start.\n{}    $0\n    \"\"\"\n",
            "    words words\n".repeat(400)
        );
        let cursor = doc.find("$0").unwrap();
        let text = Rope::from_str(&doc.replace("$0", ""));
        let got = keep_syntax_clean(Lang::Python, &text, None, cursor, "More words (with a paren.");
        assert_eq!(got.as_deref(), Some("More words (with a paren."));
    }
}
