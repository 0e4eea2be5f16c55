//! The tree-sitter queries shipped for each language.
//!
//! Query sources live in `queries/<lang>/*.scm` so they can be read and
//! edited as ordinary tree-sitter queries. Compiling a query walks the whole
//! grammar, so each one is compiled on first use and cached for the life of
//! the process.
//!
//! Capture conventions, which the server relies on:
//! - items queries capture `@item` on the whole definition node and `@name`
//!   on the node holding its name, exactly once per definition;
//! - imports queries capture `@import` on the whole import statement,
//!   exactly once per statement;
//! - captures starting with `_` are internal helpers for predicates and carry
//!   no meaning for callers.

use std::sync::OnceLock;

use tree_sitter::Query;

use crate::Lang;

/// One compiled query per language, indexed by [`Lang::index`].
type Cache = [OnceLock<Query>; Lang::ALL.len()];

static ITEMS: Cache = [const { OnceLock::new() }; Lang::ALL.len()];
static IMPORTS: Cache = [const { OnceLock::new() }; Lang::ALL.len()];

impl Lang {
    /// Tree-sitter query that captures top-level and nested definitions:
    /// `@item` on the whole definition node (function, method,
    /// struct/class/enum/trait/impl/interface/type alias) and `@name` on its
    /// name.
    pub fn items_query(self) -> &'static Query {
        ITEMS[self.index()].get_or_init(|| compile(self, "items", self.items_source()))
    }

    /// Tree-sitter query capturing `@import` on import/use/include/require
    /// statements (for Lua: top-level `require` calls; for Bash: `source`/`.`
    /// commands).
    pub fn imports_query(self) -> &'static Query {
        IMPORTS[self.index()].get_or_init(|| compile(self, "imports", self.imports_source()))
    }

    pub(crate) fn items_source(self) -> &'static str {
        match self {
            Lang::Rust => include_str!("../queries/rust/items.scm"),
            Lang::Python => include_str!("../queries/python/items.scm"),
            Lang::JavaScript => include_str!("../queries/javascript/items.scm"),
            // TSX is TypeScript plus JSX expressions, and definitions never
            // live inside JSX, so both grammars share one set of queries.
            Lang::TypeScript | Lang::Tsx => include_str!("../queries/typescript/items.scm"),
            Lang::Go => include_str!("../queries/go/items.scm"),
            Lang::C => include_str!("../queries/c/items.scm"),
            Lang::Cpp => include_str!("../queries/cpp/items.scm"),
            Lang::Java => include_str!("../queries/java/items.scm"),
            Lang::Lua => include_str!("../queries/lua/items.scm"),
            Lang::Bash => include_str!("../queries/bash/items.scm"),
        }
    }

    pub(crate) fn imports_source(self) -> &'static str {
        match self {
            Lang::Rust => include_str!("../queries/rust/imports.scm"),
            Lang::Python => include_str!("../queries/python/imports.scm"),
            Lang::JavaScript => include_str!("../queries/javascript/imports.scm"),
            Lang::TypeScript | Lang::Tsx => include_str!("../queries/typescript/imports.scm"),
            Lang::Go => include_str!("../queries/go/imports.scm"),
            Lang::C => include_str!("../queries/c/imports.scm"),
            Lang::Cpp => include_str!("../queries/cpp/imports.scm"),
            Lang::Java => include_str!("../queries/java/imports.scm"),
            Lang::Lua => include_str!("../queries/lua/imports.scm"),
            Lang::Bash => include_str!("../queries/bash/imports.scm"),
        }
    }
}

/// Compiles one of the shipped queries.
///
/// The sources are fixed at build time and every one of them is compiled by
/// the test suite, so a failure here is a bug in this crate rather than
/// something a caller could handle; panicking with the language and the
/// query's name makes that bug easy to find.
fn compile(lang: Lang, what: &str, source: &str) -> Query {
    Query::new(&lang.ts_language(), source).unwrap_or_else(|err| {
        panic!("the shipped {what} query for {} is invalid: {err}", lang.name())
    })
}
