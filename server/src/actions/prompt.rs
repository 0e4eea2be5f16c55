//! The chat prompts for the actions.
//!
//! The actions are instructions, not fill-in-the-middle, so they are asked
//! as a chat: a short system message and one user message, which the engine
//! renders with the model's own chat template. Each prompt shows the code in
//! a fenced block, states the task in the language's conventions and asks
//! for only the requested code in one fenced block, which is what
//! [`super::reply::extract_code`] takes out again. The code is shown
//! dedented; [`super::edit`] puts the indentation back.

use std::fmt::Write as _;
use std::ops::Range;

use hearth_grammars::Lang;
use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Tree};

use super::syntax::{self, Item};
use super::{ActionKind, Diagnostic, text, touches};

/// Who says a chat message, as chat templates name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    /// The role's name in chat templates: "system", "user", "assistant".
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a chat prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

/// How many bytes of imports go into a prompt that shows them.
const IMPORTS_BUDGET: usize = 1_500;

/// The chat for one action on `target` (an item's range, as
/// [`super::offers`] gave it, or a selection). `diagnostics` may hold all of
/// the file's: Fix lists those that touch the target. `instruction` is the
/// user's, for Rewrite.
pub fn messages(
    kind: ActionKind,
    lang: Lang,
    source: &str,
    tree: &Tree,
    target: Range<usize>,
    diagnostics: &[Diagnostic],
    instruction: Option<&str>,
) -> Vec<ChatMessage> {
    let target = text::clamp_range(source, target);
    let item = syntax::item_exactly(lang, tree, source, target.clone());
    let noun = item.map_or("code", |it| it.kind.noun());
    let name = item.map(|it| it.name(source)).filter(|it| !it.is_empty());
    let what = match name {
        Some(name) => format!("the {noun} `{name}`"),
        None if item.is_some() => format!("this {noun}"),
        None => "the selected code".to_owned(),
    };
    let language = language_name(lang);
    let fence = fence_tag(lang);
    let system = format!(
        "You are a careful {language} programmer. You answer with exactly what is asked, \
         in one fenced code block, and nothing else."
    );
    let mut user = String::new();
    match kind {
        ActionKind::Document => {
            let code = with_leading(lang, source, item.as_ref(), &target);
            block(&mut user, &format!("Here is {what}:"), fence, &code);
            let convention = doc_convention(lang, item.as_ref(), &what, name);
            let _ = write!(user, "Write {convention}");
            let answer = if lang == Lang::Python {
                format!(
                    "Answer with only the docstring's text, without the quotes, in one ```text \
                     block, without the {noun} itself."
                )
            } else {
                format!(
                    "Answer with only the doc comment in one ```{fence} block, without the \
                     {noun} itself."
                )
            };
            let _ = write!(user, "\n\n{answer}");
        }
        ActionKind::Fix => {
            let code = subject(source, &target);
            imports_block(&mut user, lang, tree, source, fence);
            block(&mut user, &format!("Here is {what}, which has problems:"), fence, &code);
            let first_line = text::line_number(source, target.start);
            let problems: Vec<&Diagnostic> =
                diagnostics.iter().filter(|it| touches(&it.range, &target)).collect();
            if problems.is_empty() {
                let _ = write!(user, "Fix the problems in it.");
            } else {
                let _ = writeln!(user, "The problems, by line of the code above:");
                for problem in problems {
                    let line = text::line_number(source, problem.range.start)
                        .saturating_sub(first_line)
                        + 1;
                    let message = problem.message.trim().replace('\n', " ");
                    let _ = writeln!(user, "- line {line}: {message}");
                }
                let _ = write!(user, "\nFix them.");
            }
            let whole = if item.is_some() {
                format!("the whole corrected {noun}")
            } else {
                "the whole corrected code".to_owned()
            };
            let _ = write!(
                user,
                " Change only what the fix needs and keep the rest as it is. Answer with \
                 {whole} (without the imports) in one ```{fence} block."
            );
        }
        ActionKind::WriteTest => {
            imports_block(&mut user, lang, tree, source, fence);
            let (code, holder) = with_container(lang, source, item.as_ref(), &target);
            let intro = match holder {
                Some(holder) => format!("Here is {what}, in the {holder} that holds it:"),
                None => format!("Here is {what}:"),
            };
            block(&mut user, &intro, fence, &code);
            let convention = test_convention(lang, &what, name.unwrap_or("it"));
            let _ = write!(
                user,
                "Write {convention} Use realistic inputs and check the results exactly. Answer \
                 with only the test in one ```{fence} block."
            );
        }
        ActionKind::Explain => {
            let code = with_leading(lang, source, item.as_ref(), &target);
            block(&mut user, &format!("Here is {what}:"), fence, &code);
            let _ = write!(
                user,
                "Explain what it does and how, for someone about to change it: 3 to 6 short \
                 lines of plain text, without code and without comment markers. Answer in one \
                 ```text block."
            );
        }
        ActionKind::Rewrite => {
            let code = subject(source, &target);
            block(&mut user, &format!("Here is {what}:"), fence, &code);
            let instruction = instruction
                .map(str::trim)
                .filter(|it| !it.is_empty())
                .unwrap_or("Make it clearer without changing what it does.");
            let _ = write!(
                user,
                "Rewrite it following this instruction: {instruction}\n\nKeep everything the \
                 instruction does not ask to change. Answer with the whole rewritten code in one \
                 ```{fence} block."
            );
        }
    }
    vec![
        ChatMessage { role: Role::System, content: system },
        ChatMessage { role: Role::User, content: user },
    ]
}

