//! Line and indentation arithmetic on plain text.
//!
//! Every function here takes byte offsets that may come from a stale tree or
//! an editor's request, so none of them trusts its input: offsets are clamped
//! to the text and moved to character boundaries, and slicing goes through
//! `str::get`. Lines are split on `\n` alone; a `\r` before it stays part of
//! the line's content, which is what tree-sitter sees too.

use std::ops::Range;

/// `pos` clamped to the text and moved back to a character boundary.
pub(super) fn floor_boundary(text: &str, pos: usize) -> usize {
    let mut pos = pos.min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

/// `range` ordered, clamped to the text and on character boundaries.
pub(super) fn clamp_range(text: &str, range: Range<usize>) -> Range<usize> {
    let (start, end) =
        if range.start <= range.end { (range.start, range.end) } else { (range.end, range.start) };
    floor_boundary(text, start)..floor_boundary(text, end)
}

/// The text in `range`, or the empty string when the range does not fit.
pub(super) fn slice(text: &str, range: Range<usize>) -> &str {
    text.get(range).unwrap_or_default()
}

/// Start of the line holding `pos`.
pub(super) fn line_start(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text.as_bytes()
        .get(..pos)
        .and_then(|it| it.iter().rposition(|&b| b == b'\n'))
        .map_or(0, |it| it + 1)
}

/// End of the line holding `pos`: the offset of its `\n`, or the text's end.
pub(super) fn line_end(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text.as_bytes()
        .get(pos..)
        .and_then(|it| it.iter().position(|&b| b == b'\n'))
        .map_or(text.len(), |it| pos + it)
}

/// Start of the line after the one holding `pos`, or the text's end.
pub(super) fn next_line_start(text: &str, pos: usize) -> usize {
    (line_end(text, pos) + 1).min(text.len())
}

/// End (exclusive, after its `\n` when it has one) of the last line that a
/// node ending at `end` occupies. Some grammars end comments after their
/// newline, so a node ending right after a `\n` ends on the line before.
pub(super) fn end_of_last_line(text: &str, end: usize) -> usize {
    let end = end.min(text.len());
    if end > 0 && text.as_bytes().get(end - 1) == Some(&b'\n') {
        end
    } else {
        next_line_start(text, end)
    }
}

/// Zero-based line number of `pos`.
pub(super) fn line_number(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text.as_bytes().get(..pos).map_or(0, |it| it.iter().filter(|&&b| b == b'\n').count())
}

/// The blanks (spaces and tabs) at the start of the line holding `pos`.
pub(super) fn indentation(text: &str, pos: usize) -> &str {
    let start = line_start(text, pos);
    let rest = text.get(start..).unwrap_or_default();
    let len = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    // Never reach past `pos`'s own line.
    let len = len.min(line_end(text, pos) - start);
    slice(text, start..start + len)
}

/// Whether only blanks stand between the start of `pos`'s line and `pos`.
pub(super) fn starts_its_line(text: &str, pos: usize) -> bool {
    slice(text, line_start(text, pos)..pos.min(text.len())).trim_matches([' ', '\t']).is_empty()
}

/// Number of line breaks in `text`.
pub(super) fn newlines(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count()
}

/// The width of a line's leading blanks.
fn leading_blanks(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

/// `text` with its blank lines at both ends, trailing blanks and the
/// indentation common to its non-blank lines removed. Relative indentation
/// is kept: that is the code's structure.
pub(super) fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let first = lines.iter().position(|it| !it.is_empty()).unwrap_or(lines.len());
    let last = lines.iter().rposition(|it| !it.is_empty()).map_or(first, |it| it + 1);
    let lines = lines.get(first..last).unwrap_or_default();
    let common = lines.iter().filter(|it| !it.is_empty()).map(|it| leading_blanks(it)).min();
    let common = common.unwrap_or(0);
    let mut out = String::with_capacity(text.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // The common prefix is made of ASCII blanks, so this is a boundary.
        out.push_str(line.get(common..).unwrap_or_default());
    }
    out
}

/// Every non-blank line of `text` prefixed with `indent`, blank lines left
/// empty, joined with `\n` and without a final newline.
pub(super) fn indent_lines(text: &str, indent: &str) -> String {
    let mut out = String::with_capacity(text.len() + indent.len() * 4);
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !line.trim().is_empty() {
            out.push_str(indent);
            out.push_str(line);
        }
    }
    out
}

/// Splits `line` into pieces of at most `width` characters at spaces; a
/// word longer than the width stays whole on a line of its own.
pub(super) fn wrap(line: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let lead = &line[..line.len() - line.trim_start().len()];
    let mut lines = Vec::new();
    let mut current = lead.to_owned();
    for word in line.split_whitespace() {
        let fits = current.trim().is_empty()
            || current.chars().count() + 1 + word.chars().count() <= width;
        if !fits {
            lines.push(std::mem::replace(&mut current, lead.to_owned()));
        }
        if !current.trim().is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.trim().is_empty() || lines.is_empty() {
        lines.push(current.trim_end().to_owned());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_indentation() {
        let text = "a\n    bc\n\té";
        assert_eq!(line_start(text, 6), 2);
        assert_eq!(line_end(text, 6), 8);
        assert_eq!(next_line_start(text, 6), 9);
        assert_eq!(line_end(text, 10), text.len());
        assert_eq!(indentation(text, 7), "    ");
        assert_eq!(indentation(text, 100), "\t");
        assert_eq!(line_number(text, 9), 2);
        assert!(starts_its_line(text, 6));
        assert!(!starts_its_line(text, 7));
        // `é` is two bytes: an offset inside it moves back to its start.
        assert_eq!(floor_boundary(text, 11), 10);
        assert_eq!(clamp_range(text, Range { start: 50, end: 3 }), 3..text.len());
    }

    #[test]
    fn dedent_keeps_relative_indentation() {
        assert_eq!(dedent("\n\n    if x {\n        y\n    }  \n\n"), "if x {\n    y\n}");
        assert_eq!(dedent("   \n"), "");
        assert_eq!(indent_lines("a\n\n  b", "\t"), "\ta\n\n\t  b");
    }

    #[test]
    fn wrapping_breaks_at_spaces() {
        assert_eq!(wrap("one two three four", 9), ["one two", "three", "four"]);
        assert_eq!(wrap("  indented words here", 12), ["  indented", "  words here"]);
        assert_eq!(wrap("averyveryverylongword x", 5), ["averyveryverylongword", "x"]);
        assert_eq!(wrap("", 5), [""]);
    }
}
