//! What the actions read from the syntax tree: the items (from the grammar's
//! items query), what kind of item each one is, and the nodes that belong to
//! an item without being part of its node (attributes, doc comments, the
//! `export` or `const` around it).

use std::ops::Range;

use hearth_grammars::Lang;
use tree_sitter::{Node, QueryCursor, StreamingIterator, Tree};

use super::text;

/// What kind of definition an item is, as people would name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ItemKind {
    Function,
    Method,
    Struct,
    Class,
    Enum,
    Trait,
    Impl,
    Interface,
    Type,
}

impl ItemKind {
    /// The noun used in titles and prompts: "this function".
    pub(super) fn noun(self) -> &'static str {
        match self {
            ItemKind::Function => "function",
            ItemKind::Method => "method",
            ItemKind::Struct => "struct",
            ItemKind::Class => "class",
            ItemKind::Enum => "enum",
            ItemKind::Trait => "trait",
            ItemKind::Impl => "impl",
            ItemKind::Interface => "interface",
            ItemKind::Type => "type",
        }
    }

    pub(super) fn is_callable(self) -> bool {
        matches!(self, ItemKind::Function | ItemKind::Method)
    }
}

/// One definition the items query found.
#[derive(Clone, Copy, Debug)]
pub(super) struct Item<'t> {
    pub(super) node: Node<'t>,
    pub(super) name: Option<Node<'t>>,
    pub(super) kind: ItemKind,
}

impl<'t> Item<'t> {
    pub(super) fn range(&self) -> Range<usize> {
        self.node.byte_range()
    }

    pub(super) fn name<'s>(&self, source: &'s str) -> &'s str {
        self.name.map_or("", |it| text::slice(source, it.byte_range()))
    }
}

/// The items whose nodes intersect `range`, in the query's order. Only the
/// part of the tree around `range` is visited, so this stays cheap on large
/// files.
pub(super) fn items_in<'t>(
    lang: Lang,
    tree: &'t Tree,
    source: &str,
    range: Range<usize>,
) -> Vec<Item<'t>> {
    let query = lang.items_query();
    let (Some(item_index), name_index) =
        (query.capture_index_for_name("item"), query.capture_index_for_name("name"))
    else {
        return Vec::new();
    };
    let mut cursor = QueryCursor::new();
    cursor.set_byte_range(range);
    let mut found = Vec::new();
    let mut matches = cursor.matches(query, tree.root_node(), source.as_bytes());
    while let Some(each) = matches.next() {
        let node = each.captures.iter().find(|it| it.index == item_index).map(|it| it.node);
        let name = each.captures.iter().find(|it| Some(it.index) == name_index).map(|it| it.node);
        if let Some(node) = node {
            // A stale tree may describe text the source no longer has.
            if node.end_byte() <= source.len() {
                found.push(Item { node, name, kind: classify(lang, node) });
            }
        }
    }
    found
}

/// The smallest item that holds `pos`, counting the item's end (a cursor
/// right after a closing brace is on the item) and the attributes and
/// comments attached above it (a cursor on `#[test]` is on the test).
pub(super) fn item_at<'t>(
    lang: Lang,
    tree: &'t Tree,
    source: &str,
    pos: usize,
) -> Option<Item<'t>> {
    let pos = probe(lang, tree, source, pos);
    let range = pos.saturating_sub(1)..(pos + 1).min(source.len().max(1));
    items_in(lang, tree, source, range)
        .into_iter()
        .filter(|it| it.node.start_byte() <= pos && pos <= it.node.end_byte())
        .min_by_key(|it| it.node.end_byte() - it.node.start_byte())
}

/// The item whose node spans exactly `range`, if there is one.
pub(super) fn item_exactly<'t>(
    lang: Lang,
    tree: &'t Tree,
    source: &str,
    range: Range<usize>,
) -> Option<Item<'t>> {
    let probe = range.start..(range.start + 1).min(source.len().max(1));
    items_in(lang, tree, source, probe).into_iter().find(|it| it.range() == range)
}

