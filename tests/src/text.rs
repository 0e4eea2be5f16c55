//! Positions, encodings and a reference document model.
//!
//! The reference model implements the server's documented rules for turning
//! an LSP position into a byte offset, including the clamping of positions
//! that are out of range. Tests apply the same edits to the server and to a
//! [`RefDoc`] and compare the results.
//!
//! Lines are separated by `\n` only: the test documents never contain `\r`,
//! so the other LSP line terminators never come into play.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// An LSP position encoding: the unit of `Position::character`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    /// All encodings, in the order the tests iterate them.
    pub const ALL: [Encoding; 3] = [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32];

    /// The name LSP uses (`"utf-8"`, `"utf-16"`, `"utf-32"`).
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf16 => "utf-16",
            Encoding::Utf32 => "utf-32",
        }
    }

    /// The encoding LSP names `name`, if any.
    pub fn from_name(name: &str) -> Option<Encoding> {
        Encoding::ALL.into_iter().find(|it| it.name() == name)
    }

    /// How many code units `c` takes in this encoding.
    pub fn units(self, c: char) -> u32 {
        match self {
            Encoding::Utf8 => c.len_utf8() as u32,
            Encoding::Utf16 => c.len_utf16() as u32,
            Encoding::Utf32 => 1,
        }
    }

    /// How many code units `s` takes in this encoding.
    pub fn len(self, s: &str) -> u32 {
        match self {
            Encoding::Utf8 => s.len() as u32,
            Encoding::Utf16 => s.encode_utf16().count() as u32,
            Encoding::Utf32 => s.chars().count() as u32,
        }
    }
}

/// An LSP position: a zero-based line and a column in the session's encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

impl Position {
    pub fn new(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    /// The position as LSP JSON.
    pub fn to_json(self) -> Value {
        json!({ "line": self.line, "character": self.character })
    }
}

/// Byte offsets at which each line of `text` starts. There is always at least
/// one line, and a trailing `\n` starts a last, empty line (as in LSP).
pub fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    starts
}

/// The number of lines in `text`, as LSP counts them.
pub fn line_count(text: &str) -> usize {
    text.matches('\n').count() + 1
}

/// The byte range of line `line` without its terminator, or `None` past the
/// end of the document.
pub fn line_range(text: &str, line: usize) -> Option<std::ops::Range<usize>> {
    let starts = line_starts(text);
    let start = *starts.get(line)?;
    let end = starts.get(line + 1).map_or(text.len(), |next| next - 1);
    Some(start..end)
}

/// The position of byte offset `offset` in `text`, in `encoding`.
///
/// # Panics
///
/// Panics when `offset` is past the end or not on a character boundary,
/// because a test asking for that has a bug.
pub fn position_of(text: &str, offset: usize, encoding: Encoding) -> Position {
    assert!(
        text.is_char_boundary(offset),
        "offset {offset} is not a character boundary of a {}-byte text",
        text.len()
    );
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line: before.matches('\n').count() as u32,
        character: encoding.len(&before[line_start..]),
    }
}

/// The UTF-8 position of byte offset `offset` (column in bytes).
pub fn utf8_position(text: &str, offset: usize) -> Position {
    position_of(text, offset, Encoding::Utf8)
}

/// The UTF-16 position of byte offset `offset` (column in UTF-16 code units).
pub fn utf16_position(text: &str, offset: usize) -> Position {
    position_of(text, offset, Encoding::Utf16)
}

/// The UTF-32 position of byte offset `offset` (column in code points).
pub fn utf32_position(text: &str, offset: usize) -> Position {
    position_of(text, offset, Encoding::Utf32)
}

/// The byte offset of `position` in `text`, with the server's clamping rules:
/// a line past the end means the end of the document; a column past the end
/// of its line means the end of that line (before its `\n`); a column inside
/// a character (a UTF-16 position between the halves of a surrogate pair, or
/// a UTF-8 position inside a multi-byte sequence) means the start of that
/// character.
pub fn offset_of(text: &str, position: Position, encoding: Encoding) -> usize {
    let Some(range) = line_range(text, position.line as usize) else {
        return text.len();
    };
    let mut units = 0u32;
    for (i, c) in text[range.clone()].char_indices() {
        let next = units + encoding.units(c);
        // The position falls before the end of `c`: either exactly at its
        // start or inside it, and both mean the start of `c`.
        if position.character < next {
            return range.start + i;
        }
        units = next;
    }
    range.end
}

/// One entry of `contentChanges` in `textDocument/didChange`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The range to replace, or `None` for a full-text replacement.
    pub range: Option<(Position, Position)>,
    pub text: String,
}

impl Change {
    /// An incremental change replacing `start..end` with `text`.
    pub fn range(start: Position, end: Position, text: impl Into<String>) -> Change {
        Change { range: Some((start, end)), text: text.into() }
    }

