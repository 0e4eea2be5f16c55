//! Turning the model's code into edits, placed by the language's
//! conventions.
//!
//! Each action has its own place for the code: a doc comment goes above
//! the item (or, in Python, into its body as a docstring), an explanation
//! above the item and its doc comment, a test where the language keeps
//! tests, a fix or a rewrite over the target itself. The model's text is
//! normalised first (comment markers and quotes it wrote are taken off and
//! written again in the right form) and indented to its place. Every action
//! yields one edit, so one undo takes it back, and the edited file must not
//! have more syntax errors than the file had: a model that answered with
//! broken code is refused rather than applied.

use std::ops::Range;

use hearth_grammars::Lang;
use tree_sitter::{Node, Tree};

use super::syntax::{self, Item};
use super::{ActionError, ActionKind, text};
use crate::documents::parse_fresh;

#[cfg(test)]
mod tests;

/// Replace `range` (bytes of the source the edit was computed for) with
/// `new_text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub new_text: String,
}

/// Line comment width, markers and indentation included, of explanations.
const WRAP_COLUMNS: usize = 90;

/// The edits that apply `reply_code` (the code taken out of the model's
/// reply, see [`super::extract_code`]) for action `kind` on `target`, the
/// range its offer had.
///
/// # Errors
///
/// [`ActionError::NoCode`] when `reply_code` has nothing usable,
/// [`ActionError::StaleTarget`] when `target` does not fit `source`, and
/// [`ActionError::BreaksSyntax`] when the edited file would have more
/// syntax errors than `source`.
pub fn edits_for(
    kind: ActionKind,
    lang: Lang,
    source: &str,
    tree: &Tree,
    target: Range<usize>,
    reply_code: &str,
) -> Result<Vec<Edit>, ActionError> {
    if target.start > target.end
        || target.end > source.len()
        || !source.is_char_boundary(target.start)
        || !source.is_char_boundary(target.end)
    {
        return Err(ActionError::StaleTarget);
    }
    if reply_code.trim().is_empty() {
        return Err(ActionError::NoCode);
    }
    let item = syntax::item_exactly(lang, tree, source, target.clone());
    let edit = match kind {
        ActionKind::Document => document(lang, source, item.as_ref(), &target, reply_code)?,
        ActionKind::Explain => explain(lang, source, item.as_ref(), &target, reply_code)?,
        ActionKind::Fix | ActionKind::Rewrite => replace(source, &target, reply_code),
        ActionKind::WriteTest => {
            write_test(lang, source, tree, item.as_ref(), &target, reply_code)?
        }
    };
    let edits = vec![edit];
    check_syntax(lang, source, tree, &edits)?;
    Ok(edits)
}

/// `source` with `edits` applied. Edits are taken in order of their
/// start; one that overlaps an earlier one or does not fit is skipped.
pub fn apply(source: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|it| it.range.start);
    let mut out = String::with_capacity(source.len());
    let mut done = 0;
    for edit in sorted {
        let (Some(kept), Some(_)) =
            (source.get(done..edit.range.start), source.get(edit.range.clone()))
        else {
            continue;
        };
        out.push_str(kept);
        out.push_str(&edit.new_text);
        done = edit.range.end;
    }
    out.push_str(source.get(done..).unwrap_or_default());
    out
}

