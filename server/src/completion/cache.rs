//! Recent suggestions, to answer without the model.
//!
//! One structure serves two purposes. Typing ahead: when the user types the
//! first characters of the suggestion on screen, the rest of it is still the
//! answer, so it comes back at once. Coming back: asking again in a state seen
//! recently (same text around the cursor) returns the same suggestion. Entries
//! match on the exact prefix and suffix windows the model saw, so a suggestion
//! is never reused after the surrounding text changed.

use std::collections::VecDeque;

use crate::context::FimContext;

/// How many suggestions are kept.
const CAPACITY: usize = 64;

/// What the cache knows about a state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The rest of a suggestion that continues what is typed.
    Rest(String),
    /// A suggestion for this line was typed to its end.
    TypedOut,
    Miss,
}

#[derive(Default)]
pub struct SuggestionCache {
    /// Most recently used first.
    entries: VecDeque<Entry>,
}

struct Entry {
    prefix: String,
    suffix: String,
    /// The cursor line up to the cursor, followed by the suggestion.
    line: String,
}

impl SuggestionCache {
    /// The rest of a cached suggestion that continues what is typed at `ctx`.
    pub fn lookup(&mut self, ctx: &FimContext) -> Lookup {
        let continues = |entry: &Entry| {
            entry.prefix == ctx.prefix
                && entry.suffix == ctx.suffix
                && entry.line.starts_with(&ctx.middle)
        };
        let Some(found) = self.entries.iter().position(|entry| {
            continues(entry) && !entry.line[ctx.middle.len()..].trim().is_empty()
        }) else {
            // The whole suggestion typed out (or accepted): it said all
            // there was to say on this line.
            let typed_out = self
                .entries
                .iter()
                .any(|entry| continues(entry) && entry.line.trim_end() == ctx.middle.trim_end());
            return if typed_out { Lookup::TypedOut } else { Lookup::Miss };
        };
        let Some(entry) = self.entries.remove(found) else { return Lookup::Miss };
        let rest = entry.line[ctx.middle.len()..].to_owned();
        self.entries.push_front(entry);
        Lookup::Rest(rest)
    }

    pub fn insert(&mut self, ctx: &FimContext, suggestion: &str) {
        let line = format!("{}{suggestion}", ctx.middle);
        self.entries
            .retain(|it| !(it.prefix == ctx.prefix && it.suffix == ctx.suffix && it.line == line));
        self.entries.push_front(Entry {
            prefix: ctx.prefix.clone(),
            suffix: ctx.suffix.clone(),
            line,
        });
        self.entries.truncate(CAPACITY);
    }
}

#[cfg(test)]
impl Lookup {
    fn rest(self) -> Option<String> {
        match self {
            Lookup::Rest(rest) => Some(rest),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::fixture as ctx;

    #[test]
    fn typing_the_suggestion_keeps_the_rest() {
        let mut cache = SuggestionCache::default();
        cache.insert(&ctx("fn f() {\n    let x$0\n}\n"), " = vec![1, 2];");
        assert_eq!(
            cache.lookup(&ctx("fn f() {\n    let x $0\n}\n")).rest().as_deref(),
            Some("= vec![1, 2];")
        );
        assert_eq!(
            cache.lookup(&ctx("fn f() {\n    let x = vec!$0\n}\n")).rest().as_deref(),
            Some("[1, 2];")
        );
        // Backspace returns to a state seen before.
        assert_eq!(
            cache.lookup(&ctx("fn f() {\n    let x$0\n}\n")).rest().as_deref(),
            Some(" = vec![1, 2];")
        );
    }

    #[test]
    fn a_different_keystroke_or_context_misses() {
        let mut cache = SuggestionCache::default();
        cache.insert(&ctx("fn f() {\n    let x$0\n}\n"), " = 1;");
        assert_eq!(cache.lookup(&ctx("fn f() {\n    let xy$0\n}\n")), Lookup::Miss);
        assert_eq!(cache.lookup(&ctx("fn g() {\n    let x$0\n}\n")), Lookup::Miss);
        assert_eq!(cache.lookup(&ctx("fn f() {\n    let x$0\n}\n// more\n")), Lookup::Miss);
        // Nothing is left to suggest once the suggestion is typed out.
        assert_eq!(cache.lookup(&ctx("fn f() {\n    let x = 1;$0\n}\n")), Lookup::TypedOut);
    }

    #[test]
    fn keeps_the_most_recent_entries() {
        let mut cache = SuggestionCache::default();
        for i in 0..CAPACITY + 5 {
            cache.insert(&ctx(&format!("let v{i}$0")), " = 0;");
        }
        assert_eq!(cache.lookup(&ctx("let v0$0")), Lookup::Miss);
        assert_eq!(
            cache.lookup(&ctx(&format!("let v{}$0", CAPACITY + 4))).rest().as_deref(),
            Some(" = 0;")
        );
    }
}
