//! The file's header (its imports), kept in the prompt when the window around
//! the cursor no longer reaches it: what a file imports says which names the
//! code uses and where they come from.

use std::ops::Range;

use hearth_grammars::Lang;
use ropey::Rope;
use tree_sitter::{QueryCursor, StreamingIterator, Tree};

/// How far into a file imports are looked for: headers sit at the top, and
/// the query must stay cheap on large files.
const HEADER_SCAN_BYTES: usize = 64 * 1024;

/// The byte range from the start of the file to the end of the line of its
/// last top-level import, if it has any.
pub fn header_range(tree: &Tree, lang: Lang, text: &Rope) -> Option<Range<usize>> {
    let query = lang.imports_query();
    let import = query.capture_index_for_name("import")?;
    let root = tree.root_node();
    let mut cursor = QueryCursor::new();
    cursor.set_byte_range(0..HEADER_SCAN_BYTES.min(text.len_bytes()));
    let source = text.bytes().take(HEADER_SCAN_BYTES).collect::<Vec<u8>>();
    let mut end = None;
    let mut matches = cursor.matches(query, root, source.as_slice());
    while let Some(found) = matches.next() {
        for capture in found.captures.iter().filter(|it| it.index == import) {
            let node = capture.node;
            if node.parent().is_some_and(|parent| parent.id() == root.id()) {
                end = Some(end.map_or(node.end_byte(), |it: usize| it.max(node.end_byte())));
            }
        }
    }
    let end = end?.min(text.len_bytes());
    // Whole lines: up to the end of the last import's line.
    Some(0..super::next_line_start(text, text.byte_to_line(end)).max(end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::parse_fresh;

    fn header(lang: Lang, source: &str) -> Option<String> {
        let tree = parse_fresh(lang, source).unwrap();
        let text = Rope::from_str(source);
        header_range(&tree, lang, &text).map(|range| source[range].to_owned())
    }

    #[test]
    fn finds_the_imports_at_the_top() {
        let rust = "//! Docs.\nuse std::fmt;\nuse std::io::{self, Read};\n\nfn main() {\n    use inner::x;\n}\n";
        assert_eq!(
            header(Lang::Rust, rust).as_deref(),
            Some("//! Docs.\nuse std::fmt;\nuse std::io::{self, Read};\n")
        );
        let python = "import os\nfrom sys import argv\n\ndef f():\n    import json\n";
        assert_eq!(
            header(Lang::Python, python).as_deref(),
            Some("import os\nfrom sys import argv\n")
        );
        assert_eq!(header(Lang::Rust, "fn main() {}\n"), None);
    }
}
