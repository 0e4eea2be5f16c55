//! Cross-file context from tree-sitter alone: the definitions of names used
//! near the cursor, found in other files, shown to the model as Qwen
//! repository-level file blocks before the current file.
//!
//! Three pure steps, no IO:
//! - [`extract_definitions`] turns a file's syntax tree into [`Definition`]s
//!   with the grammar's items query. A definition's snippet is what a reader
//!   needs to call or use it: a function's signature with its body elided
//!   (`{ ... }`, or `...` in Python and Lua), a type whole when it is small
//!   and as an outline (members with their bodies elided) when it is not,
//!   each with a short comment directly above it.
//! - [`identifiers_near`] lists the names used in the lines before the
//!   cursor's line.
//! - [`select_blocks`] looks those names up in a [`DefinitionIndex`] and packs
//!   the snippets of other files into [`FileBlock`]s under a byte budget.
//!   Only what the current file could use is shown: not methods on their own
//!   (their type's outline shows them), not test code (except to tests), not
//!   private definitions of other modules, and not names defined in more
//!   than a few places (`new`, `run`), where a guess would mislead.
//!
//! Invariant: the blocks come *before* the current file in the prompt, so any
//! change to them makes the engine re-read the whole prompt (seconds on a
//! laptop CPU) instead of reusing its KV cache. Hence they depend only on what
//! stays byte-identical while the user types on one line, and change as
//! little as possible when the cursor moves down:
//! - Names are taken from whole lines before the cursor's line, never from
//!   the line being typed. The window's top edge is rounded like the prefix
//!   window's (to a quarter of its size), so it stays put for several lines.
//! - Names are ranked by where they are *first* used in the window, the
//!   latest first. Using a name again does not reorder anything; only a name
//!   new to the window does, and that is when its definition is worth showing.
//! - The local context used for deduplication is the prefix and suffix,
//!   which typing on a line does not change.
//! - Selection and layout are deterministic: candidates are sorted, never
//!   taken in hash order, and the current file's own definitions are not
//!   consulted (they change as the user types).

use std::{
    collections::{BTreeMap, HashSet},
    ops::Range,
};

use hearth_grammars::Lang;
use ropey::Rope;
use tree_sitter::{Node, QueryCursor, StreamingIterator, Tree};

use super::{ContextConfig, fim::FileBlock};
use crate::workspace::DefinitionIndex;

/// Bytes of other files' definitions in a prompt, path lines included:
/// about 400 tokens, room for a few signatures and a type or two next to the
/// 4,000-byte prefix, and a small share of a CPU's prompt time.
pub const BUDGET_BYTES: usize = 1_500;

/// Bytes before the cursor's line whose names are looked up: about the last
/// 50 lines, the code the next line most likely continues.
pub const WINDOW_BYTES: usize = 2_000;

/// The largest snippet: a type that fits is shown whole (bodies of its
/// methods elided), a larger one is cut to an outline of this size.
pub const MAX_SNIPPET_BYTES: usize = 600;

/// The longest comment (and attributes) above a definition that is kept with
/// it. Longer ones are documentation for people rather than a hint for the
/// model, and would crowd other definitions out of the budget.
const MAX_DOC_BYTES: usize = 300;

/// The deepest node (the root is at 0) where a definition may start: deep
/// enough for a method of a class in a template in a namespace (6), or of an
/// impl in a Rust module (5). A type nested deeper is missed, but its
/// container's outline still shows it. Each level costs: on this crate's
/// sources the query takes 0.9 ms per 3,800 lines at depth 4, 1.7 ms at 6,
/// 2.6 ms at 8 and 4.5 ms unbounded.
const MAX_DEFINITION_DEPTH: u32 = 6;

/// How many names [`identifiers_near`] returns at most.
const MAX_IDENTIFIERS: usize = 128;

/// Names shorter than this (`i`, `id`, `x0`) are too common to look up.
const MIN_IDENTIFIER_LEN: usize = 3;

/// A name with more definitions of its own (types and functions; impls do
/// not count) in other files than this is ambiguous (`new`, `parse`, `run`):
/// showing one of them would as likely mislead the model as help it.
const MAX_DEFINITIONS_PER_NAME: usize = 3;

/// At most this many snippets per name (a type and its impl), so that one
/// name with many impls cannot use up the budget.
const MAX_SNIPPETS_PER_NAME: usize = 2;

/// What a definition defines, which orders the candidates for one name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DefinitionKind {
    /// A struct, enum, class, interface, trait or type alias.
    Type,
    /// A free function or function-valued binding (a Go method too: its
    /// receiver names its type).
    Function,
    /// A Rust inherent `impl` block, shown as an outline of its methods.
    Impl,
    /// A Rust trait `impl`; the least informative, so the last choice.
    TraitImpl,
    /// A function inside a class, impl, trait or interface. Indexed, but not
    /// shown on its own: without its type it says little (`fn text(&self)`),
    /// a common method name matches every local variable of that name, and
    /// the container's outline shows it anyway.
    Method,
}

/// One definition found in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    /// The name it is looked up by: the last segment of a qualified name,
    /// without generics (`Foo` for `impl<T> Display for Foo<T>`).
    pub name: String,
    pub kind: DefinitionKind,
    /// What the model is shown (see the module docs).
    pub snippet: String,
    /// The definition node's bytes in its file.
    pub byte_range: Range<usize>,
    /// Whether other modules can use it: Rust `pub`, JavaScript `export`
    /// (everything in a file without exports, a script or CommonJS module),
    /// Go's capitals, Python without a leading underscore, C without
    /// `static`. Other definitions are for [`in_scope`] files only.
    pub exported: bool,
}