/// Refuses edits after which the file has more ERROR or MISSING nodes.
fn check_syntax(lang: Lang, source: &str, tree: &Tree, edits: &[Edit]) -> Result<(), ActionError> {
    let edited = apply(source, edits);
    let errors_before = syntax::error_count(tree.root_node());
    // Without a parser nothing can be judged; the grammars are built in, so
    // this does not happen in practice.
    let Some(after) = parse_fresh(lang, &edited) else {
        return Ok(());
    };
    let errors_after = syntax::error_count(after.root_node());
    if errors_after > errors_before {
        return Err(ActionError::BreaksSyntax { errors_before, errors_after });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Fix and Rewrite

/// The target replaced with `code`: the first line keeps the indentation
/// the target's line has, the others are indented relative to it.
fn replace(source: &str, target: &Range<usize>, code: &str) -> Edit {
    let code = text::dedent(code);
    let indent = text::indentation(source, target.start);
    let line_start = text::line_start(source, target.start);
    // A target that starts before its line's first token (a selection of
    // whole lines) replaces the indentation too, so the code brings it back.
    let first_prefix = if text::starts_its_line(source, target.start) {
        indent.get(target.start - line_start..).unwrap_or_default()
    } else {
        ""
    };
    let mut new_text = String::with_capacity(code.len() + 16);
    for (i, line) in code.lines().enumerate() {
        if i == 0 {
            new_text.push_str(first_prefix);
        } else {
            new_text.push('\n');
            if !line.is_empty() {
                new_text.push_str(indent);
            }
        }
        new_text.push_str(line);
    }
    if text::slice(source, target.clone()).ends_with('\n') {
        new_text.push('\n');
    }
    Edit { range: target.clone(), new_text }
}

// ---------------------------------------------------------------------------
// Document

fn document(
    lang: Lang,
    source: &str,
    item: Option<&Item<'_>>,
    target: &Range<usize>,
    code: &str,
) -> Result<Edit, ActionError> {
    let mut lines = plain_lines(lang, code);
    if lines.is_empty() {
        return Err(ActionError::NoCode);
    }
    if lang == Lang::Go
        && let Some(item) = item
    {
        name_first(&mut lines, item.name(source));
    }
    if lang == Lang::Python
        && let Some(item) = item
        && let Some(edit) = docstring(source, item, &lines)
    {
        return Ok(edit);
    }
    let Some(item) = item else {
        // A selection: the comment goes above its first line.
        let at = text::line_start(source, target.start);
        let indent = text::indentation(source, target.start);
        let new_text = doc_comment(lang, &lines, indent);
        return Ok(Edit { range: at..at, new_text });
    };
    let anchor = syntax::anchor(source, item.node);
    let indent = text::indentation(source, anchor.start_byte());
    // The run of doc comments and attributes directly above the item: the
    // new doc goes on top of it and replaces the doc comments in it, leaving
    // the attributes where they are.
    let leading = syntax::leading_nodes(lang, source, anchor);
    let run_start = leading
        .iter()
        .rposition(|it| !(is_doc(lang, source, *it) || syntax::is_attribute(lang, *it)))
        .map_or(0, |it| it + 1);
    let run = leading.get(run_start..).unwrap_or_default();
    let end = text::line_start(source, anchor.start_byte());
    let start = run.first().map_or(end, |it| text::line_start(source, it.start_byte())).min(end);
    let docs: Vec<Range<usize>> =
        run.iter().filter(|it| is_doc(lang, source, **it)).map(|it| it.byte_range()).collect();
    let mut new_text = doc_comment(lang, &lines, indent);
    let mut line = start;
    while line < end {
        let next = text::next_line_start(source, line).min(end);
        let content = text::slice(source, line..next);
        let first = line + (content.len() - content.trim_start().len());
        let last = line + content.trim_end().len();
        let is_doc_line = docs.iter().any(|doc| doc.start <= first && last <= doc.end);
        if !is_doc_line {
            new_text.push_str(content);
        }
        if next <= line {
            break;
        }
        line = next;
    }
    Ok(minimal(source, start..end, new_text))
}

/// Whether a comment node is a doc comment in the language's conventions.
fn is_doc(lang: Lang, source: &str, node: Node<'_>) -> bool {
    if !syntax::is_comment(node) {
        return false;
    }
    let comment = text::slice(source, node.byte_range());
    let doc_block = comment.starts_with("/**") && !comment.starts_with("/***") && comment != "/**/";
    match lang {
        Lang::Rust => (comment.starts_with("///") && !comment.starts_with("////")) || doc_block,
        Lang::C | Lang::Cpp => {
            comment.starts_with("///") || comment.starts_with("//!") || doc_block
        }
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx | Lang::Java => doc_block,
        // Every comment directly above a Go declaration is its doc comment.
        Lang::Go => true,
        Lang::Lua => comment.starts_with("---"),
        Lang::Bash | Lang::Python => !comment.starts_with("#!"),
    }
}

/// The doc comment for `lines`, each line indented, ending with a newline.
fn doc_comment(lang: Lang, lines: &[String], indent: &str) -> String {
    let mut out = String::new();
    let mut line = |marker: &str, content: &str| {
        out.push_str(indent);
        out.push_str(marker);
        // LuaCATS annotations follow their marker directly: `---@param`.
        let annotation = lang == Lang::Lua && content.starts_with('@');
        if !content.is_empty() && !annotation {
            out.push(' ');
        }
        out.push_str(content);
        out.push('\n');
    };
    match lang {
        Lang::Rust => lines.iter().for_each(|it| line("///", it)),
        Lang::Go => lines.iter().for_each(|it| line("//", it)),
        Lang::Lua => lines.iter().for_each(|it| line("---", it)),
        Lang::Python | Lang::Bash => lines.iter().for_each(|it| line("#", it)),
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx | Lang::Java | Lang::C | Lang::Cpp => {
            // `*/` inside the text would end the comment early.
            let lines: Vec<String> = lines.iter().map(|it| it.replace("*/", "* /")).collect();
            match lines.as_slice() {
                [only] => line("/**", &format!("{only} */")),
                _ => {
                    line("/**", "");
                    lines.iter().for_each(|it| line(" *", it));
                    line(" */", "");
                }
            }
        }
    }
    out
}

/// Go doc comments start with the name they document; a model that wrote
/// "Returns …" gets "Name returns …".
fn name_first(lines: &mut [String], name: &str) {
    let Some(first) = lines.first_mut() else {
        return;
    };
    if name.is_empty() || first.starts_with(name) {
        return;
    }
    let mut chars = first.chars();
    let lowered = match (chars.next(), chars.next()) {
        // "Returns" becomes "returns", "HTTP" stays.
        (Some(a), Some(b)) if a.is_uppercase() && !b.is_uppercase() => {
            a.to_lowercase().chain(first.chars().skip(1)).collect()
        }
        _ => first.clone(),
    };
    *first = format!("{name} {lowered}");
}

/// A Python docstring as the first statement of the def's or class's body,
/// replacing the one it has. `None` for items without a body (a type
/// alias), which get a comment above instead.
fn docstring(source: &str, item: &Item<'_>, lines: &[String]) -> Option<Edit> {
    let body = item.node.child_by_field_name("body")?;
    let mut cursor = body.walk();
    let first = body.named_children(&mut cursor).find(|it| !syntax::is_comment(*it));
    // The header's colon; comments may stand between it and the body.
    let mut cursor = item.node.walk();
    let colon = item
        .node
        .children(&mut cursor)
        .filter(|it| it.kind() == ":" && it.end_byte() <= body.start_byte())
        .last()
        .map_or(body.start_byte(), |it| it.end_byte());
    let colon_line = text::line_number(source, colon);
    match first {
        Some(first) if is_docstring(first) => {
            let indent = text::indentation(source, first.start_byte());
            let new_text = docstring_text(lines, indent);
            Some(Edit { range: first.byte_range(), new_text })
        }
        // On the line after the header, above any comments that open the
        // body, with the body's indentation.
        Some(first)
            if text::starts_its_line(source, first.start_byte())
                && text::line_number(source, first.start_byte()) > colon_line =>
        {
            let indent = text::indentation(source, first.start_byte());
            let at = text::next_line_start(source, colon);
            let new_text = format!("{indent}{}\n", docstring_text(lines, indent));
            Some(Edit { range: at..at, new_text })
        }
        // `def f(): return 1`: the body moves to lines of its own, after the
        // docstring, one level in.
        _ => {
            let indent = format!("{}    ", text::indentation(source, item.node.start_byte()));
            let doc = docstring_text(lines, &indent);
            let (end, new_text) = match first {
                Some(_) => (body.start_byte(), format!("\n{indent}{doc}\n{indent}")),
                None => (colon, format!("\n{indent}{doc}")),
            };
            Some(Edit { range: colon..end.max(colon), new_text })
        }
    }
}

/// Whether a statement is a docstring: a string on its own.
fn is_docstring(statement: Node<'_>) -> bool {
    statement.kind() == "expression_statement"
        && statement.named_child_count() == 1
        && statement
            .named_child(0)
            .is_some_and(|it| matches!(it.kind(), "string" | "concatenated_string"))
}

/// `"""…"""` for `lines`, continuation lines indented by `indent`, the first
/// line not (it goes where the statement starts).
fn docstring_text(lines: &[String], indent: &str) -> String {
    // Backslashes are escaped, and so is what would end the string early.
    let escaped: Vec<String> =
        lines.iter().map(|it| it.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"")).collect();
    match escaped.as_slice() {
        [only] => {
            let only = match only.strip_suffix('"') {
                Some(rest) => format!("{rest}\\\""),
                None => only.clone(),
            };
            format!("\"\"\"{only}\"\"\"")
        }
        _ => {
            let mut out = String::from("\"\"\"");
            for (i, line) in escaped.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                    if !line.is_empty() {
                        out.push_str(indent);
                    }
                }
                out.push_str(line);
            }
            out.push('\n');
            out.push_str(indent);
            out.push_str("\"\"\"");
            out
        }
    }
}