/// Where to look for the item at `pos`: past the blanks before a line's
/// first token, and from attributes or comments attached above an item to
/// the item itself.
fn probe(lang: Lang, tree: &Tree, source: &str, pos: usize) -> usize {
    let pos = text::floor_boundary(source, pos);
    let rest = text::slice(source, pos..text::line_end(source, pos));
    let pos = pos + (rest.len() - rest.trim_start_matches([' ', '\t']).len());
    let root = tree.root_node();
    let Some(mut node) = root.named_descendant_for_byte_range(pos, pos) else {
        return pos;
    };
    // The outermost leading node (an attribute holds an attribute, a doc
    // comment holds its marker) around `pos`.
    let mut leading = None;
    loop {
        if is_leading(lang, node) {
            leading = Some(node);
        }
        // Python decorators are inside the decorated definition's node but
        // before the item's.
        if node.kind() == "decorated_definition"
            && let Some(definition) = node.child_by_field_name("definition")
            && pos < definition.start_byte()
        {
            return definition.start_byte();
        }
        match node.parent() {
            Some(parent) if parent.id() != root.id() => node = parent,
            _ => break,
        }
    }
    let Some(mut node) = leading else {
        return pos;
    };
    // Walk down the run of attached leading nodes to what they lead.
    while let Some(next) = node.next_named_sibling() {
        if !attached(source, node, next) {
            break;
        }
        if !is_leading(lang, next) {
            return next.start_byte();
        }
        node = next;
    }
    pos
}

/// Nodes that stand above an item and belong to it: comments, Rust
/// attributes and TypeScript's decorators of class members (elsewhere
/// attributes and decorators are inside the item's node or its wrapper).
pub(super) fn is_leading(lang: Lang, node: Node<'_>) -> bool {
    is_comment(node) || is_attribute(lang, node)
}

/// Attributes and decorators that are siblings of the item they apply to.
pub(super) fn is_attribute(lang: Lang, node: Node<'_>) -> bool {
    match node.kind() {
        "attribute_item" => lang == Lang::Rust,
        "decorator" => node.parent().is_some_and(|it| it.kind() == "class_body"),
        _ => false,
    }
}

pub(super) fn is_comment(node: Node<'_>) -> bool {
    node.kind().ends_with("comment")
}

/// Whether `next` follows `node` with no blank line between them.
pub(super) fn attached(source: &str, node: Node<'_>, next: Node<'_>) -> bool {
    let gap = text::slice(source, node.end_byte()..next.start_byte());
    let ends_line =
        node.end_byte() > 0 && source.as_bytes().get(node.end_byte() - 1) == Some(&b'\n');
    text::newlines(gap) + usize::from(ends_line) <= 1
}

/// The node that stands for the item among its siblings: the item itself,
/// or the wrapper that only adds a keyword or decorators to it (`export`,
/// `const f = …;`, Python decorators, Go's `type`, C++ `template<…>`).
pub(super) fn anchor<'t>(source: &str, node: Node<'t>) -> Node<'t> {
    let mut node = node;
    while let Some(parent) = node.parent() {
        let same_line = text::line_start(source, parent.start_byte())
            == text::line_start(source, node.start_byte());
        let wraps = match parent.kind() {
            "decorated_definition" => true,
            "export_statement"
            | "lexical_declaration"
            | "variable_declaration"
            | "expression_statement"
            | "ambient_declaration"
            | "type_declaration"
            | "template_declaration" => same_line,
            _ => false,
        };
        if !wraps || parent.parent().is_none() {
            break;
        }
        node = parent;
    }
    node
}

/// The comments and attributes attached above `anchor`, top to bottom. Only
/// those that start their own line count: a trailing comment after the
/// previous item belongs to that item.
pub(super) fn leading_nodes<'t>(lang: Lang, source: &str, anchor: Node<'t>) -> Vec<Node<'t>> {
    let mut nodes = Vec::new();
    let mut below = anchor;
    while let Some(prev) = below.prev_named_sibling() {
        if !is_leading(lang, prev)
            || !attached(source, prev, below)
            || !text::starts_its_line(source, prev.start_byte())
        {
            break;
        }
        nodes.push(prev);
        below = prev;
    }
    nodes.reverse();
    nodes
}

