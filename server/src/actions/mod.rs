//! Code actions from the local model: document, fix, test, explain, rewrite.
//!
//! All but [`run`] is pure (no LSP types, no llama.cpp, no IO). In the order
//! a request uses it:
//!
//! - [`offers`] lists the actions for a cursor or a selection. It runs one
//!   query over the part of the tree around the cursor and never calls the
//!   model, because editors ask for code actions on every cursor move.
//! - [`prompt::messages`] builds the chat for the action the user picked
//!   (`codeAction/resolve`), for the model's chat template.
//! - [`reply::extract_code`] takes the code out of the model's answer.
//! - [`edit::edits_for`] places that code by the language's conventions (a
//!   doc comment above the item, a test in the tests module, …) and refuses
//!   code that would break the file's syntax.
//! - [`run`] ties them together around the engine, generating the reply as
//!   a background job that completions preempt.
//!
//! Offsets are bytes throughout, like everything below `lsp/`.

pub mod edit;
pub mod prompt;
pub mod reply;
pub mod run;
mod syntax;
mod text;

#[cfg(test)]
mod tests;

use std::ops::Range;

use hearth_grammars::Lang;
use serde::{Deserialize, Serialize};
use tree_sitter::Tree;

pub use edit::{Edit, edits_for};
pub use prompt::{ChatMessage, Role, max_tokens, messages};
pub use reply::extract_code;

/// The actions Hearth offers. It travels in the code action's `data`
/// between the listing and `codeAction/resolve`, hence serde.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActionKind {
    /// Write a doc comment (or docstring) for the item.
    Document,
    /// Fix the diagnostics reported in the item.
    Fix,
    /// Write a test for the function, where the language keeps tests.
    WriteTest,
    /// Put an explanatory comment above the item.
    Explain,
    /// Rewrite the item or selection following the user's instruction.
    Rewrite,
}

impl ActionKind {
    /// The title shown in the editor's menu; `item_noun` names the target
    /// ("function", "method", "class", "selection", …).
    pub fn title(self, item_noun: &str) -> String {
        match self {
            ActionKind::Document => format!("Hearth: Document this {item_noun}"),
            ActionKind::Fix => fix_title(1),
            ActionKind::WriteTest => format!("Hearth: Write a test for this {item_noun}"),
            ActionKind::Explain => format!("Hearth: Explain this {item_noun}"),
            ActionKind::Rewrite => "Hearth: Rewrite with an instruction".to_owned(),
        }
    }
}

/// The Fix title for `count` diagnostics in the target.
fn fix_title(count: usize) -> String {
    if count > 1 {
        "Hearth: Fix these diagnostics".to_owned()
    } else {
        "Hearth: Fix this diagnostic".to_owned()
    }
}

/// A diagnostic the editor reported, in byte offsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub range: Range<usize>,
    pub message: String,
}

/// One action offered at the cursor. `target` is the item or the selection
/// (whole lines) that the action is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub kind: ActionKind,
    pub title: String,
    pub target: Range<usize>,
}

/// Why an action's reply was not turned into an edit. The messages are
/// written to be shown to the user as they are.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("Hearth: the model's answer held no code to apply")]
    NoCode,
    #[error(
        "Hearth: the model's code would break the file's syntax \
         ({errors_before} syntax errors before, {errors_after} after); nothing was changed"
    )]
    BreaksSyntax { errors_before: usize, errors_after: usize },
    #[error("Hearth: the code changed since the action was offered; ask again")]
    StaleTarget,
    #[error("Hearth: this file's tests are in another file (`mod tests;`); add the test there")]
    TestsInAnotherFile,
}

/// The actions for a cursor (an empty `selection`) or a selection, with no
/// model call.
///
/// The target is the smallest item holding the selection's start; a
/// selection over more than one line is its own target, extended to whole
/// lines. Fix needs a diagnostic that touches the target, Document and
/// Write a test need an item (and Write a test a function that is not a
/// test itself). Outside any item only a non-empty selection gets
/// something: Rewrite.
pub fn offers(
    lang: Lang,
    source: &str,
    tree: &Tree,
    selection: Range<usize>,
    diagnostics: &[Diagnostic],
) -> Vec<Offer> {
    let selection = text::clamp_range(source, selection);
    let multi_line = text::line_number(source, selection.start)
        != text::line_number(source, selection.end.max(selection.start));
    let (target, item) = if multi_line && !selection.is_empty() {
        (whole_lines(source, selection), None)
    } else {
        match syntax::item_at(lang, tree, source, selection.start) {
            Some(item) => (item.range(), Some(item)),
            None if !selection.is_empty() => {
                let title = ActionKind::Rewrite.title("selection");
                return vec![Offer { kind: ActionKind::Rewrite, title, target: selection }];
            }
            None => return Vec::new(),
        }
    };
    let noun = item.map_or("selection", |it| it.kind.noun());
    let mut offers = Vec::new();
    let mut offer = |kind: ActionKind, title: String| {
        offers.push(Offer { kind, title, target: target.clone() });
    };
    let touching = diagnostics.iter().filter(|it| touches(&it.range, &target)).count();
    if touching > 0 {
        offer(ActionKind::Fix, fix_title(touching));
    }
    if let Some(item) = item {
        offer(ActionKind::Document, ActionKind::Document.title(noun));
        if item.kind.is_callable()
            && syntax::has_body(&item)
            && !syntax::is_test(lang, source, &item)
        {
            offer(ActionKind::WriteTest, ActionKind::WriteTest.title(noun));
        }
    }
    offer(ActionKind::Explain, ActionKind::Explain.title(noun));
    offer(ActionKind::Rewrite, ActionKind::Rewrite.title(noun));
    offers
}

/// A selection extended to the lines it covers, without the last line's
/// newline. A selection ending at the start of a line (whole lines selected
/// in the usual way) does not cover that line.
fn whole_lines(source: &str, selection: Range<usize>) -> Range<usize> {
    let start = text::line_start(source, selection.start);
    let last = if selection.end > selection.start
        && text::line_start(source, selection.end) == selection.end
    {
        selection.end - 1
    } else {
        selection.end
    };
    start..text::line_end(source, last.max(start))
}

/// Whether a diagnostic overlaps the target. An empty diagnostic range (a
/// missing semicolon reported at one point) counts at the target's edges.
fn touches(diagnostic: &Range<usize>, target: &Range<usize>) -> bool {
    let start = diagnostic.start.min(diagnostic.end);
    let end = diagnostic.start.max(diagnostic.end);
    if start == end {
        target.start <= start && start <= target.end
    } else {
        start < target.end && end > target.start
    }
}