/// The definitions in a file, in source order, from its (current) tree.
pub fn extract_definitions(lang: Lang, source: &str, tree: &Tree) -> Vec<Definition> {
    let query = lang.items_query();
    let (Some(item_index), Some(name_index)) =
        (query.capture_index_for_name("item"), query.capture_index_for_name("name"))
    else {
        return Vec::new();
    };
    let module_exports = has_exports(lang, tree.root_node());
    let mut cursor = QueryCursor::new();
    // Definitions worth showing sit near the top of the tree (a method in a
    // class in a namespace); not descending into function bodies' depths
    // makes the query several times faster on real code.
    cursor.set_max_start_depth(Some(MAX_DEFINITION_DEPTH));
    let mut matches = cursor.matches(query, tree.root_node(), source.as_bytes());
    let mut definitions = Vec::new();
    while let Some(found) = matches.next() {
        let node_of = |index| found.captures.iter().find(|it| it.index == index).map(|it| it.node);
        let (Some(item), Some(name)) = (node_of(item_index), node_of(name_index)) else {
            continue;
        };
        let Some(name) = source.get(name.byte_range()).and_then(lookup_name) else { continue };
        let Some(kind) = kind_of(source, item) else { continue };
        let exported = is_exported(lang, source, item, &name, module_exports);
        if let Some(snippet) = snippet(lang, source, item) {
            let byte_range = item.byte_range();
            definitions.push(Definition { name, kind, snippet, byte_range, exported });
        }
    }
    definitions.sort_by(|a, b| {
        (a.byte_range.start, a.byte_range.end, &a.name).cmp(&(
            b.byte_range.start,
            b.byte_range.end,
            &b.name,
        ))
    });
    definitions.dedup_by(|a, b| a.byte_range == b.byte_range && a.name == b.name);
    definitions
}

/// The name a definition is looked up by: `Foo` for `Foo<T>`, `&'a Foo` or
/// `crate::Foo`, `setup` for Lua's `M.setup`, `draw` for C++'s
/// `Widget::draw`. `None` when nothing like an identifier is left.
fn lookup_name(raw: &str) -> Option<String> {
    let head = raw.split(['<', '(', '[']).next().unwrap_or_default();
    let last = head
        .rsplit(|c: char| c == ':' || c == '.' || c == '&' || c == '*' || c.is_whitespace())
        .find(|it| !it.is_empty())?;
    let name = last.trim_matches(|c: char| !is_identifier_char(c));
    let starts_well = name.chars().next().is_some_and(|c| !c.is_ascii_digit());
    (starts_well && name.chars().all(is_identifier_char)).then(|| name.to_owned())
}

fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Items query nodes that define functions (the rest define types).
const FUNCTION_ITEMS: &[&str] = &[
    "function_item",
    "function_signature_item",
    "function_definition",
    "function_declaration",
    "generator_function_declaration",
    "function_signature",
    "method_definition",
    "method_signature",
    "abstract_method_signature",
    "public_field_definition",
    "field_definition",
    "assignment_expression",
    "method_declaration",
    "constructor_declaration",
    "method_elem",
    "declaration",
    "field_declaration",
    "assignment_statement",
    "field",
];

/// Nodes whose functions are methods.
const CONTAINERS: &[&str] = &[
    "impl_item",
    "trait_item",
    "class",
    "class_declaration",
    "abstract_class_declaration",
    "class_definition",
    "class_specifier",
    "struct_specifier",
    "union_specifier",
    "interface_declaration",
    "object_type",
    "interface_type",
    "enum_declaration",
    "record_declaration",
    "annotation_type_declaration",
];

/// What `item` defines; `None` for test code (inside a Rust `mod tests`),
/// which no other file calls.
fn kind_of(source: &str, item: Node<'_>) -> Option<DefinitionKind> {
    let mut in_container = false;
    let mut ancestor = item.parent();
    while let Some(node) = ancestor {
        in_container |= CONTAINERS.contains(&node.kind());
        let name = node.child_by_field_name("name").and_then(|it| source.get(it.byte_range()));
        if node.kind() == "mod_item" && matches!(name, Some("tests" | "test")) {
            return None;
        }
        ancestor = node.parent();
    }
    let kind = match item.kind() {
        "impl_item" if item.child_by_field_name("trait").is_some() => DefinitionKind::TraitImpl,
        "impl_item" => DefinitionKind::Impl,
        "variable_declarator"
            if item.child_by_field_name("value").is_some_and(|it| it.kind() == "class") =>
        {
            DefinitionKind::Type
        }
        _ if in_container && !CONTAINERS.contains(&item.kind()) => DefinitionKind::Method,
        "variable_declarator" => DefinitionKind::Function,
        kind if FUNCTION_ITEMS.contains(&kind) => DefinitionKind::Function,
        _ => DefinitionKind::Type,
    };
    Some(kind)
}

/// Whether a JavaScript or TypeScript file is a module with `export`s.
fn has_exports(lang: Lang, root: Node<'_>) -> bool {
    let scripts = [Lang::JavaScript, Lang::TypeScript, Lang::Tsx];
    let mut cursor = root.walk();
    scripts.contains(&lang) && root.children(&mut cursor).any(|it| it.kind() == "export_statement")
}

/// See [`Definition::exported`].
fn is_exported(lang: Lang, source: &str, item: Node<'_>, name: &str, module_exports: bool) -> bool {
    let mut cursor = item.walk();
    let mut children = item.children(&mut cursor);
    match lang {
        Lang::Rust => {
            item.kind() == "impl_item" || children.any(|it| it.kind() == "visibility_modifier")
        }
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => {
            !module_exports
                || outermost(item).kind() == "export_statement"
                || item.kind() == "assignment_expression"
        }
        Lang::Go => name.starts_with(|c: char| c.is_uppercase()),
        Lang::Python => !name.starts_with('_'),
        Lang::C | Lang::Cpp => !children.any(|it| {
            it.kind() == "storage_class_specifier" && source.get(it.byte_range()) == Some("static")
        }),
        Lang::Java | Lang::Lua | Lang::Bash => true,
    }
}

/// Whether `current_path` may use the unexported definitions of
/// `definition_path`: it is in the same directory (a Go package, a Python
/// package), or, for Rust, in a child module (private items are visible
/// there: `src/lsp/mod.rs` to `src/lsp/text_sync.rs`, `src/a.rs` to
/// `src/a/b.rs`).
pub fn in_scope(definition_path: &str, current_path: &str) -> bool {
    let (dir, file) = definition_path.rsplit_once('/').unwrap_or(("", definition_path));
    let stem = file.split('.').next().unwrap_or_default();
    let scope = match file.strip_suffix(".rs") {
        Some("mod" | "lib" | "main") | None => dir.to_owned(),
        Some(_) if dir.is_empty() => stem.to_owned(),
        Some(_) => format!("{dir}/{stem}"),
    };
    scope.is_empty() || current_path.strip_prefix(&scope).is_some_and(|it| it.starts_with('/'))
}