/// The most tokens to generate for an action on a target of
/// `target_bytes`. Fix and Rewrite answer with the whole target again, so
/// their budget grows with it (code runs at about 3.5 bytes a token; the
/// margin covers a rewrite that adds code).
pub fn max_tokens(kind: ActionKind, target_bytes: usize) -> u32 {
    match kind {
        ActionKind::Document => 160,
        ActionKind::Explain => 200,
        ActionKind::WriteTest => 320,
        ActionKind::Fix | ActionKind::Rewrite => {
            let estimate = target_bytes / 2 + 96;
            u32::try_from(estimate.clamp(128, 768)).unwrap_or(768)
        }
    }
}

/// The language as people write it.
fn language_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => "Rust",
        Lang::Python => "Python",
        Lang::JavaScript => "JavaScript",
        Lang::TypeScript => "TypeScript",
        Lang::Tsx => "TypeScript (TSX)",
        Lang::Go => "Go",
        Lang::C => "C",
        Lang::Cpp => "C++",
        Lang::Java => "Java",
        Lang::Lua => "Lua",
        Lang::Bash => "Bash",
    }
}

/// The Markdown info string for the language's code blocks.
fn fence_tag(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => "rust",
        Lang::Python => "python",
        Lang::JavaScript => "javascript",
        Lang::TypeScript => "typescript",
        Lang::Tsx => "tsx",
        Lang::Go => "go",
        Lang::C => "c",
        Lang::Cpp => "cpp",
        Lang::Java => "java",
        Lang::Lua => "lua",
        Lang::Bash => "bash",
    }
}

/// Appends `intro` and `code` in a fenced block.
fn block(out: &mut String, intro: &str, fence: &str, code: &str) {
    let _ = write!(out, "{intro}\n\n```{fence}\n{code}\n```\n\n");
}

/// Appends the file's imports, when it has any.
fn imports_block(out: &mut String, lang: Lang, tree: &Tree, source: &str, fence: &str) {
    let imports = syntax::imports(lang, tree, source, IMPORTS_BUDGET);
    if !imports.is_empty() {
        block(out, "The file's imports:", fence, &imports);
    }
}

/// The target's text, from the start of its first line when only blanks
/// precede it there, dedented.
fn subject(source: &str, target: &Range<usize>) -> String {
    let start = if text::starts_its_line(source, target.start) {
        text::line_start(source, target.start)
    } else {
        target.start
    };
    text::dedent(text::slice(source, start..target.end))
}

/// The item with the attributes, decorators and comments that belong to it
/// (an existing doc comment is worth improving on), dedented.
fn with_leading(
    lang: Lang,
    source: &str,
    item: Option<&Item<'_>>,
    target: &Range<usize>,
) -> String {
    let Some(item) = item else {
        return subject(source, target);
    };
    let anchor = syntax::anchor(source, item.node);
    let first = syntax::leading_nodes(lang, source, anchor).first().map_or(anchor, |it| *it);
    let start = text::line_start(source, first.start_byte().min(target.start));
    text::dedent(text::slice(source, start..target.end))
}

/// Up to this size a method's class or impl is shown whole for Write a
/// test: its constructor and fields say how to build a value to call the
/// method on.
const WHOLE_CONTAINER_BYTES: usize = 3_000;