/// The text of a comment or docstring the model wrote, whatever form it
/// took, as plain lines: quotes, block comment delimiters and line comment
/// markers are taken off, the common indentation and blank lines at both
/// ends are removed.
fn plain_lines(lang: Lang, code: &str) -> Vec<String> {
    let code = code.trim();
    // A docstring, possibly inside the def the model repeated.
    if let Some(inner) = triple_quoted(code) {
        return docstring_lines(inner);
    }
    // A block comment: its content, without the stars that start lines.
    if let Some(rest) = code.strip_prefix("/*") {
        let rest = rest.trim_start_matches(['*', '!']);
        let inner = rest.split("*/").next().unwrap_or_default();
        let lines: Vec<&str> = inner
            .lines()
            .map(|line| {
                let line = line.trim_start();
                let line = line.strip_prefix('*').unwrap_or(line);
                line.strip_prefix(' ').unwrap_or(line)
            })
            .collect();
        return tidy(&lines);
    }
    // Line comments: the leading run of lines that carry a marker (a model
    // may repeat the item after its doc comment).
    let markers = comment_markers(lang);
    let marker_of =
        |line: &str| markers.iter().find(|it| line.trim_start().starts_with(**it)).copied();
    if code.lines().next().and_then(marker_of).is_some() {
        let lines: Vec<&str> = code
            .lines()
            .map_while(|line| {
                let marker = marker_of(line)?;
                let rest = line.trim_start().get(marker.len()..).unwrap_or_default();
                Some(rest.strip_prefix(' ').unwrap_or(rest))
            })
            .collect();
        return tidy(&lines);
    }
    tidy(&code.lines().collect::<Vec<_>>())
}