/// The snippet for one definition (see the module docs), or `None` when not
/// even its first line fits [`MAX_SNIPPET_BYTES`] (minified code).
fn snippet(lang: Lang, source: &str, item: Node<'_>) -> Option<String> {
    let outer = outermost(item);
    let start = leading_start(source, outer);
    let end = outer.end_byte();
    let mut text = String::new();
    let mut at = start;
    for (range, replacement) in elided_bodies(lang, source, outer) {
        text.push_str(source.get(at..range.start)?);
        text.push_str(&replacement);
        at = range.end;
    }
    text.push_str(source.get(at..end)?);
    let text = dedent(&text, line_indent(source, start));
    cap(lang, &text, MAX_SNIPPET_BYTES)
}

/// The node that holds the whole definition as written: a Python
/// definition's decorators, JavaScript's `export` and `const`, Go's `type`,
/// a C++ template's parameters.
fn outermost(item: Node<'_>) -> Node<'_> {
    let mut node = item;
    while let Some(parent) = node.parent() {
        let wraps = match parent.kind() {
            "decorated_definition" | "export_statement" | "template_declaration" => true,
            // Only when it declares this one thing: `const a = () => 1, b = 2`
            // is left alone.
            "lexical_declaration" | "variable_declaration" | "type_declaration" => {
                parent.named_child_count() == 1
            }
            _ => false,
        };
        if !wraps {
            break;
        }
        node = parent;
    }
    node
}

/// Where the definition starts with the comment and attributes directly
/// above it (no blank line between), when they are short. Longer runs keep
/// only the attributes right above the definition.
fn leading_start(source: &str, node: Node<'_>) -> usize {
    let mut start = node.start_byte();
    let mut attributes_start = start;
    let mut seen_comment = false;
    let mut current = node;
    while let Some(previous) = current.prev_sibling() {
        let kind = previous.kind();
        let is_comment = kind.contains("comment");
        let is_attribute =
            matches!(kind, "attribute_item" | "decorator" | "annotation" | "marker_annotation");
        if !(is_comment || is_attribute) || !adjacent(source, previous, current) {
            break;
        }
        let text = source.get(previous.byte_range()).unwrap_or_default();
        // Inner docs (`//!`) describe the enclosing module, not this item.
        if is_comment && (text.starts_with("//!") || text.starts_with("/*!")) {
            break;
        }
        start = previous.start_byte();
        seen_comment |= is_comment;
        if !seen_comment {
            attributes_start = start;
        }
        current = previous;
    }
    if node.start_byte() - start > MAX_DOC_BYTES { attributes_start } else { start }
}

/// Whether `above` ends on the line before `below` starts (or on its line).
fn adjacent(source: &str, above: Node<'_>, below: Node<'_>) -> bool {
    let gap = source.get(above.end_byte()..below.start_byte()).unwrap_or("\n\n");
    // A line comment's node may or may not include its line break.
    let own_break =
        usize::from(source.get(..above.end_byte()).is_some_and(|it| it.ends_with('\n')));
    gap.matches('\n').count() + own_break <= 1
}

/// Nodes whose `body` is code to elide.
const FUNCTION_NODES: &[&str] = &[
    "function_item",
    "function_definition",
    "function_declaration",
    "function_expression",
    "function",
    "generator_function",
    "generator_function_declaration",
    "method_definition",
    "method_declaration",
    "constructor_declaration",
    "compact_constructor_declaration",
    "arrow_function",
    "func_literal",
    "lambda_expression",
];

/// The bodies of the functions in `node` (itself included) with what
/// replaces each, in source order. Nothing inside a body is visited.
fn elided_bodies(lang: Lang, source: &str, node: Node<'_>) -> Vec<(Range<usize>, String)> {
    let mut elided = Vec::new();
    // Iterative, so that deeply nested code cannot overflow the stack.
    let mut cursor = node.walk();
    'walk: loop {
        let current = cursor.node();
        let body = FUNCTION_NODES
            .contains(&current.kind())
            .then(|| current.child_by_field_name("body"))
            .flatten();
        let descend = match body {
            Some(body) => {
                elided.extend(body_elision(lang, source, body));
                false
            }
            None => true,
        };
        if descend && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node().id() == node.id() {
                break 'walk;
            }
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    elided
}

/// What replaces one function body: `{ ... }` for a braced block, `...` in
/// Python (after a short docstring, which is kept) and Lua, and an
/// expression body of an arrow function is kept unless it spans lines.
fn body_elision(lang: Lang, source: &str, body: Node<'_>) -> Option<(Range<usize>, String)> {
    let text = source.get(body.byte_range())?;
    if text.starts_with('{') {
        return Some((body.byte_range(), "{ ... }".to_owned()));
    }
    match lang {
        Lang::Python => python_body_elision(source, body),
        Lang::Lua => Some((body.byte_range(), "...".to_owned())),
        _ if text.contains('\n') => Some((body.byte_range(), "...".to_owned())),
        _ => None,
    }
}

fn python_body_elision(source: &str, body: Node<'_>) -> Option<(Range<usize>, String)> {
    let docstring = body.named_child(0).filter(|it| {
        it.kind() == "expression_statement"
            && it.named_child(0).is_some_and(|it| it.kind() == "string")
            && it.byte_range().len() <= MAX_DOC_BYTES
    });
    match docstring {
        // The body is only a docstring: nothing to elide.
        Some(doc) if doc.end_byte() >= body.end_byte() => None,
        Some(doc) => Some((
            doc.end_byte()..body.end_byte(),
            format!("\n{}...", line_indent(source, doc.start_byte())),
        )),
        None => Some((body.byte_range(), "...".to_owned())),
    }
}

/// The blanks before `at` on its line, if only blanks precede it.
fn line_indent(source: &str, at: usize) -> &str {
    let before = source.get(..at).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |it| it + 1);
    let indent = &before[line_start..];
    if indent.chars().all(|c| c == ' ' || c == '\t') { indent } else { "" }
}

/// Removes `indent` from every line after the first (which starts at the
/// definition itself), and carriage returns from line ends.
fn dedent(text: &str, indent: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = if i > 0 { line.strip_prefix(indent).unwrap_or(line) } else { line };
        out.push_str(line);
    }
    out
}