/// The top-level node holding `node`: a child of the root, or of a
/// namespace's body, where a sibling definition can still see it.
pub(super) fn top_level(node: Node<'_>) -> Node<'_> {
    let mut node = node;
    while let Some(parent) = node.parent() {
        let Some(grandparent) = parent.parent() else {
            break;
        };
        let namespace_body = matches!(
            (parent.kind(), grandparent.kind()),
            ("declaration_list", "namespace_definition")
                | ("statement_block", "internal_module" | "module")
        );
        if namespace_body {
            break;
        }
        node = parent;
    }
    node
}

/// What kind of definition `node` (an `@item` capture) is.
fn classify(lang: Lang, node: Node<'_>) -> ItemKind {
    let parent_kind = node.parent().map(|it| it.kind()).unwrap_or_default();
    let grandparent_kind =
        node.parent().and_then(|it| it.parent()).map(|it| it.kind()).unwrap_or_default();
    match (lang, node.kind()) {
        (Lang::Rust, "function_item" | "function_signature_item") => {
            if matches!(grandparent_kind, "impl_item" | "trait_item") {
                ItemKind::Method
            } else {
                ItemKind::Function
            }
        }
        (Lang::Rust, "struct_item") => ItemKind::Struct,
        (Lang::Rust, "enum_item") => ItemKind::Enum,
        (Lang::Rust, "trait_item") => ItemKind::Trait,
        (Lang::Rust, "impl_item") => ItemKind::Impl,
        (Lang::Rust, _) => ItemKind::Type,
        (Lang::Python, "function_definition") => {
            // A method's def sits in a class body, possibly decorated.
            let holder = if parent_kind == "decorated_definition" {
                node.parent().and_then(|it| it.parent()).and_then(|it| it.parent())
            } else {
                node.parent().and_then(|it| it.parent())
            };
            if holder.is_some_and(|it| it.kind() == "class_definition") {
                ItemKind::Method
            } else {
                ItemKind::Function
            }
        }
        (Lang::Python, "class_definition") => ItemKind::Class,
        (Lang::Python, _) => ItemKind::Type,
        (Lang::JavaScript | Lang::TypeScript | Lang::Tsx, kind) => match kind {
            "method_definition"
            | "method_signature"
            | "abstract_method_signature"
            | "public_field_definition"
            | "field_definition" => ItemKind::Method,
            "class_declaration" | "abstract_class_declaration" => ItemKind::Class,
            "interface_declaration" => ItemKind::Interface,
            "type_alias_declaration" => ItemKind::Type,
            "enum_declaration" => ItemKind::Enum,
            "variable_declarator"
                if node.child_by_field_name("value").is_some_and(|it| it.kind() == "class") =>
            {
                ItemKind::Class
            }
            _ => ItemKind::Function,
        },
        (Lang::Go, "function_declaration") => ItemKind::Function,
        (Lang::Go, "method_declaration" | "method_elem") => ItemKind::Method,
        (Lang::Go, "type_spec") => match node.child_by_field_name("type").map(|it| it.kind()) {
            Some("struct_type") => ItemKind::Struct,
            Some("interface_type") => ItemKind::Interface,
            _ => ItemKind::Type,
        },
        (Lang::Go, _) => ItemKind::Type,
        (Lang::C | Lang::Cpp, kind) => match kind {
            "function_definition" | "declaration" | "field_declaration" => {
                if parent_kind == "field_declaration_list" || kind == "field_declaration" {
                    ItemKind::Method
                } else {
                    ItemKind::Function
                }
            }
            "class_specifier" => ItemKind::Class,
            "struct_specifier" => ItemKind::Struct,
            "enum_specifier" => ItemKind::Enum,
            _ => ItemKind::Type,
        },
        (Lang::Java, kind) => match kind {
            "method_declaration" | "constructor_declaration" => ItemKind::Method,
            "interface_declaration" | "annotation_type_declaration" => ItemKind::Interface,
            "enum_declaration" => ItemKind::Enum,
            _ => ItemKind::Class,
        },
        (Lang::Lua | Lang::Bash, _) => ItemKind::Function,
    }
}

/// Whether a callable item has a body: a test of a bodiless declaration (a
/// trait method, a prototype, an interface method) has nothing to call.
pub(super) fn has_body(item: &Item<'_>) -> bool {
    if item.node.child_by_field_name("body").is_some() {
        return true;
    }
    // Definitions whose body has no field name, and arrow functions bound
    // to a name, whose body is the value's.
    let mut cursor = item.node.walk();
    item.node.named_children(&mut cursor).any(|child| {
        matches!(child.kind(), "block" | "compound_statement" | "statement_block")
            || child.child_by_field_name("body").is_some()
    })
}

/// Whether a callable item is itself a test, which gets no test of its own.
pub(super) fn is_test(lang: Lang, source: &str, item: &Item<'_>) -> bool {
    let name = item.name(source);
    let prefixed = |prefix: &str| {
        name.strip_prefix(prefix).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with('_') || rest.starts_with(char::is_uppercase)
        })
    };
    match lang {
        Lang::Rust => leading_nodes(lang, source, item.node).iter().any(|it| {
            it.kind() == "attribute_item" && is_test_attribute(text::slice(source, it.byte_range()))
        }),
        Lang::Python => name.starts_with("test_") || name == "test",
        Lang::Go => ["Test", "Benchmark", "Fuzz", "Example"].iter().any(|it| prefixed(it)),
        Lang::Java => {
            let mut cursor = item.node.walk();
            let modifiers =
                item.node.named_children(&mut cursor).find(|it| it.kind() == "modifiers");
            modifiers.is_some_and(|it| {
                let text = text::slice(source, it.byte_range());
                text.contains("@Test") || text.contains("@ParameterizedTest")
            })
        }
        _ => prefixed("test"),
    }
}