/// Line comment markers a model may write, longest first.
fn comment_markers(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Rust | Lang::C | Lang::Cpp | Lang::JavaScript | Lang::TypeScript | Lang::Tsx => {
            &["///", "//!", "//"]
        }
        Lang::Java | Lang::Go => &["//"],
        Lang::Lua => &["---", "--"],
        Lang::Python | Lang::Bash => &["#"],
    }
}

/// What is between the first pair of triple quotes (`"""` or `'''`), or up
/// to the end when the closing quotes are missing.
fn triple_quoted(code: &str) -> Option<&str> {
    let (open, quote) = ["\"\"\"", "'''"]
        .iter()
        .filter_map(|quote| code.find(quote).map(|at| (at, *quote)))
        .min_by_key(|(at, _)| *at)?;
    let rest = code.get(open + quote.len()..)?;
    Some(rest.find(quote).and_then(|close| rest.get(..close)).unwrap_or(rest))
}

/// A docstring's lines, trimmed as PEP 257 says: the first line on its own,
/// the common indentation of the others removed.
fn docstring_lines(inner: &str) -> Vec<String> {
    let mut lines = inner.lines();
    let first = lines.next().unwrap_or_default().trim();
    let rest = text::dedent(&format!("\n{}", lines.collect::<Vec<_>>().join("\n")));
    let mut all = vec![first];
    if !rest.is_empty() {
        // A blank line after the summary survives the dedent's trimming.
        if inner.lines().nth(1).is_some_and(|it| it.trim().is_empty()) {
            all.push("");
        }
        all.extend(rest.lines());
    }
    tidy(&all)
}

