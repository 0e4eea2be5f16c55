//! The one place that maps LSP positions to byte offsets and back.
//!
//! LSP counts columns in the negotiated encoding (UTF-8 bytes, UTF-16 code
//! units or code points). Everything below `lsp/` speaks byte offsets, so every
//! position that enters or leaves the server passes through here.
//!
//! Lines are split on `\n` only (a `\r` before it belongs to the line break),
//! as tree-sitter does; an old-Mac lone `\r` is not treated as a line break.

use ropey::Rope;
use tower_lsp_server::gen_lsp_types::{Position, PositionEncodingKind, Range};

/// How LSP columns are counted, as negotiated at `initialize`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PositionEncoding {
    Utf8,
    #[default]
    Utf16,
    Utf32,
}

impl PositionEncoding {
    /// Picks the encoding from what the client offers: UTF-8 saves conversions,
    /// UTF-16 is the mandatory fallback, UTF-32 is accepted when it is all the
    /// client speaks.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> PositionEncoding {
        let Some(offered) = offered.filter(|it| !it.is_empty()) else {
            return PositionEncoding::Utf16;
        };
        let has = |kind: PositionEncodingKind| offered.contains(&kind);
        if has(PositionEncodingKind::UTF8) {
            PositionEncoding::Utf8
        } else if has(PositionEncodingKind::UTF16) {
            PositionEncoding::Utf16
        } else if has(PositionEncodingKind::UTF32) {
            PositionEncoding::Utf32
        } else {
            PositionEncoding::Utf16
        }
    }

    pub fn to_lsp(self) -> PositionEncodingKind {
        match self {
            PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
            PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
            PositionEncoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    fn units(self, ch: char) -> usize {
        match self {
            PositionEncoding::Utf8 => ch.len_utf8(),
            PositionEncoding::Utf16 => ch.len_utf16(),
            PositionEncoding::Utf32 => 1,
        }
    }
}

/// What to do with a line number past the end of the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinePastEnd {
    /// Move it to the end of the document (for edits, which must not be lost).
    Clamp,
    /// Refuse it (for requests, which can answer with an error).
    Reject,
}

/// A position that cannot be mapped onto the document.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("position {line}:{character} is past the end of the document ({line_count} lines)")]
pub struct PositionOutOfRange {
    pub line: u32,
    pub character: u32,
    pub line_count: usize,
}

/// A byte offset together with how the position had to be adjusted to get it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub offset: usize,
    /// True when the position was past a line's end or the document's end,
    /// or split a character, and was moved.
    pub adjusted: bool,
}

/// Maps an LSP position to a byte offset on a character boundary.
///
/// A column past the end of its line means the end of the line (as the LSP
/// specification says); a column inside a character (half of a surrogate pair,
/// or inside a UTF-8 sequence) means the start of that character.
pub fn offset_of(
    text: &Rope,
    pos: Position,
    encoding: PositionEncoding,
    past_end: LinePastEnd,
) -> Result<Resolved, PositionOutOfRange> {
    let line = pos.line as usize;
    if line >= text.len_lines() {
        return match past_end {
            LinePastEnd::Clamp => Ok(Resolved { offset: text.len_bytes(), adjusted: true }),
            LinePastEnd::Reject => Err(PositionOutOfRange {
                line: pos.line,
                character: pos.character,
                line_count: text.len_lines(),
            }),
        };
    }
    let line_start = text.line_to_byte(line);
    let wanted = pos.character as usize;
    let mut units = 0;
    let mut offset = line_start;
    for ch in text.line(line).chars() {
        if ch == '\n' || (ch == '\r' && is_lf_at(text, offset + 1)) {
            break;
        }
        let width = encoding.units(ch);
        if units + width > wanted {
            return Ok(Resolved { offset, adjusted: units != wanted });
        }
        units += width;
        offset += ch.len_utf8();
        if units == wanted {
            return Ok(Resolved { offset, adjusted: false });
        }
    }
    Ok(Resolved { offset, adjusted: units != wanted })
}

/// The byte range that a `didChange` content change with `range` replaces:
/// both ends mapped by [`offset_of`], lines past the end clamped (an edit
/// must not be lost), and put in order if the client sent them reversed.
/// Also says how many of the two ends had to be adjusted.
pub fn edit_range(
    text: &Rope,
    range: Range,
    encoding: PositionEncoding,
) -> (std::ops::Range<usize>, usize) {
    let resolve = |pos| {
        offset_of(text, pos, encoding, LinePastEnd::Clamp)
            .unwrap_or(Resolved { offset: text.len_bytes(), adjusted: true })
    };
    let (start, end) = (resolve(range.start), resolve(range.end));
    let adjusted = usize::from(start.adjusted) + usize::from(end.adjusted);
    (start.offset.min(end.offset)..start.offset.max(end.offset), adjusted)
}