/// `#[test]`, `#[tokio::test]`, `#[test_case(…)]`, `#[rstest]`.
fn is_test_attribute(attribute: &str) -> bool {
    let inner = attribute.trim_start_matches("#[").trim_start();
    let path = inner.split(['(', ']', ' ']).next().unwrap_or_default();
    let last = path.rsplit("::").next().unwrap_or_default();
    matches!(last, "test" | "rstest" | "test_case" | "bench" | "quickcheck")
}

/// Number of ERROR and MISSING nodes under `node`. The walk is a loop, not
/// recursion: a pathologically nested file must not exhaust the stack.
pub(super) fn error_count(node: Node<'_>) -> usize {
    let mut count = 0;
    let mut cursor = node.walk();
    loop {
        let current = cursor.node();
        count += usize::from(current.is_error() || current.is_missing());
        if current.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return count;
            }
        }
    }
}

/// The class, impl, trait or interface that holds a method, if any.
pub(super) fn container(node: Node<'_>) -> Option<Node<'_>> {
    let mut node = node.parent()?;
    loop {
        if matches!(
            node.kind(),
            "impl_item"
                | "trait_item"
                | "class_definition"
                | "class_declaration"
                | "abstract_class_declaration"
                | "class"
                | "interface_declaration"
                | "class_specifier"
                | "struct_specifier"
                | "enum_declaration"
                | "record_declaration"
        ) {
            return Some(node);
        }
        node = node.parent()?;
    }
}

/// The file's top-level imports (and Go's `package` clause), whole lines,
/// in order, at most `budget` bytes of them: enough for the model to know
/// where the names an item uses come from.
pub(super) fn imports(lang: Lang, tree: &Tree, source: &str, budget: usize) -> String {
    const SCAN_BYTES: usize = 64 * 1024;
    let root = tree.root_node();
    let mut ranges = Vec::new();
    let mut walker = root.walk();
    if let Some(package) = root.named_children(&mut walker).find(|it| it.kind() == "package_clause")
    {
        ranges.push(package.byte_range());
    }
    let query = lang.imports_query();
    if let Some(import) = query.capture_index_for_name("import") {
        let mut cursor = QueryCursor::new();
        cursor.set_byte_range(0..SCAN_BYTES.min(source.len()));
        let mut matches = cursor.matches(query, root, source.as_bytes());
        while let Some(each) = matches.next() {
            for capture in each.captures.iter().filter(|it| it.index == import) {
                if capture.node.parent().is_some_and(|it| it.id() == root.id()) {
                    ranges.push(capture.node.byte_range());
                }
            }
        }
    }
    ranges.sort_by_key(|it| it.start);
    let mut out = String::new();
    let mut covered = 0;
    for range in ranges {
        let start = text::line_start(source, range.start).max(covered);
        let end = text::end_of_last_line(source, range.end);
        if start >= end {
            continue;
        }
        let lines = text::slice(source, start..end);
        if out.len() + lines.len() > budget {
            break;
        }
        out.push_str(lines);
        covered = end;
    }
    out.trim_end().to_owned()
}