/// Cuts `text` to `max` bytes at a line boundary, marking the cut with an
/// elision line in the language's style and keeping a closing line (`}`).
fn cap(lang: Lang, text: &str, max: usize) -> Option<String> {
    let text = text.trim_end();
    if text.len() <= max {
        return Some(text.to_owned());
    }
    let lines: Vec<&str> = text.lines().collect();
    let closing = match lines.as_slice() {
        [_, .., last] if is_closing_line(last) => Some(*last),
        _ => None,
    };
    let body = &lines[..lines.len() - usize::from(closing.is_some())];
    let marker = if lang == Lang::Python {
        "...".to_owned()
    } else {
        format!("{} ...", lang.line_comment())
    };
    let elision = |line: &str| {
        let indent: String = line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        format!("{indent}{marker}")
    };
    let closing_len = closing.map_or(0, |it| it.len() + 1);
    let mut out = String::new();
    let mut kept = 0;
    for (i, line) in body.iter().enumerate() {
        let reserve = body.get(i + 1).map_or(0, |next| elision(next).len() + 1) + closing_len;
        if out.len() + line.len() + 1 + reserve > max {
            break;
        }
        out.push_str(line);
        out.push('\n');
        kept += 1;
    }
    if kept == 0 {
        return None;
    }
    if let Some(next) = body.get(kept) {
        out.push_str(&elision(next));
        out.push('\n');
    }
    if let Some(closing) = closing {
        out.push_str(closing);
    }
    Some(out.trim_end().to_owned())
}

fn is_closing_line(line: &str) -> bool {
    let line = line.trim();
    line.len() <= 4 && (line.starts_with(['}', ')', ']']) || line == "end")
}

/// Keywords and names too common to be worth looking up, across the
/// languages in `grammars/`.
#[rustfmt::skip]
const STOP_WORDS: &[&str] = &[
    // Shared and C-family.
    "and", "auto", "bool", "break", "case", "catch", "char", "class", "const", "continue",
    "default", "delete", "double", "else", "enum", "extern", "false", "final", "float", "for",
    "goto", "int", "long", "new", "not", "null", "private", "protected", "public", "return",
    "short", "signed", "sizeof", "static", "struct", "switch", "this", "throw", "true", "try",
    "typedef", "union", "unsigned", "void", "volatile", "while", "include", "define", "ifdef",
    "ifndef", "endif", "std", "string", "template", "typename", "namespace", "using", "virtual",
    "override", "nullptr", "operator",
    // Rust.
    "async", "await", "crate", "dyn", "impl", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "self", "Self", "super", "trait", "type", "unsafe", "use", "where", "Some", "None",
    "Err", "Option", "Result", "Vec", "String", "Box", "str", "usize", "isize", "u16", "u32", "u64",
    "u128", "i16", "i32", "i64", "i128", "f32", "f64", "derive", "cfg", "test", "unwrap",
    "clone", "into", "iter", "len",
    // Python.
    "def", "elif", "except", "finally", "from", "global", "import", "lambda", "nonlocal", "pass",
    "raise", "with", "yield", "True", "False", "assert", "del", "print", "cls", "args", "kwargs",
    "list", "dict", "tuple", "set", "range", "isinstance",
    // JavaScript and TypeScript.
    "var", "function", "export", "extends", "implements", "instanceof", "interface", "typeof",
    "undefined", "get", "number", "boolean", "any", "unknown", "never", "readonly", "keyof",
    "declare", "console", "log", "require", "module", "exports", "Promise",
    // Go.
    "chan", "defer", "fallthrough", "func", "package", "select", "map", "nil", "err", "error",
    "make", "append", "fmt",
    // Java.
    "abstract", "byte", "synchronized", "throws", "transient", "Override", "Object", "Integer",
    // Lua and shell.
    "end", "local", "repeat", "until", "elseif", "then", "done", "esac", "echo",
];

/// Names used in the whole lines before the cursor's line, within about
/// `window_bytes` before it: each once, the most recently introduced first
/// (ranked by the line where a name is first used; see the module docs for
/// why not the last use). Keywords, common names and names shorter than
/// three characters are skipped; so are lines that are only a comment.
pub fn identifiers_near(text: &str, cursor: usize, window_bytes: usize) -> Vec<String> {
    let mut cursor = cursor.min(text.len());
    while !text.is_char_boundary(cursor) {
        cursor -= 1;
    }
    let anchor = text[..cursor].rfind('\n').map_or(0, |it| it + 1);
    let start = window_start(anchor, window_bytes);
    // Whole lines only: from the first line start at or after `start`.
    let start = if start == 0 || text.as_bytes().get(start - 1) == Some(&b'\n') {
        start
    } else {
        text.as_bytes()[start..anchor]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(anchor, |it| start + it + 1)
    };
    identifiers_in(&text[start..anchor])
}

/// [`identifiers_near`] for a rope, copying only the window.
pub fn identifiers_near_rope(text: &Rope, cursor: usize, window_bytes: usize) -> Vec<String> {
    let cursor = cursor.min(text.len_bytes());
    let anchor = text.line_to_byte(text.byte_to_line(cursor));
    let wanted = window_start(anchor, window_bytes);
    let first = text.byte_to_line(wanted);
    let start =
        if text.line_to_byte(first) < wanted { text.line_to_byte(first + 1) } else { wanted };
    identifiers_in(&text.byte_slice(start.min(anchor)..anchor).to_string())
}

/// The window's first byte: `window_bytes` before the anchor, rounded up to
/// a multiple of a quarter of the window so that it moves in steps.
fn window_start(anchor: usize, window_bytes: usize) -> usize {
    let step = (window_bytes / 4).max(1);
    (anchor.saturating_sub(window_bytes).div_ceil(step) * step).min(anchor)
}

fn identifiers_in(window: &str) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut in_order = Vec::new();
    for line in window.lines().filter(|it| !is_comment_line(it)) {
        let code = without_strings(line);
        for word in code.split(|c: char| !is_identifier_char(c)) {
            let useful = word.len() >= MIN_IDENTIFIER_LEN
                && !word.starts_with(|c: char| c.is_ascii_digit())
                && !STOP_WORDS.contains(&word);
            if useful && !seen.contains(word) {
                seen.insert(word.to_owned());
                in_order.push(word.to_owned());
            }
        }
    }
    in_order.reverse();
    in_order.truncate(MAX_IDENTIFIERS);
    in_order
}

