//! Tests for language detection and for the shipped queries.
//!
//! The per-language tests in `samples` parse a small idiomatic file and
//! snapshot what the queries find in it; the tests here check properties that
//! must hold for every language at once.

mod samples;

use std::collections::HashSet;

use expect_test::Expect;
use tree_sitter::{Node, Parser, Query, QueryCursor, StreamingIterator, Tree};

use crate::Lang;
use crate::detect::{EXTENSIONS, LANGUAGE_IDS};

#[test]
fn all_lists_every_language_once_in_declaration_order() {
    // The query caches are indexed by discriminant, which is only sound if
    // `ALL[i]` is the variant with discriminant `i`.
    for (i, &lang) in Lang::ALL.iter().enumerate() {
        assert_eq!(lang.index(), i, "{lang:?} is out of place in Lang::ALL");
    }
    // Every language has a language id, so the id table names them all; a
    // variant forgotten in `ALL` shows up here.
    for &(id, lang) in LANGUAGE_IDS {
        assert!(
            Lang::ALL.contains(&lang),
            "{lang:?} (language id {id:?}) is missing from Lang::ALL"
        );
    }
}

#[test]
fn names_round_trip_through_language_ids() {
    let mut seen = HashSet::new();
    for &lang in Lang::ALL {
        assert!(seen.insert(lang.name()), "two languages are called {:?}", lang.name());
        assert_eq!(Lang::from_language_id(lang.name()), Some(lang));
    }
}

#[test]
fn language_ids() {
    let cases = [
        ("rust", Some(Lang::Rust)),
        ("python", Some(Lang::Python)),
        ("javascript", Some(Lang::JavaScript)),
        ("javascriptreact", Some(Lang::JavaScript)),
        ("typescript", Some(Lang::TypeScript)),
        ("typescriptreact", Some(Lang::Tsx)),
        ("go", Some(Lang::Go)),
        ("c", Some(Lang::C)),
        ("cpp", Some(Lang::Cpp)),
        ("java", Some(Lang::Java)),
        ("lua", Some(Lang::Lua)),
        ("shellscript", Some(Lang::Bash)),
        ("sh", Some(Lang::Bash)),
        ("bash", Some(Lang::Bash)),
        ("plaintext", None),
        ("markdown", None),
        ("", None),
        ("Rust", None),
    ];
    for (id, expected) in cases {
        assert_eq!(Lang::from_language_id(id), expected, "language id {id:?}");
    }
    // Every table entry is exercised above.
    for &(id, _) in LANGUAGE_IDS {
        assert!(cases.iter().any(|&(case, _)| case == id), "language id {id:?} is untested");
    }
}

#[test]
fn extensions() {
    let cases = [
        ("rs", Some(Lang::Rust)),
        ("py", Some(Lang::Python)),
        ("pyi", Some(Lang::Python)),
        ("js", Some(Lang::JavaScript)),
        ("mjs", Some(Lang::JavaScript)),
        ("cjs", Some(Lang::JavaScript)),
        ("jsx", Some(Lang::JavaScript)),
        ("ts", Some(Lang::TypeScript)),
        ("mts", Some(Lang::TypeScript)),
        ("cts", Some(Lang::TypeScript)),
        ("tsx", Some(Lang::Tsx)),
        ("go", Some(Lang::Go)),
        ("c", Some(Lang::C)),
        ("h", Some(Lang::C)),
        ("cc", Some(Lang::Cpp)),
        ("cpp", Some(Lang::Cpp)),
        ("cxx", Some(Lang::Cpp)),
        ("hpp", Some(Lang::Cpp)),
        ("hh", Some(Lang::Cpp)),
        ("hxx", Some(Lang::Cpp)),
        ("java", Some(Lang::Java)),
        ("lua", Some(Lang::Lua)),
        ("sh", Some(Lang::Bash)),
        ("bash", Some(Lang::Bash)),
        ("RS", Some(Lang::Rust)),
        ("Py", Some(Lang::Python)),
        (".rs", None),
        ("txt", None),
        ("md", None),
        ("", None),
    ];
    for (ext, expected) in cases {
        assert_eq!(Lang::from_extension(ext), expected, "extension {ext:?}");
    }
    for &(ext, _) in EXTENSIONS {
        assert!(cases.iter().any(|&(case, _)| case == ext), "extension {ext:?} is untested");
    }
}

#[test]
fn line_comments() {
    for &lang in Lang::ALL {
        let expected = match lang {
            Lang::Python | Lang::Bash => "#",
            Lang::Lua => "--",
            _ => "//",
        };
        assert_eq!(lang.line_comment(), expected, "{lang:?}");
        // The prefix must really start a comment in the grammar, or the
        // server would write code where it meant to write a comment.
        let source = format!("{} hearth\n", lang.line_comment());
        let tree = parse(lang, &source);
        let root = tree.root_node();
        assert!(!root.has_error(), "{lang:?}: {}", root.to_sexp());
        // Rust calls the node `line_comment`, every other grammar `comment`.
        let comment = root.named_child(0).filter(|node| node.kind().ends_with("comment"));
        assert_eq!(comment.map(|node| node.byte_range()), Some(0..source.len() - 1), "{lang:?}");
    }
}

