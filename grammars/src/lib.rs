//! Tree-sitter languages and the queries Hearth runs over them.
//!
//! Everything Hearth knows about a programming language lives here: how an
//! editor or a file name identifies it, which tree-sitter grammar parses it,
//! and the queries that pull definitions and imports out of a syntax tree.
//! The server only ever talks to [`Lang`], so adding a language means adding
//! a variant, a grammar dependency and two `.scm` files under `queries/`.

mod detect;
mod queries;

#[cfg(test)]
mod tests;

/// A language Hearth can parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    C,
    Cpp,
    Java,
    Lua,
    Bash,
}

impl Lang {
    /// Every language, in declaration order.
    pub const ALL: &'static [Lang] = &[
        Lang::Rust,
        Lang::Python,
        Lang::JavaScript,
        Lang::TypeScript,
        Lang::Tsx,
        Lang::Go,
        Lang::C,
        Lang::Cpp,
        Lang::Java,
        Lang::Lua,
        Lang::Bash,
    ];

    /// Canonical name, e.g. "rust", "typescriptreact" for Tsx.
    ///
    /// Names follow the LSP `languageId`s editors send, so
    /// `Lang::from_language_id(lang.name())` always round-trips.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "typescriptreact",
            Lang::Go => "go",
            Lang::C => "c",
            Lang::Cpp => "cpp",
            Lang::Java => "java",
            Lang::Lua => "lua",
            Lang::Bash => "shellscript",
        }
    }

    /// The tree-sitter language.
    pub fn ts_language(self) -> tree_sitter::Language {
        let language_fn = match self {
            Lang::Rust => tree_sitter_rust::LANGUAGE,
            Lang::Python => tree_sitter_python::LANGUAGE,
            // The JavaScript grammar parses JSX as well, so `.jsx` files and
            // the `javascriptreact` language id need no grammar of their own.
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE,
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT,
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX,
            Lang::Go => tree_sitter_go::LANGUAGE,
            Lang::C => tree_sitter_c::LANGUAGE,
            Lang::Cpp => tree_sitter_cpp::LANGUAGE,
            Lang::Java => tree_sitter_java::LANGUAGE,
            Lang::Lua => tree_sitter_lua::LANGUAGE,
            Lang::Bash => tree_sitter_bash::LANGUAGE,
        };
        tree_sitter::Language::new(language_fn)
    }

    /// The language's line comment prefix ("//", "#", "--").
    pub fn line_comment(self) -> &'static str {
        match self {
            Lang::Rust
            | Lang::JavaScript
            | Lang::TypeScript
            | Lang::Tsx
            | Lang::Go
            | Lang::C
            | Lang::Cpp
            | Lang::Java => "//",
            Lang::Python | Lang::Bash => "#",
            Lang::Lua => "--",
        }
    }

    /// Position of the language in [`Lang::ALL`], used to index per-language
    /// caches without hashing.
    fn index(self) -> usize {
        self as usize
    }
}
