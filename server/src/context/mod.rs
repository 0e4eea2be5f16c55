//! Pure prompt building: from a document snapshot and a cursor to FIM parts.
//!
//! Nothing here does IO or talks to the model. The prompt is *anchored*: the
//! prefix ends at a stable anchor (the start of the cursor's line), the suffix
//! is the text after the cursor, and what the user typed between the anchor
//! and the cursor becomes the start of the middle. While the user types on a
//! line, prefix and suffix stay byte-for-byte the same and the prompt only
//! grows at its end, so the engine's KV cache is reused exactly.

pub mod boundaries;
pub mod fim;
pub mod header;
pub mod indent;
pub mod mode;
pub mod related;

use ropey::Rope;

/// Budgets for the text around the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextConfig {
    /// Bytes of text before the anchor (about four bytes a token).
    pub prefix_bytes: usize,
    /// Bytes of text after the cursor.
    pub suffix_bytes: usize,
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig { prefix_bytes: 4000, suffix_bytes: 1200 }
    }
}

/// How much the model should write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The rest of the current line.
    SingleLine,
    /// A few lines: the cursor is on an empty line in a block.
    MultiLine,
    /// Nothing: any suggestion here would be noise (see [`mode::classify`]).
    Empty,
}

/// The text around the cursor, split for a FIM prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FimContext {
    pub prefix: String,
    pub suffix: String,
    /// Typed text between the anchor and the cursor.
    pub middle: String,
    /// Byte offset of the anchor (start of the cursor's line).
    pub anchor: usize,
    pub mode: Mode,
    /// The part of the cursor's line after the cursor.
    pub line_after_cursor: String,
    /// On an empty line with the cursor at column 0, the indentation the
    /// lines around give it (see [`indent::implied`]); else empty.
    pub implied_indent: String,
}

/// Splits the document at `cursor` (a byte offset on a character boundary).
pub fn build(text: &Rope, cursor: usize, config: &ContextConfig) -> FimContext {
    build_with_header(text, cursor, config, None, None)
}

/// Like [`build`], and when the window before the cursor does not reach back
/// to the end of `header` (the file's imports, from [`header::header_range`]),
/// the header comes first in the prefix, within a quarter of its budget.
/// With the document's current `tree`, the windows' far edges are cut at
/// syntax boundaries (see [`boundaries`]).
pub fn build_with_header(
    text: &Rope,
    cursor: usize,
    config: &ContextConfig,
    header: Option<std::ops::Range<usize>>,
    tree: Option<&tree_sitter::Tree>,
) -> FimContext {
    let cursor = cursor.min(text.len_bytes());
    let line = text.byte_to_line(cursor);
    let anchor = text.line_to_byte(line);
    // The header is the file's first lines, cut to whole lines within its share.
    let header_text = header
        .map(|range| {
            let end = range.end.min(anchor).min(config.prefix_bytes / 4);
            let end = text.line_to_byte(text.byte_to_line(end));
            text.byte_slice(..end).to_string()
        })
        .unwrap_or_default();
    let config = &ContextConfig {
        prefix_bytes: config.prefix_bytes.saturating_sub(header_text.len()),
        ..*config
    };

    // Cut whole lines so the window edges do not move while the user types.
    // The start is also rounded up to a multiple of a quarter of the budget,
    // so it stays put while the cursor moves down a few lines: the cached
    // prompt then still matches up to the old anchor after a new line.
    let prefix_start = {
        let chunk = (config.prefix_bytes / 4).max(1);
        let wanted = anchor.saturating_sub(config.prefix_bytes).div_ceil(chunk) * chunk;
        let wanted = wanted.min(anchor);
        let first = text.byte_to_line(wanted);
        let first = if text.line_to_byte(first) < wanted { (first + 1).min(line) } else { first };
        // Within the first quarter of the window, a syntax boundary if any.
        let last = text.byte_to_line((wanted + chunk).min(anchor)).min(line);
        let best = tree.and_then(|tree| boundaries::best_start_line(text, tree, first..last));
        text.line_to_byte(best.unwrap_or(first))
    };
    let suffix_end = {
        // Saturating: `suffixBytes` is a setting, and may be any size.
        let wanted = cursor.saturating_add(config.suffix_bytes).min(text.len_bytes());
        let last = text.byte_to_line(wanted);
        let end = text.line_to_byte(last);
        if wanted == text.len_bytes() || end <= cursor {
            // Inside the cursor's line the budget may end inside a character.
            text.char_to_byte(text.byte_to_char(wanted)).max(cursor)
        } else {
            // Within the last quarter of the window, a syntax boundary if any.
            let from = text.byte_to_line(cursor + config.suffix_bytes * 3 / 4).max(line + 1);
            let best = tree.and_then(|tree| boundaries::best_end_line(text, tree, from..last));
            best.map_or(end, |it| next_line_start(text, it))
        }
    };
    let slice = |from: usize, to: usize| text.byte_slice(from..to).to_string();
    let middle = slice(anchor, cursor);
    let line_end = next_line_start(text, line);
    let line_after_cursor = slice(cursor, line_end).trim_end_matches(['\n', '\r']).to_owned();
    let window = slice(prefix_start, anchor);
    // Only a header the window does not already show is added.
    let prefix = if header_text.is_empty() || prefix_start <= header_text.len() {
        window
    } else {
        format!("{header_text}\n{window}")
    };
    let mut ctx = FimContext {
        prefix,
        suffix: slice(cursor, suffix_end),
        middle,
        anchor,
        mode: Mode::SingleLine,
        line_after_cursor,
        implied_indent: String::new(),
    };
    ctx.implied_indent = indent::implied(&ctx).unwrap_or_default();
    // From the text alone here; the completion layer asks again with the tree.
    ctx.mode = mode::classify(&ctx, cursor, None, mode::ModeConfig::default());
    ctx
}