/// Lines without trailing blanks, common indentation and blank lines at
/// both ends.
fn tidy(lines: &[&str]) -> Vec<String> {
    text::dedent(&lines.join("\n")).lines().map(str::to_owned).collect()
}

// ---------------------------------------------------------------------------
// Explain

fn explain(
    lang: Lang,
    source: &str,
    item: Option<&Item<'_>>,
    target: &Range<usize>,
    code: &str,
) -> Result<Edit, ActionError> {
    let lines = plain_lines(lang, code);
    if lines.is_empty() {
        return Err(ActionError::NoCode);
    }
    // Above the item's attributes and comments, which stay with the item.
    let (at, indent, leading) = match item {
        Some(item) => {
            let anchor = syntax::anchor(source, item.node);
            let leading = syntax::leading_nodes(lang, source, anchor);
            let first = leading.first().map_or(anchor, |it| *it);
            (
                text::line_start(source, first.start_byte()),
                text::indentation(source, anchor.start_byte()),
                !leading.is_empty(),
            )
        }
        None => {
            (text::line_start(source, target.start), text::indentation(source, target.start), false)
        }
    };
    let marker = lang.line_comment();
    let width = WRAP_COLUMNS.saturating_sub(indent.chars().count() + marker.len() + 1).max(40);
    let mut new_text = String::new();
    for line in &lines {
        for piece in text::wrap(line, width) {
            new_text.push_str(indent);
            new_text.push_str(marker);
            if !piece.is_empty() {
                new_text.push(' ');
                new_text.push_str(&piece);
            }
            new_text.push('\n');
        }
    }
    // In Go and shell scripts every comment directly above a definition is
    // its documentation: a blank line keeps the explanation out of it.
    if leading && matches!(lang, Lang::Go | Lang::Bash) {
        new_text.push('\n');
    }
    Ok(Edit { range: at..at, new_text })
}

// ---------------------------------------------------------------------------
// Write a test

fn write_test(
    lang: Lang,
    source: &str,
    tree: &Tree,
    item: Option<&Item<'_>>,
    target: &Range<usize>,
    code: &str,
) -> Result<Edit, ActionError> {
    if lang == Lang::Rust {
        let mut test = rust_test_function(code);
        if test.is_empty() {
            return Err(ActionError::NoCode);
        }
        // A test named like the function under test shadows it inside
        // `mod tests` (`use super::*` loses to the local name): rename it.
        if let Some(name) = item.map(|it| it.name(source)).filter(|it| !it.is_empty()) {
            test = test.replace(&format!("fn {name}("), &format!("fn {name}_works("));
        }
        return rust_test(source, tree, &test);
    }
    let mut test = text::dedent(code);
    if lang == Lang::Python {
        test = python_tests_only(&test, source);
    }
    let found;
    let item = match item {
        Some(item) => Some(item),
        None => {
            found = syntax::item_at(lang, tree, source, target.start);
            found.as_ref()
        }
    };
    let Some(item) = item else {
        // No function around: after the target's last line.
        let at = text::line_end(source, target.end);
        return Ok(Edit { range: at..at, new_text: format!("\n\n{test}") });
    };
    // Java methods live in classes, so the test goes next to the method
    // under test; elsewhere after the top-level item holding it, where it
    // can see the function and is never inside it.
    let (after, indent) = if lang == Lang::Java {
        (item.node, text::indentation(source, item.node.start_byte()))
    } else {
        (syntax::top_level(syntax::anchor(source, item.node)), "")
    };
    let at = end_of_line_before_newline(source, after.end_byte());
    let separator = if lang == Lang::Python { "\n\n\n" } else { "\n\n" };
    let new_text = format!("{separator}{}", text::indent_lines(&test, indent));
    Ok(Edit { range: at..at, new_text })
}