/// The line with the contents of its double-quoted strings blanked out:
/// messages are words for people, not names. (Single quotes are Rust
/// lifetimes and characters as often as strings, so they are left alone.)
fn without_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in line.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, _, '"') => {
                in_string = !in_string;
                out.push(' ');
            }
            (true, false, _) => {}
            (false, _, c) => out.push(c),
        }
    }
    out
}

fn is_comment_line(line: &str) -> bool {
    let line = line.trim_start();
    ["//", "/*", "* ", "--", "# "].iter().any(|it| line.starts_with(it))
        || line == "*"
        || line == "#"
}

/// The blocks for a cursor in the file at `path`: the definitions of the
/// names used within [`WINDOW_BYTES`] before its line, under
/// [`BUDGET_BYTES`], without those the local context (as `config` cuts it)
/// shows already.
pub fn blocks_at(
    index: &DefinitionIndex,
    text: &Rope,
    cursor: usize,
    path: &str,
    config: &ContextConfig,
) -> Vec<FileBlock> {
    let wanted = identifiers_near_rope(text, cursor, WINDOW_BYTES);
    if wanted.is_empty() {
        return Vec::new();
    }
    let local = super::build(text, cursor, config);
    let local = format!("{}{}", local.prefix, local.suffix);
    select_blocks(index, &wanted, path, &local, BUDGET_BYTES)
}

/// A snippet chosen for the prompt.
struct Chosen<'a> {
    path: &'a str,
    definition: &'a Definition,
    /// The rank of the name it was chosen for (0 is the most relevant).
    rank: usize,
}

/// The definitions of `wanted` names (most relevant first) from files other
/// than `current_path`, as one block per file: its snippets in source order,
/// separated by blank lines. The file with the most relevant snippet comes
/// last, next to the current file. Snippets already visible in
/// `local_context` (the prefix and suffix the model sees) are skipped.
/// Each block costs its path, its text and two line breaks; together they
/// never exceed `budget_bytes`.
pub fn select_blocks(
    index: &DefinitionIndex,
    wanted: &[String],
    current_path: &str,
    local_context: &str,
    budget_bytes: usize,
) -> Vec<FileBlock> {
    let mut chosen: Vec<Chosen<'_>> = Vec::new();
    let mut taken: HashSet<(&str, usize)> = HashSet::new();
    let mut files: HashSet<&str> = HashSet::new();
    let mut used = 0;
    // Test code helps other tests only.
    let tests_too = is_test_path(current_path);
    for (rank, name) in wanted.iter().enumerate() {
        let mut candidates: Vec<(&str, &Definition)> = index
            .lookup(name)
            .filter(|(path, it)| {
                *path != current_path
                    && it.kind != DefinitionKind::Method
                    && (it.exported || in_scope(path, current_path))
                    && (tests_too || !is_test_path(path))
            })
            .collect();
        let own = candidates.iter().filter(|(_, it)| it.kind <= DefinitionKind::Function).count();
        if own > MAX_DEFINITIONS_PER_NAME {
            continue;
        }
        candidates.sort_by_key(|(path, it)| (it.kind, *path, it.byte_range.start));
        let mut for_name = 0;
        for (path, definition) in candidates {
            if for_name == MAX_SNIPPETS_PER_NAME {
                break;
            }
            if taken.contains(&(path, definition.byte_range.start))
                || is_visible(definition, local_context)
            {
                continue;
            }
            let cost =
                definition.snippet.len() + 2 + if files.contains(path) { 0 } else { path.len() };
            if used + cost > budget_bytes {
                continue;
            }
            used += cost;
            for_name += 1;
            taken.insert((path, definition.byte_range.start));
            files.insert(path);
            chosen.push(Chosen { path, definition, rank });
        }
    }
    layout(chosen)
}

/// Whether a path looks like a test file, by the common conventions:
/// under `tests/`, `test/`, `__tests__/` or `spec/`; `test_*.py`,
/// `*_test.go`, `*_test.py`, `*.test.ts`, `*.spec.js`, `FooTest.java`.
fn is_test_path(path: &str) -> bool {
    let mut components = path.split('/').rev();
    let file = components.next().unwrap_or_default();
    let stem = file.split('.').next().unwrap_or_default();
    components.any(|it| matches!(it, "tests" | "test" | "__tests__" | "spec"))
        || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("Test")
        || file.contains(".test.")
        || file.contains(".spec.")
}

/// Groups the chosen snippets by file: files by their best rank, the best
/// last; snippets in source order.
fn layout(chosen: Vec<Chosen<'_>>) -> Vec<FileBlock> {
    let mut by_file: BTreeMap<&str, (usize, Vec<&Definition>)> = BTreeMap::new();
    for it in chosen {
        let entry = by_file.entry(it.path).or_insert((it.rank, Vec::new()));
        entry.0 = entry.0.min(it.rank);
        entry.1.push(it.definition);
    }
    let mut files: Vec<(&str, usize, Vec<&Definition>)> =
        by_file.into_iter().map(|(path, (rank, defs))| (path, rank, defs)).collect();
    files.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    files
        .into_iter()
        .map(|(path, _, mut definitions)| {
            definitions.sort_by_key(|it| (it.byte_range.start, it.byte_range.end));
            let text = definitions.iter().map(|it| it.snippet.as_str()).collect::<Vec<_>>();
            FileBlock { path: path.to_owned(), text: text.join("\n\n") }
        })
        .collect()
}

/// Whether the model already sees this definition: its snippet, or the line
/// that declares it, is in the local context.
fn is_visible(definition: &Definition, local_context: &str) -> bool {
    if local_context.contains(definition.snippet.as_str()) {
        return true;
    }
    declaring_line(definition).is_some_and(|line| line.len() >= 12 && local_context.contains(line))
}