/// Maps a byte offset to an LSP position. Offsets past the end map to the end;
/// offsets inside a character map to its start.
pub fn position_of(text: &Rope, offset: usize, encoding: PositionEncoding) -> Position {
    let offset = offset.min(text.len_bytes());
    let offset = text.char_to_byte(text.byte_to_char(offset));
    let line = text.byte_to_line(offset);
    let line_start = text.line_to_byte(line);
    let character = match encoding {
        PositionEncoding::Utf8 => offset - line_start,
        PositionEncoding::Utf16 => {
            text.char_to_utf16_cu(text.byte_to_char(offset))
                - text.char_to_utf16_cu(text.byte_to_char(line_start))
        }
        PositionEncoding::Utf32 => text.byte_to_char(offset) - text.byte_to_char(line_start),
    };
    Position { line: to_u32(line), character: to_u32(character) }
}

/// Whether a `\n` starts at `offset`, i.e. a `\r` just before it belongs to a
/// CRLF line break.
fn is_lf_at(text: &Rope, offset: usize) -> bool {
    offset < text.len_bytes() && text.byte(offset) == b'\n'
}

/// The repository name and the path of `uri` relative to the workspace root
/// that contains it, as the model should see them (`src/lib.rs`). Files
/// outside every root are named by their file name alone.
pub fn workspace_path(uri: &str, roots: &[String]) -> (String, String) {
    let path = file_path(uri);
    for root in roots {
        let root = file_path(root);
        let root = root.trim_end_matches('/');
        if let Some(rest) = path.strip_prefix(root).and_then(|it| it.strip_prefix('/')) {
            let repo = root.rsplit('/').next().unwrap_or_default();
            return (repo.to_owned(), rest.to_owned());
        }
    }
    let name = path.rsplit('/').next().unwrap_or_default();
    (String::new(), name.to_owned())
}

/// The path part of a `file://` URI, percent-decoded; other URIs unchanged.
fn file_path(uri: &str) -> String {
    local_path(uri).map_or_else(|| uri.to_owned(), |path| path.to_string_lossy().into_owned())
}