/// The test functions of a Python reply, without the copies of the code
/// under test (and its imports) that a small model likes to repeat before
/// them: applied, those would redefine the module's own names. Imports the
/// module lacks stay. The reply as it is when it has no `test` function.
fn python_tests_only(reply: &str, source: &str) -> String {
    // Top-level chunks: a line at column 0 (decorators join the definition
    // after them) and the indented or blank lines that follow it.
    let mut chunks: Vec<String> = Vec::new();
    let mut decorated = false;
    for line in reply.lines() {
        let top = !line.is_empty() && !line.starts_with([' ', '\t']);
        match chunks.last_mut() {
            Some(chunk) if !top || decorated => {
                chunk.push('\n');
                chunk.push_str(line);
            }
            _ => chunks.push(line.to_owned()),
        }
        if top {
            decorated = line.starts_with('@');
        }
    }
    let is_test = |chunk: &str| {
        chunk.lines().find(|it| !it.starts_with('@')).is_some_and(|it| {
            it.starts_with("def test")
                || it.starts_with("async def test")
                || it.starts_with("class Test")
        })
    };
    if !chunks.iter().any(|it| is_test(it)) {
        return reply.to_owned();
    }
    let has_line = |line: &str| source.lines().any(|it| it.trim_end() == line.trim_end());
    let kept: Vec<&str> = chunks
        .iter()
        .map(|it| it.trim_end())
        .filter(|chunk| {
            is_test(chunk)
                || ((chunk.starts_with("import ") || chunk.starts_with("from "))
                    && !chunk.lines().all(has_line))
        })
        .collect();
    kept.join("\n\n\n")
}

/// The end of the last line of a node ending at `end`, before its newline.
fn end_of_line_before_newline(source: &str, end: usize) -> usize {
    let line_end = text::end_of_last_line(source, end);
    if line_end > 0 && source.as_bytes().get(line_end - 1) == Some(&b'\n') {
        line_end - 1
    } else {
        line_end
    }
}