/// A method inside its class or impl, so the model knows what to construct
/// (a large one is cut to its first and last lines); other items as they
/// are. The second value names the container, if there is one.
fn with_container(
    lang: Lang,
    source: &str,
    item: Option<&Item<'_>>,
    target: &Range<usize>,
) -> (String, Option<&'static str>) {
    let code = with_leading(lang, source, item, target);
    let Some((item, holder)) = item.and_then(|it| Some((it, syntax::container(it.node)?))) else {
        return (code, None);
    };
    let noun = container_noun(holder.kind());
    // A Rust impl says nothing of the type's fields: its definition comes
    // first.
    let definition = if lang == Lang::Rust { self_type_definition(source, holder) } else { None };
    let definition = definition.map(|it| format!("{it}\n\n")).unwrap_or_default();
    let header_start = text::line_start(source, syntax::anchor(source, holder).start_byte());
    if holder.end_byte() - header_start <= WHOLE_CONTAINER_BYTES {
        let whole = text::dedent(text::slice(source, header_start..holder.end_byte()));
        return (format!("{definition}{whole}"), Some(noun));
    }
    let indent = text::indentation(source, item.node.start_byte());
    let holder_indent = text::indentation(source, holder.start_byte());
    let header = text::slice(source, header_start..text::line_end(source, holder.start_byte()));
    let mut out = format!("{header}\n{indent}{} …\n", lang.line_comment());
    out.push_str(&text::indent_lines(&code, indent));
    // Languages with braces close the holder on a line of its own.
    let last_line = text::slice(
        source,
        text::line_start(source, holder.end_byte().saturating_sub(1))..holder.end_byte(),
    );
    if last_line.trim_start().starts_with('}') && holder.end_byte() > item.node.end_byte() {
        let _ = write!(out, "\n{holder_indent}{}", last_line.trim_start());
    }
    (format!("{definition}{}", text::dedent(&out)), Some(noun))
}

/// The top-level struct or enum an impl is for, when it is small.
fn self_type_definition<'s>(source: &'s str, impl_item: Node<'_>) -> Option<&'s str> {
    const MAX_BYTES: usize = 1_500;
    let self_type = impl_item.child_by_field_name("type")?;
    // `Stack<T>` is defined as `Stack`.
    let name = self_type.child_by_field_name("type").unwrap_or(self_type);
    let name = text::slice(source, name.byte_range());
    let mut root = impl_item;
    while let Some(parent) = root.parent() {
        root = parent;
    }
    let mut cursor = root.walk();
    let definition = root.named_children(&mut cursor).find(|it| {
        matches!(it.kind(), "struct_item" | "enum_item")
            && it
                .child_by_field_name("name")
                .is_some_and(|it| text::slice(source, it.byte_range()) == name)
    })?;
    let start = text::line_start(source, definition.start_byte());
    (definition.end_byte() - start <= MAX_BYTES)
        .then(|| text::slice(source, start..definition.end_byte()))
}

/// How people call the node that holds a method.
fn container_noun(kind: &str) -> &'static str {
    match kind {
        "impl_item" => "impl",
        "trait_item" => "trait",
        "interface_declaration" => "interface",
        "struct_specifier" => "struct",
        "enum_declaration" => "enum",
        "record_declaration" => "record",
        _ => "class",
    }
}

/// What a doc comment looks like in the language, as a task.
fn doc_convention(lang: Lang, item: Option<&Item<'_>>, what: &str, name: Option<&str>) -> String {
    let callable = item.is_some_and(|it| it.kind.is_callable());
    match lang {
        Lang::Rust => format!(
            "a doc comment for {what}: `///` lines with a one-line summary, then \
             details where they help{}.",
            if callable {
                " (`# Errors` and `# Panics` sections only when they apply)"
            } else {
                ""
            }
        ),
        Lang::Python => format!(
            "a docstring for {what} (PEP 257): a one-line summary, then a blank \
             line and details where they help{}.",
            if callable { " (Args, Returns and Raises sections, Google style)" } else { "" }
        ),
        Lang::JavaScript => format!(
            "a JSDoc comment for {what}: `/** … */` with a one-line summary{}.",
            if callable { ", then `@param {type} name` and `@returns {type}` tags" } else { "" }
        ),
        Lang::TypeScript | Lang::Tsx => format!(
            "a TSDoc comment for {what}: `/** … */` with a one-line summary{}.",
            if callable { ", then `@param name` and `@returns` tags, without types" } else { "" }
        ),
        Lang::Java => format!(
            "a Javadoc comment for {what}: `/** … */` with a one-line summary{}.",
            if callable {
                ", then `@param`, `@return` and `@throws` tags where they apply"
            } else {
                ""
            }
        ),
        Lang::C | Lang::Cpp => format!(
            "a Doxygen comment for {what}: `/** … */` starting with `@brief` and a \
             one-line summary{}.",
            if callable { ", then `@param` and `@return` where they apply" } else { "" }
        ),
        Lang::Go => match name {
            Some(name) => format!(
                "a Go doc comment for {what}: `//` lines forming full sentences, the first of \
                 which starts with the name `{name}`."
            ),
            None => format!("a Go doc comment for {what}: `//` lines forming full sentences."),
        },
        Lang::Lua => format!(
            "a LuaCATS doc comment for {what}: `---` lines with a one-line \
             summary{}.",
            if callable { ", then `---@param name type` and `---@return type` lines" } else { "" }
        ),
        Lang::Bash => format!(
            "a comment header for {what}: `#` lines saying what it does, its \
             arguments (`$1`, …), what it prints and its exit status."
        ),
    }
}

