//! What the fuzz targets share: text built from pieces that matter to the
//! code under test (line breaks of every kind, multi-byte characters,
//! brackets, quotes, comment markers, a few keywords), mixed with arbitrary
//! characters, so that the fuzzer reaches interesting documents quickly.

use arbitrary::Arbitrary;
use hearth_grammars::Lang;

/// One piece of generated text.
#[derive(Arbitrary, Debug, Clone)]
pub enum Piece {
    Common(u8),
    Char(char),
}

const COMMON: &[&str] = &[
    "\n",
    "\r\n",
    "\r",
    " ",
    "    ",
    "\t",
    "é",
    "中",
    "😀",
    "𝄞",
    "\u{feff}",
    "\u{2028}",
    "\0",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    ":",
    ",",
    ".",
    "=",
    "\"",
    "'",
    "`",
    "\\",
    "#",
    "//",
    "/*",
    "*/",
    "\"\"\"",
    "fn f() {",
    "def f(x):",
    "let y = 1;",
    "return",
    "x",
    "foo",
    "use a::b;",
    "import os",
    "class C:",
    "if x {",
    "} else {",
    "pub struct S {",
    "impl S {",
    "<|fim_middle|>",
    "<|endoftext|>",
    "```",
    "--",
    "end",
];

/// Text from pieces.
pub fn text(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Common(i) => out.push_str(COMMON[usize::from(*i) % COMMON.len()]),
            Piece::Char(c) => out.push(*c),
        }
    }
    out
}

/// A language id as editors send it: every language with a grammar, and one
/// without.
pub fn language_id(choice: u8) -> &'static str {
    const IDS: &[&str] = &[
        "rust",
        "python",
        "javascript",
        "typescript",
        "typescriptreact",
        "go",
        "c",
        "cpp",
        "java",
        "lua",
        "shellscript",
        "plaintext",
    ];
    IDS[usize::from(choice) % IDS.len()]
}

/// The language for a language id, if it has a grammar.
pub fn lang(choice: u8) -> Option<Lang> {
    Lang::from_language_id(language_id(choice))
}

/// A number that is usually small (a line or a column near the text) and
/// sometimes anything (past every end).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Num {
    Small(u8),
    Any(u32),
}

impl Num {
    pub fn get(self) -> u32 {
        match self {
            Num::Small(n) => u32::from(n),
            Num::Any(n) => n,
        }
    }
}