    /// A full-text replacement.
    pub fn full(text: impl Into<String>) -> Change {
        Change { range: None, text: text.into() }
    }

    /// The change as LSP JSON.
    pub fn to_json(&self) -> Value {
        match self.range {
            Some((start, end)) => json!({
                "range": { "start": start.to_json(), "end": end.to_json() },
                "text": self.text,
            }),
            None => json!({ "text": self.text }),
        }
    }
}

/// The reference model of a document: what the server's text should be after
/// the same changes.
#[derive(Clone, Debug)]
pub struct RefDoc {
    pub text: String,
    pub encoding: Encoding,
}

impl RefDoc {
    pub fn new(text: impl Into<String>, encoding: Encoding) -> RefDoc {
        RefDoc { text: text.into(), encoding }
    }

    /// Applies one change and returns the byte range it replaced.
    ///
    /// # Panics
    ///
    /// Panics if the clamped start comes after the clamped end, which only a
    /// test that builds a reversed range can cause.
    pub fn apply(&mut self, change: &Change) -> std::ops::Range<usize> {
        match change.range {
            None => {
                let old = 0..self.text.len();
                self.text = change.text.clone();
                old
            }
            Some((start, end)) => {
                let s = offset_of(&self.text, start, self.encoding);
                let e = offset_of(&self.text, end, self.encoding);
                assert!(s <= e, "reversed range after clamping: {start:?}..{end:?} -> {s}..{e}");
                self.text.replace_range(s..e, &change.text);
                s..e
            }
        }
    }
}

/// A short description of where `actual` first differs from `expected`, for
/// failure messages that would be unreadable with whole documents in them.
pub fn describe_difference(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let common = expected
        .char_indices()
        .zip(actual.chars())
        .find(|((_, a), b)| a != b)
        .map_or(expected.len().min(actual.len()), |((i, _), _)| i);
    let context = |s: &str| {
        let mut from = common.saturating_sub(40);
        while !s.is_char_boundary(from) {
            from -= 1;
        }
        let mut to = (common + 40).min(s.len());
        while !s.is_char_boundary(to) {
            to += 1;
        }
        format!("{:?}", &s[from..to])
    };
    Some(format!(
        "first difference at byte {common} (line {}): expected len {} around {}, got len {} around {}",
        expected[..common].matches('\n').count(),
        expected.len(),
        context(expected),
        actual.len(),
        context(actual),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "aé中😀b\n𝄞x\n\nend";

    #[test]
    fn positions_in_each_encoding() {
        // Byte offset 10 is just after the emoji: a(1) é(2) 中(3) 😀(4).
        assert_eq!(utf8_position(SAMPLE, 10), Position::new(0, 10));
        assert_eq!(utf16_position(SAMPLE, 10), Position::new(0, 5));
        assert_eq!(utf32_position(SAMPLE, 10), Position::new(0, 4));
        // After "𝄞" on the second line.
        assert_eq!(utf16_position(SAMPLE, 16), Position::new(1, 2));
        assert_eq!(utf32_position(SAMPLE, 16), Position::new(1, 1));
        assert_eq!(utf8_position(SAMPLE, SAMPLE.len()), Position::new(3, 3));
    }

    #[test]
    fn offsets_round_trip_at_every_boundary() {
        for encoding in Encoding::ALL {
            for (offset, _) in SAMPLE.char_indices().chain([(SAMPLE.len(), ' ')]) {
                let position = position_of(SAMPLE, offset, encoding);
                assert_eq!(offset_of(SAMPLE, position, encoding), offset, "{encoding:?} {offset}");
            }
        }
    }

    #[test]
    fn clamping_rules() {
        let e = Encoding::Utf16;
        // A column past the end of a line stops before its newline.
        assert_eq!(offset_of(SAMPLE, Position::new(0, 99), e), 11);
        // A line past the end means the end of the document.
        assert_eq!(offset_of(SAMPLE, Position::new(9, 0), e), SAMPLE.len());
        // Column 4 is between the halves of the emoji: the start of the emoji.
        assert_eq!(offset_of(SAMPLE, Position::new(0, 4), e), 6);
        // The empty third line.
        assert_eq!(offset_of(SAMPLE, Position::new(2, 5), e), 18);
    }

    #[test]
    fn ref_doc_applies_changes() {
        let mut doc = RefDoc::new("hello\nwörld", Encoding::Utf16);
        doc.apply(&Change::range(Position::new(0, 5), Position::new(1, 1), " "));
        assert_eq!(doc.text, "hello örld");
        doc.apply(&Change::full("new"));
        assert_eq!(doc.text, "new");
    }

    #[test]
    fn differences_are_described() {
        assert_eq!(describe_difference("abc", "abc"), None);
        let d = describe_difference("abc\ndé", "abc\ndx").unwrap();
        assert!(d.contains("byte 5 (line 1)"), "{d}");
    }
}