/// The snippet's line that names the definition, without elisions and the
/// punctuation that ends a declaration (`{`, `;`, `:`).
fn declaring_line(definition: &Definition) -> Option<&str> {
    let line = definition
        .snippet
        .lines()
        .map(str::trim)
        .find(|line| line.contains(definition.name.as_str()) && !is_comment_line(line))?;
    let line = line.strip_suffix("{ ... }").unwrap_or(line).trim_end();
    Some(line.trim_end_matches(['{', ';', ':']).trim_end())
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::documents::parse_fresh;

    fn definitions(lang: Lang, source: &str) -> Vec<Definition> {
        let tree = parse_fresh(lang, source).expect("the fixture parses");
        extract_definitions(lang, source, &tree)
    }

    /// Renders every definition as `name (kind)` followed by its snippet.
    fn check(lang: Lang, source: &str, expect: Expect) {
        let rendered: Vec<String> = definitions(lang, source)
            .iter()
            .map(|it| format!("== {} ({:?})\n{}", it.name, it.kind, it.snippet))
            .collect();
        expect.assert_eq(&rendered.join("\n"));
    }

    #[test]
    fn rust_signatures_types_and_impls() {
        check(
            Lang::Rust,
            r#"
//! Module docs are not an item's.
use std::fmt;

/// A point on the plane.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    /// The origin.
    pub fn origin() -> Point {
        Point { x: 0.0, y: 0.0 }
    }

    pub fn distance(&self, other: &Point) -> f64 {
        let (dx, dy) = (self.x - other.x, self.y - other.y);
        (dx * dx + dy * dy).sqrt()
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.x, self.y)
    }
}

pub trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> &str {
        "shape"
    }
}