/// The byte offset where the line after `line` starts, or the end of the text.
pub(crate) fn next_line_start(text: &Rope, line: usize) -> usize {
    if line + 1 < text.len_lines() { text.line_to_byte(line + 1) } else { text.len_bytes() }
}

/// The context at the `$0` marker of a fixture, with the default budgets;
/// shared by the tests of the modules that consume contexts.
#[cfg(test)]
pub(crate) fn fixture(fixture: &str) -> FimContext {
    let (text, cursor) = tests::at_cursor(fixture);
    build(&text, cursor, &ContextConfig::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a fixture at its `$0` marker.
    pub(super) fn at_cursor(fixture: &str) -> (Rope, usize) {
        let cursor = fixture.find("$0").expect("fixture has a $0 cursor");
        (Rope::from_str(&fixture.replace("$0", "")), cursor)
    }

    fn check(fixture: &str, config: ContextConfig) -> FimContext {
        let (text, cursor) = at_cursor(fixture);
        build(&text, cursor, &config)
    }

    #[test]
    fn anchors_at_the_start_of_the_line() {
        let ctx = check("fn main() {\n    let x$0 = 1;\n}\n", ContextConfig::default());
        assert_eq!(ctx.prefix, "fn main() {\n");
        assert_eq!(ctx.middle, "    let x");
        assert_eq!(ctx.suffix, " = 1;\n}\n");
        assert_eq!(ctx.line_after_cursor, " = 1;");
        assert_eq!(ctx.mode, Mode::SingleLine);
    }

    #[test]
    fn blank_lines_ask_for_several_lines() {
        let ctx = check("def f(x):\n    $0\n", ContextConfig::default());
        assert_eq!(ctx.mode, Mode::MultiLine);
        assert_eq!(ctx.middle, "    ");
    }

    #[test]
    fn typing_keeps_prefix_and_suffix_identical() {
        let before =
            check("a\nb\nfoo(x$0)\nc\n", ContextConfig { prefix_bytes: 3, suffix_bytes: 4 });
        let after =
            check("a\nb\nfoo(xy$0)\nc\n", ContextConfig { prefix_bytes: 3, suffix_bytes: 4 });
        assert_eq!(before.prefix, after.prefix);
        assert_eq!(before.suffix, after.suffix);
        assert_eq!(after.middle, "foo(xy");
    }

    #[test]
    fn budgets_of_any_size_are_budgets() {
        // Found by `fuzz/context_postprocess`: a suffix budget near
        // `usize::MAX` overflowed (a panic in debug builds, an empty suffix
        // in release builds).
        let huge = ContextConfig { prefix_bytes: usize::MAX, suffix_bytes: usize::MAX };
        let ctx = check("fn main() {\n    let x$0 = 1;\n}\n", huge);
        assert_eq!(ctx.prefix, "fn main() {\n");
        assert_eq!(ctx.suffix, " = 1;\n}\n");
    }

    #[test]
    fn a_suffix_ending_inside_a_character_ends_before_it() {
        // Found by `fuzz/context_postprocess`: on a line longer than the
        // suffix budget, the budget could end inside a multi-byte character,
        // and cutting the suffix there panicked.
        let ctx = check("x = $0\"😀😀\"\n", ContextConfig { prefix_bytes: 10, suffix_bytes: 3 });
        assert_eq!(ctx.suffix, "\"");
    }

    #[test]
    fn windows_cut_at_whole_lines() {
        let ctx = check(
            "one\ntwo\nthree\nx$0\nfour\nfive\n",
            ContextConfig { prefix_bytes: 8, suffix_bytes: 7 },
        );
        assert_eq!(ctx.prefix, "three\n");
        assert_eq!(ctx.suffix, "\nfour\n");
    }

    #[test]
    fn a_header_out_of_the_window_is_kept() {
        let body: String = (0..100).map(|i| format!("let v{i} = {i};\n")).collect();
        let source = format!("use std::fmt;\n{body}x$0\n");
        let (text, cursor) = at_cursor(&source);
        let config = ContextConfig { prefix_bytes: 400, suffix_bytes: 100 };
        let ctx = build_with_header(&text, cursor, &config, Some(0..14), None);
        assert!(ctx.prefix.starts_with("use std::fmt;\n\nlet v"), "{}", ctx.prefix);
        assert!(ctx.prefix.len() <= 400, "{}", ctx.prefix.len());
        // Near the top, the window shows the header itself: no second copy.
        let near = "use std::fmt;\nlet a = 1;\nx$0\n";
        let (text, cursor) = at_cursor(near);
        let ctx = build_with_header(&text, cursor, &config, Some(0..14), None);
        assert_eq!(ctx.prefix, "use std::fmt;\nlet a = 1;\n");
    }

    #[test]
    fn windows_are_cut_where_items_begin_and_end() {
        let items: String = (0..40)
            .map(|i| format!("fn f{i}(x: u32) -> u32 {{\n    let y = x + {i};\n    y * 2\n}}\n\n"))
            .collect();
        let source = format!("{items}fn g() {{\n    $0\n}}\n\n{items}");
        let (text, cursor) = at_cursor(&source);
        let tree = crate::documents::parse_fresh(hearth_grammars::Lang::Rust, &text.to_string());
        let config = ContextConfig { prefix_bytes: 600, suffix_bytes: 300 };
        let plain = build_with_header(&text, cursor, &config, None, None);
        let cut = build_with_header(&text, cursor, &config, None, tree.as_ref());
        assert!(!plain.prefix.starts_with("fn "), "{}", plain.prefix);
        assert!(cut.prefix.starts_with("fn f"), "{}", cut.prefix);
        assert!(cut.prefix.len() >= 600 * 3 / 4 - 60, "{}", cut.prefix.len());
        assert!(cut.suffix.ends_with("}\n") || cut.suffix.ends_with("}\n\n"), "{}", cut.suffix);
        // Typing at the cursor does not move the cuts.
        let typed = source.replace("$0", "let z$0");
        let (text, cursor) = at_cursor(&typed);
        let tree = crate::documents::parse_fresh(hearth_grammars::Lang::Rust, &text.to_string());
        let after = build_with_header(&text, cursor, &config, None, tree.as_ref());
        assert_eq!((after.prefix, after.suffix), (cut.prefix, cut.suffix));
    }

    #[test]
    fn the_prefix_start_survives_a_move_to_the_next_line() {
        let lines: String = (0..200).map(|i| format!("line {i:03}\n")).collect();
        let config = ContextConfig { prefix_bytes: 400, suffix_bytes: 100 };
        let text = Rope::from_str(&lines);
        let mut same_start = 0;
        for line in 60..100 {
            let here = build(&text, text.line_to_byte(line), &config);
            let next = build(&text, text.line_to_byte(line + 1), &config);
            assert!((290..=400).contains(&here.prefix.len()), "{}", here.prefix.len());
            if next.prefix.starts_with(&here.prefix) {
                same_start += 1;
            }
        }
        // The start moves once per quarter of the budget (100 bytes, 10 lines).
        assert!(same_start >= 35, "{same_start} of 40 moves kept the start");
    }
}