#[test]
fn every_query_compiles() {
    for &lang in Lang::ALL {
        // Compile the sources directly first so a broken query fails with the
        // grammar's own error message instead of a panic from the cache.
        for (what, source) in [("items", lang.items_source()), ("imports", lang.imports_source())] {
            if let Err(err) = Query::new(&lang.ts_language(), source) {
                panic!("{lang:?} {what} query: {err}");
            }
        }
        // The cached queries are compiled once and shared.
        assert!(std::ptr::eq(lang.items_query(), lang.items_query()));
        assert!(std::ptr::eq(lang.imports_query(), lang.imports_query()));
    }
}

#[test]
fn queries_follow_the_capture_conventions() {
    for &lang in Lang::ALL {
        check_captures(lang, "items", lang.items_query(), &["item", "name"]);
        check_captures(lang, "imports", lang.imports_query(), &["import"]);
    }
}

/// Checks that `query` only uses the public captures in `required` (besides
/// `_`-prefixed helpers) and that every pattern captures each of them exactly
/// once, which is what lets callers read one item or import per match.
fn check_captures(lang: Lang, what: &str, query: &Query, required: &[&str]) {
    for name in query.capture_names() {
        assert!(
            name.starts_with('_') || required.contains(name),
            "{lang:?} {what} query has an unexpected capture @{name}"
        );
    }
    for pattern in 0..query.pattern_count() {
        let quantifiers = query.capture_quantifiers(pattern);
        for &name in required {
            let index = query.capture_index_for_name(name);
            let quantifier = index.map(|index| quantifiers[index as usize]);
            assert_eq!(
                quantifier,
                Some(tree_sitter::CaptureQuantifier::One),
                "{lang:?} {what} query, pattern {pattern}: @{name} is not captured exactly once"
            );
        }
    }
}

fn parse(lang: Lang, source: &str) -> Tree {
    let mut parser = Parser::new();
    parser.set_language(&lang.ts_language()).expect("grammar ABI matches the tree-sitter crate");
    parser.parse(source, None).expect("parsing without a timeout or cancellation flag finishes")
}

/// One definition found by an items query.
struct Item<'tree> {
    node: Node<'tree>,
    name: Node<'tree>,
}

fn items<'tree>(lang: Lang, tree: &'tree Tree, source: &str) -> Vec<Item<'tree>> {
    let query = lang.items_query();
    let item = capture_index(query, "item");
    let name = capture_index(query, "name");
    let mut found = Vec::new();
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(query, tree.root_node(), source.as_bytes());
    while let Some(m) = matches.next() {
        let node = m.nodes_for_capture_index(item).next();
        let name = m.nodes_for_capture_index(name).next();
        match (node, name) {
            (Some(node), Some(name)) => found.push(Item { node, name }),
            _ => panic!("{lang:?}: a match lacks @item or @name"),
        }
    }
    found.sort_by_key(|item| (item.node.start_byte(), item.name.start_byte()));
    found
}

fn imports<'tree>(lang: Lang, tree: &'tree Tree, source: &str) -> Vec<Node<'tree>> {
    let query = lang.imports_query();
    let import = capture_index(query, "import");
    let mut found = Vec::new();
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(query, tree.root_node(), source.as_bytes());
    while let Some(m) = matches.next() {
        found.extend(m.nodes_for_capture_index(import));
    }
    found.sort_by_key(|node| node.start_byte());
    found
}

fn capture_index(query: &Query, name: &str) -> u32 {
    query.capture_index_for_name(name).unwrap_or_else(|| panic!("query has no @{name} capture"))
}

/// Parses `source`, checks it parses cleanly, and compares what the items and
/// imports queries find against `expect`.
///
/// Item lines show the definition's node kind and its name; import lines show
/// the statement with its whitespace collapsed, so that grouped imports stay
/// on one line.
fn check(lang: Lang, source: &str, expect: Expect) {
    let tree = parse(lang, source);
    let root = tree.root_node();
    assert!(!root.has_error(), "{lang:?} sample has ERROR or MISSING nodes: {}", root.to_sexp());

    let items = items(lang, &tree, source);
    let imports = imports(lang, &tree, source);

    let mut seen = HashSet::new();
    for item in &items {
        assert!(seen.insert(item.node.id()), "{lang:?}: {} matched twice", text(item.node, source));
    }
    let mut seen = HashSet::new();
    for node in &imports {
        assert!(seen.insert(node.id()), "{lang:?}: {} matched twice", text(*node, source));
    }

    let mut actual = String::from("items:\n");
    for item in &items {
        actual += &format!("  {} {}\n", item.node.kind(), text(item.name, source));
    }
    actual += "imports:\n";
    for node in &imports {
        let statement = text(*node, source).split_whitespace().collect::<Vec<_>>().join(" ");
        actual += &format!("  {statement}\n");
    }
    expect.assert_eq(&actual);
}

fn text<'a>(node: Node<'_>, source: &'a str) -> &'a str {
    &source[node.byte_range()]
}
