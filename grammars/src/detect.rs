//! Working out a document's language from what the editor tells us.
//!
//! Editors identify documents by an LSP `languageId`; when that is missing or
//! unknown to us the file extension is the only other hint. Both lookups are
//! plain tables so that tests can check every entry round-trips.

use crate::Lang;

/// LSP `languageId`s we understand. The ids are the ones VS Code and other
/// editors send; they are matched exactly because the LSP specification
/// defines them as lowercase identifiers.
pub(crate) const LANGUAGE_IDS: &[(&str, Lang)] = &[
    ("rust", Lang::Rust),
    ("python", Lang::Python),
    ("javascript", Lang::JavaScript),
    ("javascriptreact", Lang::JavaScript),
    ("typescript", Lang::TypeScript),
    ("typescriptreact", Lang::Tsx),
    ("go", Lang::Go),
    ("c", Lang::C),
    ("cpp", Lang::Cpp),
    ("java", Lang::Java),
    ("lua", Lang::Lua),
    ("shellscript", Lang::Bash),
    ("sh", Lang::Bash),
    ("bash", Lang::Bash),
];

/// File extensions (without the dot) we understand. A `.h` header could be C
/// or C++; we guess C, because C++ projects mostly use the dedicated header
/// extensions below, and C code that uses C++ keywords as identifiers (`new`,
/// `class`) trips up the C++ grammar.
pub(crate) const EXTENSIONS: &[(&str, Lang)] = &[
    ("rs", Lang::Rust),
    ("py", Lang::Python),
    ("pyi", Lang::Python),
    ("js", Lang::JavaScript),
    ("mjs", Lang::JavaScript),
    ("cjs", Lang::JavaScript),
    ("jsx", Lang::JavaScript),
    ("ts", Lang::TypeScript),
    ("mts", Lang::TypeScript),
    ("cts", Lang::TypeScript),
    ("tsx", Lang::Tsx),
    ("go", Lang::Go),
    ("c", Lang::C),
    ("h", Lang::C),
    ("cc", Lang::Cpp),
    ("cpp", Lang::Cpp),
    ("cxx", Lang::Cpp),
    ("hpp", Lang::Cpp),
    ("hh", Lang::Cpp),
    ("hxx", Lang::Cpp),
    ("java", Lang::Java),
    ("lua", Lang::Lua),
    ("sh", Lang::Bash),
    ("bash", Lang::Bash),
];

impl Lang {
    /// Maps an LSP `languageId` (e.g. "rust", "python", "javascript",
    /// "javascriptreact", "typescript", "typescriptreact", "go", "c", "cpp",
    /// "java", "lua", "shellscript", "sh", "bash") to a language; None for
    /// unknown ids (the server treats those as plain text).
    pub fn from_language_id(id: &str) -> Option<Lang> {
        LANGUAGE_IDS.iter().find(|&&(known, _)| known == id).map(|&(_, lang)| lang)
    }

    /// Maps a file extension without the dot ("rs", "py", "pyi", "js", "mjs",
    /// "cjs", "jsx", "ts", "mts", "cts", "tsx", "go", "c", "h", "cc", "cpp",
    /// "cxx", "hpp", "hh", "hxx", "java", "lua", "sh", "bash") to a language.
    ///
    /// The match ignores ASCII case, since file systems on Windows and macOS
    /// happily hand us `MAIN.RS` or `Script.PY`.
    pub fn from_extension(ext: &str) -> Option<Lang> {
        EXTENSIONS
            .iter()
            .find(|&&(known, _)| known.eq_ignore_ascii_case(ext))
            .map(|&(_, lang)| lang)
    }
}