/// The local path of a `file://` URI, percent-decoded; `None` for other
/// schemes.
pub(crate) fn local_path(uri: &str) -> Option<std::path::PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    // An authority (`file://localhost/src`) is dropped: the path follows it.
    let path = &rest[rest.find('/')?..];
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2))
        {
            decoded.push(u8::try_from(hi * 16 + lo).ok()?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    let path = String::from_utf8(decoded).ok()?;
    // Windows: `file:///C:/src` is the path `C:/src`.
    let path = match path.as_bytes() {
        [b'/', drive, b':', ..] if drive.is_ascii_alphabetic() => &path[1..],
        _ => &path,
    };
    Some(std::path::PathBuf::from(path))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ENCODINGS: [PositionEncoding; 3] =
        [PositionEncoding::Utf8, PositionEncoding::Utf16, PositionEncoding::Utf32];

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    fn resolve(text: &str, p: Position, encoding: PositionEncoding) -> (usize, bool) {
        let it = offset_of(&Rope::from_str(text), p, encoding, LinePastEnd::Reject).unwrap();
        (it.offset, it.adjusted)
    }

    #[test]
    fn negotiation_prefers_utf8_then_utf16() {
        use PositionEncodingKind as K;
        let cases: [(Option<Vec<K>>, PositionEncoding); 6] = [
            (None, PositionEncoding::Utf16),
            (Some(vec![]), PositionEncoding::Utf16),
            (Some(vec![K::UTF16, K::UTF8]), PositionEncoding::Utf8),
            (Some(vec![K::UTF32, K::UTF16]), PositionEncoding::Utf16),
            (Some(vec![K::UTF32]), PositionEncoding::Utf32),
            (Some(vec![K::new("utf-7")]), PositionEncoding::Utf16),
        ];
        for (offered, expected) in cases {
            assert_eq!(PositionEncoding::negotiate(offered.as_deref()), expected, "{offered:?}");
        }
    }

    #[test]
    fn columns_count_in_the_negotiated_encoding() {
        let text = "a😀b\n";
        // "a" is 1 unit in every encoding; "😀" is 4 bytes, 2 UTF-16 units, 1 code point.
        assert_eq!(resolve(text, pos(0, 5), PositionEncoding::Utf8), (5, false));
        assert_eq!(resolve(text, pos(0, 3), PositionEncoding::Utf16), (5, false));
        assert_eq!(resolve(text, pos(0, 2), PositionEncoding::Utf32), (5, false));
    }

    #[test]
    fn split_characters_move_to_their_start() {
        let text = "a😀b";
        assert_eq!(resolve(text, pos(0, 2), PositionEncoding::Utf16), (1, true));
        assert_eq!(resolve(text, pos(0, 3), PositionEncoding::Utf8), (1, true));
    }

    #[test]
    fn columns_past_the_line_end_clamp_before_the_line_break() {
        assert_eq!(resolve("ab\r\ncd", pos(0, 99), PositionEncoding::Utf16), (2, true));
        assert_eq!(resolve("ab\ncd", pos(0, 99), PositionEncoding::Utf8), (2, true));
        assert_eq!(resolve("ab\ncd", pos(1, 99), PositionEncoding::Utf32), (5, true));
        // A lone CR is ordinary text.
        assert_eq!(resolve("a\rb\n", pos(0, 3), PositionEncoding::Utf8), (3, false));
    }

    #[test]
    fn lines_past_the_end_clamp_or_reject() {
        let text = Rope::from_str("ab\n");
        // Line 1 is the empty line after the final newline.
        let ok = offset_of(&text, pos(1, 0), PositionEncoding::Utf16, LinePastEnd::Reject);
        assert_eq!(ok, Ok(Resolved { offset: 3, adjusted: false }));
        let clamped = offset_of(&text, pos(7, 1), PositionEncoding::Utf16, LinePastEnd::Clamp);
        assert_eq!(clamped, Ok(Resolved { offset: 3, adjusted: true }));
        let rejected = offset_of(&text, pos(7, 1), PositionEncoding::Utf16, LinePastEnd::Reject);
        assert_eq!(rejected, Err(PositionOutOfRange { line: 7, character: 1, line_count: 2 }));
    }

    #[test]
    fn edit_ranges_are_clamped_and_put_in_order() {
        let text = Rope::from_str("ab\ncd");
        let range = |start, end| Range { start, end };
        let utf16 = PositionEncoding::Utf16;
        assert_eq!(edit_range(&text, range(pos(0, 1), pos(1, 1)), utf16), (1..4, 0));
        // Reversed ends are swapped; a line past the end is the document's end.
        assert_eq!(edit_range(&text, range(pos(1, 1), pos(0, 1)), utf16), (1..4, 0));
        assert_eq!(edit_range(&text, range(pos(0, 9), pos(5, 0)), utf16), (2..5, 2));
    }

    #[test]
    fn workspace_paths_are_relative_to_their_root() {
        let roots = ["file:///home/me/My%20Project/".to_owned()];
        assert_eq!(
            workspace_path("file:///home/me/My%20Project/src/lib.rs", &roots),
            ("My Project".to_owned(), "src/lib.rs".to_owned())
        );
        assert_eq!(workspace_path("file:///tmp/x.py", &roots), (String::new(), "x.py".to_owned()));
        assert_eq!(
            workspace_path("untitled:Untitled-1", &[]),
            (String::new(), "untitled:Untitled-1".to_owned())
        );
    }

    proptest! {
        #[test]
        fn positions_round_trip(
            chars in prop::collection::vec(prop::sample::select(vec!['a', 'é', '中', '😀', '\n', '\r', '𝄞']), 0..40),
            at in any::<usize>(),
        ) {
            let text: String = chars.into_iter().collect();
            let rope = Rope::from_str(&text);
            let mut offset = at % (text.len() + 1);
            while !text.is_char_boundary(offset) { offset -= 1; }
            // The byte between CR and LF of a CRLF has no position of its own.
            if offset > 0 && text.as_bytes()[offset - 1] == b'\r' && text.as_bytes().get(offset) == Some(&b'\n') {
                offset -= 1;
            }
            for encoding in ENCODINGS {
                let p = position_of(&rope, offset, encoding);
                let back = offset_of(&rope, p, encoding, LinePastEnd::Reject).unwrap();
                prop_assert_eq!(back.offset, offset, "{:?} {:?}", encoding, p);
            }
        }
    }
}