/// The test function in a Rust reply: without the `mod tests` and `use
/// super::*;` a model may wrap it in, and with `#[test]` when it forgot it.
fn rust_test_function(code: &str) -> String {
    let mut code = text::dedent(code);
    if let Some(tree) = parse_fresh(Lang::Rust, &code) {
        let root = tree.root_node();
        let mut cursor = root.walk();
        let module = root
            .named_children(&mut cursor)
            .find_map(|it| it.child_by_field_name("body").filter(|_| it.kind() == "mod_item"));
        if let Some(body) = module {
            let inner =
                text::slice(&code, body.start_byte() + 1..body.end_byte().saturating_sub(1));
            code = text::dedent(inner);
        }
    }
    let kept: Vec<&str> =
        code.lines().filter(|it| !matches!(it.trim(), "use super::*;" | "#[cfg(test)]")).collect();
    let code = text::dedent(&kept.join("\n"));
    let has_test_attribute = code.lines().any(|line| {
        let line = line.trim();
        line.starts_with("#[") && {
            let path = line.trim_start_matches("#[").split(['(', ']']).next().unwrap_or_default();
            path.rsplit("::").next().is_some_and(|it| matches!(it, "test" | "rstest" | "test_case"))
        }
    });
    if has_test_attribute {
        return code;
    }
    let is_fn = |line: &str| {
        let line = line.trim_start();
        ["fn ", "pub fn ", "async fn ", "pub(crate) fn "].iter().any(|it| line.starts_with(it))
    };
    let mut out = String::with_capacity(code.len() + 8);
    let mut added = false;
    for line in code.lines() {
        if !added && is_fn(line) {
            out.push_str("#[test]\n");
            added = true;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !added {
        out.insert_str(0, "#[test]\n");
    }
    out.trim_end().to_owned()
}

/// A Rust test goes into the file's `#[cfg(test)] mod tests`, before its
/// closing brace; a file without one gets one at its end. A file whose
/// tests module is a file of its own (`mod tests;`) cannot take the test:
/// an edit of this file only would declare the module twice.
fn rust_test(source: &str, tree: &Tree, test: &str) -> Result<Edit, ActionError> {
    let root = tree.root_node();
    let mut cursor = root.walk();
    let (modules, elsewhere): (Vec<Node<'_>>, Vec<Node<'_>>) = root
        .named_children(&mut cursor)
        .filter(|it| it.kind() == "mod_item")
        .partition(|it| it.child_by_field_name("body").is_some());
    let cfg_test = |module: &Node<'_>| {
        syntax::leading_nodes(Lang::Rust, source, *module)
            .iter()
            .any(|it| text::slice(source, it.byte_range()).replace(' ', "") == "#[cfg(test)]")
    };
    let named_tests = |module: &Node<'_>| {
        module
            .child_by_field_name("name")
            .is_some_and(|it| text::slice(source, it.byte_range()) == "tests")
    };
    let module = modules
        .iter()
        .find(|it| cfg_test(it))
        .or_else(|| modules.iter().find(|it| named_tests(it)));
    if module.is_none() && elsewhere.iter().any(|it| cfg_test(it) || named_tests(it)) {
        return Err(ActionError::TestsInAnotherFile);
    }
    let Some(body) = module.and_then(|it| it.child_by_field_name("body")) else {
        let at = source.len();
        let lead = if source.is_empty() || source.ends_with("\n\n") {
            ""
        } else if source.ends_with('\n') {
            "\n"
        } else {
            "\n\n"
        };
        let new_text = format!(
            "{lead}#[cfg(test)]\nmod tests {{\n    use super::*;\n\n{}\n}}\n",
            text::indent_lines(test, "    ")
        );
        return Ok(Edit { range: at..at, new_text });
    };
    let module_indent = text::indentation(source, body.start_byte());
    let mut cursor = body.walk();
    let first_inner = body.named_children(&mut cursor).next();
    let has_items = first_inner.is_some();
    // One level deeper than the module, as its items are indented.
    let inner_indent = first_inner
        .filter(|it| {
            text::line_number(source, it.start_byte())
                > text::line_number(source, body.start_byte())
        })
        .map(|it| text::indentation(source, it.start_byte()))
        .filter(|it| it.len() > module_indent.len())
        .map_or_else(|| format!("{module_indent}    "), str::to_owned);
    let test = text::indent_lines(test, &inner_indent);
    let close = body.end_byte().saturating_sub(1);
    let close = if source.as_bytes().get(close) == Some(&b'}') { close } else { body.end_byte() };
    let separator = if has_items { "\n" } else { "" };
    Ok(if text::starts_its_line(source, close) {
        let at = text::line_start(source, close);
        Edit { range: at..at, new_text: format!("{separator}{test}\n") }
    } else {
        Edit { range: close..close, new_text: format!("\n{separator}{test}\n{module_indent}") }
    })
}

/// An edit of `range` to `new_text` without the whole lines at both ends
/// that stay the same, so that what it leaves alone is not touched.
fn minimal(source: &str, range: Range<usize>, new_text: String) -> Edit {
    let old = text::slice(source, range.clone());
    let mut prefix = 0;
    for (a, b) in old.split_inclusive('\n').zip(new_text.split_inclusive('\n')) {
        if a != b || !a.ends_with('\n') {
            break;
        }
        prefix += a.len();
    }
    let old_rest = old.get(prefix..).unwrap_or_default();
    let new_rest = new_text.get(prefix..).unwrap_or_default();
    let room = old_rest.len().min(new_rest.len());
    let mut suffix = 0;
    for (a, b) in old_rest.split_inclusive('\n').rev().zip(new_rest.split_inclusive('\n').rev()) {
        if a != b || !a.ends_with('\n') || suffix + a.len() > room {
            break;
        }
        suffix += a.len();
    }
    let text = new_text.get(prefix..new_text.len() - suffix).unwrap_or_default().to_owned();
    Edit { range: range.start + prefix..range.end - suffix, new_text: text }
}