/// What a test looks like in the language, as a task.
fn test_convention(lang: Lang, what: &str, name: &str) -> String {
    let capitalised = {
        let mut chars = name.chars();
        chars
            .next()
            .map(|it| it.to_uppercase().chain(chars).collect::<String>())
            .unwrap_or_default()
    };
    let snake = name.trim_start_matches('_');
    match lang {
        Lang::Rust => format!(
            "one unit test for {what}: a `#[test]` function named `{snake}_works` that \
             calls it and checks the results with `assert_eq!` or `assert!`. It goes into the \
             file's `mod tests`, which has `use super::*;`, so write only the function, not \
             the module."
        ),
        Lang::Python => format!(
            "one pytest test function, named `test_{snake}` or `test_{snake}_…`, that calls \
             {what} and checks the results with plain `assert` statements. It goes at \
             the top level of the same module, after the definition, so use the module's names \
             directly, without importing it."
        ),
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => format!(
            "one self-contained test function, `function test{capitalised}()`, that calls \
             {what} and throws an `Error` when a check fails, without a test \
             framework. It goes at the top level of the same file, after the definition."
        ),
        Lang::Go => format!(
            "one test function, `func Test{capitalised}(t *testing.T)`, that calls {what} and \
             reports failures with `t.Errorf`. It goes in the same package; \
             assume `testing` is imported."
        ),
        Lang::C => format!(
            "one test function, `static void test_{snake}(void)`, that calls {what} and checks \
             the results with `assert`; assume `<assert.h>` is included."
        ),
        Lang::Cpp => format!(
            "one test function, `static void test_{snake}()`, that calls {what} \
             and checks the results with `assert`; assume `<cassert>` is included."
        ),
        Lang::Java => format!(
            "one test method, `static void test{capitalised}()`, for the same class, that calls \
             {what} and throws an `AssertionError` when a check fails."
        ),
        Lang::Lua => format!(
            "one test function, `local function test_{snake}()`, that calls {what} and checks \
             the results with `assert`."
        ),
        Lang::Bash => format!(
            "one test function, `test_{snake}()`, that calls {what} and, when a \
             check fails, prints a message to stderr and returns 1."
        ),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::documents::parse_fresh;

    fn render(
        kind: ActionKind,
        lang: Lang,
        fixture: &str,
        diagnostics: &[(&str, &str)],
        instruction: Option<&str>,
    ) -> String {
        let (source, cursor) = super::super::tests::fixture(fixture);
        let tree = parse_fresh(lang, &source).unwrap();
        let offers = super::super::offers(lang, &source, &tree, cursor, &[]);
        let target = offers.first().map(|it| it.target.clone()).unwrap();
        let diagnostics: Vec<Diagnostic> = diagnostics
            .iter()
            .map(|(at, message)| {
                let start = source.find(at).unwrap();
                Diagnostic { range: start..start + at.len(), message: (*message).to_owned() }
            })
            .collect();
        messages(kind, lang, &source, &tree, target, &diagnostics, instruction)
            .iter()
            .map(|it| format!("[{}]\n{}\n", it.role.as_str(), it.content))
            .collect()
    }

    const RUST: &str = "use std::collections::HashMap;\n\nstruct Counts(HashMap<String, u32>);\n\nimpl Counts {\n    /// Old doc.\n    pub fn add(&mut self, word: &str) -> u32 {\n        $0let n = self.0.entry(word.to_owned()).or_insert(0);\n        *n += 1;\n        *n\n    }\n}\n";

    #[test]
    fn document_shows_the_existing_doc() {
        expect![[r#"
            [system]
            You are a careful Rust programmer. You answer with exactly what is asked, in one fenced code block, and nothing else.
            [user]
            Here is the method `add`:

            ```rust
            /// Old doc.
            pub fn add(&mut self, word: &str) -> u32 {
                let n = self.0.entry(word.to_owned()).or_insert(0);
                *n += 1;
                *n
            }
            ```

            Write a doc comment for the method `add`: `///` lines with a one-line summary, then details where they help (`# Errors` and `# Panics` sections only when they apply).

            Answer with only the doc comment in one ```rust block, without the method itself.
        "#]]
        .assert_eq(&render(ActionKind::Document, Lang::Rust, RUST, &[], None));
    }

    #[test]
    fn fix_lists_diagnostics_by_line_of_the_item() {
        expect![[r#"
            [system]
            You are a careful Rust programmer. You answer with exactly what is asked, in one fenced code block, and nothing else.
            [user]
            The file's imports:

            ```rust
            use std::collections::HashMap;
            ```

            Here is the method `add`, which has problems:

            ```rust
            pub fn add(&mut self, word: &str) -> u32 {
                let n = self.0.entry(word.to_owned()).or_insert(0);
                *n += 1;
                *n
            }
            ```

            The problems, by line of the code above:
            - line 3: cannot add `{integer}` to `&mut u32`

            Fix them. Change only what the fix needs and keep the rest as it is. Answer with the whole corrected method (without the imports) in one ```rust block.
        "#]]
        .assert_eq(&render(
            ActionKind::Fix,
            Lang::Rust,
            RUST,
            &[("*n += 1", "cannot add `{integer}` to `&mut u32`"), ("struct", "unrelated")],
            None,
        ));
    }

    #[test]
    fn write_test_shows_the_method_in_its_impl() {
        expect![[r#"
            [system]
            You are a careful Rust programmer. You answer with exactly what is asked, in one fenced code block, and nothing else.
            [user]
            The file's imports:

            ```rust
            use std::collections::HashMap;
            ```

            Here is the method `add`, in the impl that holds it:

            ```rust
            struct Counts(HashMap<String, u32>);

            impl Counts {
                /// Old doc.
                pub fn add(&mut self, word: &str) -> u32 {
                    let n = self.0.entry(word.to_owned()).or_insert(0);
                    *n += 1;
                    *n
                }
            }
            ```

            Write one unit test for the method `add`: a `#[test]` function named `add_works` that calls it and checks the results with `assert_eq!` or `assert!`. It goes into the file's `mod tests`, which has `use super::*;`, so write only the function, not the module. Use realistic inputs and check the results exactly. Answer with only the test in one ```rust block.
        "#]]
        .assert_eq(&render(ActionKind::WriteTest, Lang::Rust, RUST, &[], None));
    }

    #[test]
    fn python_prompts() {
        let python = "import math\n\nclass Circle:\n    def area(self):\n        $0return math.pi * self.r ** 2\n";
        expect![[r#"
            [system]
            You are a careful Python programmer. You answer with exactly what is asked, in one fenced code block, and nothing else.
            [user]
            Here is the method `area`:

            ```python
            def area(self):
                return math.pi * self.r ** 2
            ```

            Write a docstring for the method `area` (PEP 257): a one-line summary, then a blank line and details where they help (Args, Returns and Raises sections, Google style).

            Answer with only the docstring's text, without the quotes, in one ```text block, without the method itself.
        "#]]
        .assert_eq(&render(ActionKind::Document, Lang::Python, python, &[], None));
        expect![[r#"
            [system]
            You are a careful Python programmer. You answer with exactly what is asked, in one fenced code block, and nothing else.
            [user]
            Here is the method `area`:

            ```python
            def area(self):
                return math.pi * self.r ** 2
            ```

            Rewrite it following this instruction: use r * r

            Keep everything the instruction does not ask to change. Answer with the whole rewritten code in one ```python block.
        "#]]
        .assert_eq(&render(ActionKind::Rewrite, Lang::Python, python, &[], Some(" use r * r ")));
    }

    #[test]
    fn token_budgets() {
        assert_eq!(max_tokens(ActionKind::Document, 10_000), 160);
        assert_eq!(max_tokens(ActionKind::Fix, 10), 128);
        assert_eq!(max_tokens(ActionKind::Rewrite, 600), 396);
        assert_eq!(max_tokens(ActionKind::Fix, 1_000_000), 768);
    }
}