pub fn parse_point(text: &str) -> Option<Point>
where
    Point: Copy,
{
    None
}
"#,
            expect![[r#"
                == Point (Type)
                /// A point on the plane.
                #[derive(Clone, Copy, Debug)]
                pub struct Point {
                    pub x: f64,
                    pub y: f64,
                }
                == Point (Impl)
                impl Point {
                    /// The origin.
                    pub fn origin() -> Point { ... }

                    pub fn distance(&self, other: &Point) -> f64 { ... }
                }
                == origin (Method)
                /// The origin.
                pub fn origin() -> Point { ... }
                == distance (Method)
                pub fn distance(&self, other: &Point) -> f64 { ... }
                == Point (TraitImpl)
                impl fmt::Display for Point {
                    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { ... }
                }
                == fmt (Method)
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { ... }
                == Shape (Type)
                pub trait Shape {
                    fn area(&self) -> f64;
                    fn name(&self) -> &str { ... }
                }
                == area (Method)
                fn area(&self) -> f64;
                == name (Method)
                fn name(&self) -> &str { ... }
                == parse_point (Function)
                pub fn parse_point(text: &str) -> Option<Point>
                where
                    Point: Copy,
                { ... }"#]],
        );
    }

    #[test]
    fn python_signatures_keep_short_docstrings() {
        check(
            Lang::Python,
            r#"
import os

# Loads settings from disk.
@dataclass
class Settings:
    """Where the model lives."""
    path: str
    threads: int = 4

    def load(self, root: str) -> "Settings":
        """Reads the file under root."""
        with open(os.path.join(root, self.path)) as f:
            return parse(f.read())

    @staticmethod
    def default():
        return Settings("model.gguf")

def parse(text): return Settings(text)
"#,
            expect![[r#"
                == Settings (Type)
                # Loads settings from disk.
                @dataclass
                class Settings:
                    """Where the model lives."""
                    path: str
                    threads: int = 4

                    def load(self, root: str) -> "Settings":
                        """Reads the file under root."""
                        ...

                    @staticmethod
                    def default():
                        ...
                == load (Method)
                def load(self, root: str) -> "Settings":
                    """Reads the file under root."""
                    ...
                == default (Method)
                @staticmethod
                def default():
                    ...
                == parse (Function)
                def parse(text): ..."#]],
        );
    }

    #[test]
    fn typescript_exports_interfaces_and_arrows() {
        check(
            Lang::TypeScript,
            r#"
/** A user of the service. */
export interface User {
  id: number;
  name: string;
}

export type UserId = User["id"];

export class UserStore {
  private users = new Map<UserId, User>();

  get(id: UserId): User | undefined {
    return this.users.get(id);
  }

  add = (user: User): void => {
    this.users.set(user.id, user);
  };
}

export const byName = (users: User[], name: string) =>
  users.filter((user) => user.name === name);

export function greet(user: User): string {
  return `Hello, ${user.name}`;
}
"#,
            expect![[r#"
                == User (Type)
                /** A user of the service. */
                export interface User {
                  id: number;
                  name: string;
                }
                == UserId (Type)
                export type UserId = User["id"];
                == UserStore (Type)
                export class UserStore {
                  private users = new Map<UserId, User>();

                  get(id: UserId): User | undefined { ... }

                  add = (user: User): void => { ... };
                }
                == get (Method)
                get(id: UserId): User | undefined { ... }
                == add (Method)
                add = (user: User): void => { ... }
                == byName (Function)
                export const byName = (users: User[], name: string) =>
                  users.filter((user) => user.name === name);
                == greet (Function)
                export function greet(user: User): string { ... }"#]],
        );
    }

    #[test]
    fn large_types_become_outlines() {
        let fields: String = (0..60).map(|i| format!("    pub field_{i}: u32,\n")).collect();
        let source = format!("pub struct Big {{\n{fields}}}\n");
        let found = definitions(Lang::Rust, &source);
        let snippet = &found[0].snippet;
        assert!(snippet.len() <= MAX_SNIPPET_BYTES, "{}", snippet.len());
        assert!(snippet.starts_with("pub struct Big {\n    pub field_0: u32,\n"), "{snippet}");
        assert!(snippet.ends_with("    // ...\n}"), "{snippet}");
        // A single line too long to show at all is left out.
        let minified = format!("class Table {{ static rows = [{}]; }}\n", "1, ".repeat(400));
        assert!(definitions(Lang::JavaScript, &minified).is_empty());
    }

    #[test]
    fn other_languages_elide_in_their_own_style() {
        check(
            Lang::Go,
            "package main\n\n\
             // Server serves.\ntype Server struct {\n\tAddr string\n}\n\n\
             func (s *Server) Run(port int) error {\n\treturn nil\n}\n",
            expect![[r#"
                == Server (Type)
                // Server serves.
                type Server struct {
                	Addr string
                }
                == Run (Function)
                func (s *Server) Run(port int) error { ... }"#]],
        );
        check(
            Lang::Lua,
            "local M = {}\n\nfunction M.setup(opts)\n  M.opts = opts\nend\n\nreturn M\n",
            expect![[r#"
                == setup (Function)
                function M.setup(opts)
                  ...
                end"#]],
        );
    }

    #[test]
    fn lookup_names_drop_qualifiers_and_generics() {
        let name = |raw| lookup_name(raw);
        assert_eq!(name("Foo<T>").as_deref(), Some("Foo"));
        assert_eq!(name("&'a mut Foo").as_deref(), Some("Foo"));
        assert_eq!(name("crate::model::Foo").as_deref(), Some("Foo"));
        assert_eq!(name("M.setup").as_deref(), Some("setup"));
        assert_eq!(name("Class:method").as_deref(), Some("method"));
        assert_eq!(name("~Widget").as_deref(), Some("Widget"));
        assert_eq!(name("[T]").as_deref(), None);
    }

    #[test]
    fn identifiers_come_from_the_lines_before_the_cursor() {
        let text = "use crate::store::DocumentStore;\n\
                    // Comment words are skipped.\n\
                    let store = DocumentStore::open(root);\n\
                    let config = load_config(&store, \"message words\");\n\
                    let x = par";
        let cursor = text.len();
        let names = identifiers_near(text, cursor, 4000);
        assert_eq!(names, ["load_config", "config", "root", "open", "DocumentStore", "store"]);
        // The line being typed never counts, so typing on it changes nothing.
        let typed = format!("{text}se_settings(Settings");
        assert_eq!(identifiers_near(&typed, typed.len(), 4000), names);
        let rope = Rope::from_str(text);
        assert_eq!(identifiers_near_rope(&rope, cursor, 4000), names);
    }

    #[test]
    fn the_window_top_moves_in_steps() {
        let text: String = (0..400).map(|i| format!("let name_{i:03} = value_{i:03};\n")).collect();
        let rope = Rope::from_str(&text);
        let mut unchanged = 0;
        for line in 200..240 {
            let here = identifiers_near_rope(&rope, rope.line_to_byte(line), 800);
            let next = identifiers_near_rope(&rope, rope.line_to_byte(line + 1), 800);
            assert_eq!(here, identifiers_near(&text, rope.line_to_byte(line), 800));
            // Moving down adds the line just left; the oldest names stay
            // unless the top edge stepped.
            if next.ends_with(&here) {
                unchanged += 1;
            }
        }
        assert!(unchanged >= 30, "{unchanged} of 40 moves kept the window's top");
    }

    fn index(files: &[(&str, Lang, &str)]) -> DefinitionIndex {
        let mut index = DefinitionIndex::default();
        for (path, lang, source) in files {
            let tree = parse_fresh(*lang, source).expect("the fixture parses");
            index.update_file(path, *lang, source, &tree);
        }
        index
    }

    fn render(blocks: &[FileBlock]) -> String {
        blocks.iter().map(|it| format!("<|file_sep|>{}\n{}\n", it.path, it.text)).collect()
    }

    #[test]
    fn blocks_hold_definitions_from_other_files() {
        let index = index(&[
            (
                "src/geometry.rs",
                Lang::Rust,
                "pub struct Point { pub x: f64, pub y: f64 }\n\npub fn unrelated() {}\n\n\
                 pub fn distance(a: &Point, b: &Point) -> f64 {\n    0.0\n}\n",
            ),
            (
                "src/config.rs",
                Lang::Rust,
                "/// Settings.\npub struct Config {\n    pub verbose: bool,\n}\n",
            ),
            ("src/main.rs", Lang::Rust, "fn helper(point: &Point) {}\n"),
        ]);
        let wanted = ["distance", "helper", "Config", "Point"].map(String::from);
        let blocks = select_blocks(&index, &wanted, "src/main.rs", "fn main() {\n", 1500);
        expect![[r#"
            <|file_sep|>src/config.rs
            /// Settings.
            pub struct Config {
                pub verbose: bool,
            }
            <|file_sep|>src/geometry.rs
            pub struct Point { pub x: f64, pub y: f64 }

            pub fn distance(a: &Point, b: &Point) -> f64 { ... }
        "#]]
        .assert_eq(&render(&blocks));
        // The current file is never shown; what the model sees locally is
        // not repeated.
        let local =
            "let p = Point { x: 1.0, y: 2.0 };\npub struct Config {\n    pub verbose: bool,\n}\n";
        let blocks = select_blocks(&index, &wanted, "src/geometry.rs", local, 1500);
        expect![[r#"
            <|file_sep|>src/main.rs
            fn helper(point: &Point) { ... }
        "#]]
        .assert_eq(&render(&blocks));
        let blocks = select_blocks(&index, &wanted, "src/config.rs", "", 1500);
        expect![[r#"
            <|file_sep|>src/main.rs
            fn helper(point: &Point) { ... }
            <|file_sep|>src/geometry.rs
            pub struct Point { pub x: f64, pub y: f64 }

            pub fn distance(a: &Point, b: &Point) -> f64 { ... }
        "#]]
        .assert_eq(&render(&blocks));
    }

    #[test]
    fn typing_on_a_line_keeps_the_blocks() {
        let index = index(&[
            ("src/store.rs", Lang::Rust, "pub struct Store {\n    pub root: String,\n}\n"),
            ("src/load.rs", Lang::Rust, "pub fn load(store: &Store) -> usize {\n    0\n}\n"),
        ]);
        let config = ContextConfig::default();
        let before = "fn main() {\n    let store = Store::default();\n    let n = load(&store);\n";
        let at = |typed: &str| {
            let text = Rope::from_str(&format!("{before}{typed}\n}}\n"));
            blocks_at(&index, &text, before.len() + typed.len(), "src/main.rs", &config)
        };
        let first = at("");
        assert_eq!(first.len(), 2, "{first:?}");
        // Even typing a name defined elsewhere changes nothing until the line is done.
        for typed in ["    l", "    load(&Store", "    load(&Store::new()).max(n);"] {
            assert_eq!(at(typed), first, "{typed}");
        }
    }

    #[test]
    fn blocks_stay_within_the_budget() {
        let index = index(&[
            ("a.py", Lang::Python, "def alpha(x):\n    return x\n"),
            ("b.py", Lang::Python, "def bravo(x, y, z):\n    return x\n"),
            ("c.py", Lang::Python, "def charlie():\n    pass\n"),
        ]);
        let wanted = ["alpha", "bravo", "charlie"].map(String::from);
        for budget in 0..120 {
            let blocks = select_blocks(&index, &wanted, "main.py", "", budget);
            let cost: usize = blocks.iter().map(|it| it.path.len() + it.text.len() + 2).sum();
            assert!(cost <= budget, "{cost} > {budget}");
        }
        // With room for two, the two most relevant are taken, the first last.
        let blocks = select_blocks(&index, &wanted, "main.py", "", 60);
        expect![[r#"
            <|file_sep|>b.py
            def bravo(x, y, z):
                ...
            <|file_sep|>a.py
            def alpha(x):
                ...
        "#]]
        .assert_eq(&render(&blocks));
    }

    #[test]
    fn methods_and_tests_are_not_shown_on_their_own() {
        let index = index(&[
            (
                "src/store.rs",
                Lang::Rust,
                "pub struct Store {\n    root: String,\n}\n\n\
                 impl Store {\n    pub fn open(root: &str) -> Store {\n        todo!()\n    }\n}\n\n\
                 #[cfg(test)]\nmod tests {\n    fn open_fixture() {}\n}\n",
            ),
            ("tests/helpers.rs", Lang::Rust, "pub fn open_fixture() -> Store {\n    todo!()\n}\n"),
        ]);
        let wanted = ["open", "open_fixture", "Store"].map(String::from);
        let blocks = select_blocks(&index, &wanted, "src/main.rs", "", 1500);
        expect![[r#"
            <|file_sep|>src/store.rs
            pub struct Store {
                root: String,
            }

            impl Store {
                pub fn open(root: &str) -> Store { ... }
            }
        "#]]
        .assert_eq(&render(&blocks));
        // A test sees the other tests' helpers.
        let blocks = select_blocks(&index, &wanted, "tests/it.rs", "", 1500);
        expect![[r#"
            <|file_sep|>src/store.rs
            pub struct Store {
                root: String,
            }

            impl Store {
                pub fn open(root: &str) -> Store { ... }
            }
            <|file_sep|>tests/helpers.rs
            pub fn open_fixture() -> Store { ... }
        "#]]
        .assert_eq(&render(&blocks));
    }

    #[test]
    fn private_definitions_stay_in_their_module() {
        let exported = |lang, source| {
            definitions(lang, source)
                .iter()
                .map(|it| (it.name.clone(), it.exported))
                .collect::<Vec<_>>()
        };
        let pairs = |names: &[(&str, bool)]| {
            names.iter().map(|(name, it)| ((*name).to_owned(), *it)).collect::<Vec<_>>()
        };
        assert_eq!(
            exported(Lang::Rust, "pub fn a() {}\nfn b() {}\npub(crate) struct C;\nimpl C {}\n"),
            pairs(&[("a", true), ("b", false), ("C", true), ("C", true)])
        );
        assert_eq!(
            exported(Lang::TypeScript, "export function a() {}\nfunction b() {}\n"),
            pairs(&[("a", true), ("b", false)])
        );
        assert_eq!(
            exported(Lang::JavaScript, "function script() {}\n"),
            pairs(&[("script", true)])
        );
        assert_eq!(
            exported(Lang::Go, "package p\nfunc Public() {}\nfunc private() {}\n"),
            pairs(&[("Public", true), ("private", false)])
        );
        assert_eq!(
            exported(Lang::Python, "def api(): pass\ndef _helper(): pass\n"),
            pairs(&[("api", true), ("_helper", false)])
        );
        assert_eq!(
            exported(
                Lang::C,
                "int api(void) { return 0; }\nstatic int helper(void) { return 1; }\n"
            ),
            pairs(&[("api", true), ("helper", false)])
        );
        assert!(in_scope("src/lsp/mod.rs", "src/lsp/text_sync.rs"));
        assert!(in_scope("src/main.rs", "src/cli.rs"));
        assert!(in_scope("src/a.rs", "src/a/b.rs"));
        assert!(!in_scope("src/lsp/convert.rs", "src/lsp/completion.rs"));
        assert!(in_scope("pkg/server/run.go", "pkg/server/main.go"));
        assert!(!in_scope("pkg/server/run.go", "pkg/client/main.go"));
        assert!(in_scope("tool.py", "other.py"));
    }

    #[test]
    fn ambiguous_names_are_skipped() {
        let files: Vec<(String, String)> = (0..5)
            .map(|i| {
                (
                    format!("m{i}.ts"),
                    format!("export function render{i}() {{}}\nexport function render() {{}}\n"),
                )
            })
            .collect();
        let files: Vec<(&str, Lang, &str)> = files
            .iter()
            .map(|(path, source)| (path.as_str(), Lang::TypeScript, source.as_str()))
            .collect();
        let index = index(&files);
        let wanted = ["render", "render3"].map(String::from);
        let blocks = select_blocks(&index, &wanted, "main.ts", "", 1500);
        expect![[r#"
            <|file_sep|>m3.ts
            export function render3() { ... }
        "#]]
        .assert_eq(&render(&blocks));
    }

    #[test]
    fn extraction_is_fast() {
        // This crate's own sources, about 3,000 lines of real Rust.
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let files = ["documents.rs", "completion/mod.rs", "context/related.rs", "workspace.rs"];
        let source: String = files
            .iter()
            .map(|it| std::fs::read_to_string(format!("{root}/{it}")).expect("readable"))
            .collect();
        let lines = source.lines().count();
        let tree = parse_fresh(Lang::Rust, &source).expect("parses");
        let fastest = (0..5)
            .map(|_| {
                let started = std::time::Instant::now();
                assert!(!extract_definitions(Lang::Rust, &source, &tree).is_empty());
                started.elapsed()
            })
            .min()
            .unwrap_or_default();
        eprintln!("extract_definitions: {fastest:?} for {lines} lines");
        // Generous for loaded machines: release builds take about 1 ms per
        // 1,000 lines, and extraction is never on the typing path anyway.
        assert!(fastest.as_millis() < 100, "{fastest:?} for {lines} lines");
    }
}
