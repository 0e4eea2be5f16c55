//! Tests of the offers, and the fixture helpers the actions' tests share.

use std::fmt::Write as _;
use std::ops::Range;

use expect_test::{Expect, expect};
use proptest::prelude::*;

use super::*;
use crate::documents::parse_fresh;

/// A fixture's text without its markers, and the selection they mark: `$0`
/// is the cursor, `$0…$1` a selection.
pub(super) fn fixture(fixture: &str) -> (String, Range<usize>) {
    let start = fixture.find("$0").expect("a fixture marks the cursor with $0");
    let text = fixture.replacen("$0", "", 1);
    match text.find("$1") {
        Some(end) => (text.replacen("$1", "", 1), start..end),
        None => (text, start..start),
    }
}

/// The offers at the fixture's cursor, one a line: kind, title and the
/// target's first line (and last, when it has more).
fn render_offers(lang: Lang, fixture_text: &str, diagnostics_at: &[&str]) -> String {
    let (source, selection) = fixture(fixture_text);
    let tree = parse_fresh(lang, &source).unwrap();
    let diagnostics: Vec<Diagnostic> = diagnostics_at
        .iter()
        .map(|at| {
            let start = source.find(at).unwrap();
            Diagnostic { range: start..start + at.len(), message: format!("bad `{at}`") }
        })
        .collect();
    let mut out = String::new();
    for offer in offers(lang, &source, &tree, selection, &diagnostics) {
        let target = &source[offer.target.clone()];
        let first = target.lines().next().unwrap_or_default();
        let last = target.lines().last().filter(|_| target.lines().count() > 1);
        let _ = write!(out, "{:?} {:?}: {first}", offer.kind, offer.title);
        if let Some(last) = last {
            let _ = write!(out, " … {}", last.trim());
        }
        out.push('\n');
    }
    out
}

fn check(lang: Lang, fixture_text: &str, diagnostics_at: &[&str], expect: Expect) {
    expect.assert_eq(&render_offers(lang, fixture_text, diagnostics_at));
}

const RUST: &str = r#"use std::fmt;

/// A stack of numbers.
#[derive(Debug, Default)]
pub struct Stack {
    items: Vec<i32>,
}

impl Stack {
    pub fn push(&mut self, x: i32) {
        self.items.push(x);
    }

    pub fn pop(&mut self) -> Option<i32> {
        self.items.pop()
    }
}

pub fn total(stack: &Stack) -> i32 {
    stack.items.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals() {
        assert_eq!(total(&Stack::default()), 0);
    }
}
"#;

/// [`RUST`] with `$0` put before the first occurrence of `at`.
fn rust_at(at: &str) -> String {
    let offset = RUST.find(at).unwrap();
    format!("{}$0{}", &RUST[..offset], &RUST[offset..])
}

#[test]
fn rust_method_in_an_impl() {
    check(
        Lang::Rust,
        &rust_at("self.items.push"),
        &[],
        expect![[r#"
            Document "Hearth: Document this method": pub fn push(&mut self, x: i32) { … }
            WriteTest "Hearth: Write a test for this method": pub fn push(&mut self, x: i32) { … }
            Explain "Hearth: Explain this method": pub fn push(&mut self, x: i32) { … }
            Rewrite "Hearth: Rewrite with an instruction": pub fn push(&mut self, x: i32) { … }
        "#]],
    );
}

#[test]
fn rust_top_level_function_with_diagnostics() {
    check(
        Lang::Rust,
        &rust_at("pub fn total"),
        &["stack.items.iter()"],
        expect![[r#"
            Fix "Hearth: Fix this diagnostic": pub fn total(stack: &Stack) -> i32 { … }
            Document "Hearth: Document this function": pub fn total(stack: &Stack) -> i32 { … }
            WriteTest "Hearth: Write a test for this function": pub fn total(stack: &Stack) -> i32 { … }
            Explain "Hearth: Explain this function": pub fn total(stack: &Stack) -> i32 { … }
            Rewrite "Hearth: Rewrite with an instruction": pub fn total(stack: &Stack) -> i32 { … }
        "#]],
    );
    // Two diagnostics in the item, one elsewhere.
    let offers = render_offers(Lang::Rust, &rust_at("pub fn total"), &["-> i32", "sum()", "Vec"]);
    assert!(offers.starts_with("Fix \"Hearth: Fix these diagnostics\""), "{offers}");
}

#[test]
fn diagnostics_outside_the_item_offer_no_fix() {
    let offers = render_offers(Lang::Rust, &rust_at("self.items.pop"), &["self.items.push"]);
    assert!(!offers.contains("Fix"), "{offers}");
}

#[test]
fn rust_struct_from_its_attribute_or_doc() {
    check(
        Lang::Rust,
        &rust_at("#[derive"),
        &[],
        expect![[r#"
            Document "Hearth: Document this struct": pub struct Stack { … }
            Explain "Hearth: Explain this struct": pub struct Stack { … }
            Rewrite "Hearth: Rewrite with an instruction": pub struct Stack { … }
        "#]],
    );
    assert_eq!(
        render_offers(Lang::Rust, &rust_at("A stack"), &[]),
        render_offers(Lang::Rust, &rust_at("#[derive"), &[])
    );
}

#[test]
fn a_test_function_gets_no_test() {
    check(
        Lang::Rust,
        &rust_at("assert_eq!"),
        &[],
        expect![[r#"
            Document "Hearth: Document this function": fn totals() { … }
            Explain "Hearth: Explain this function": fn totals() { … }
            Rewrite "Hearth: Rewrite with an instruction": fn totals() { … }
        "#]],
    );
    // Nor does a cursor on its `#[test]`.
    assert_eq!(
        render_offers(Lang::Rust, &rust_at("#[test]"), &[]),
        render_offers(Lang::Rust, &rust_at("assert_eq!"), &[])
    );
}

#[test]
fn impl_and_module_level() {
    check(
        Lang::Rust,
        &rust_at("\n    pub fn pop"),
        &[],
        expect![[r#"
            Document "Hearth: Document this impl": impl Stack { … }
            Explain "Hearth: Explain this impl": impl Stack { … }
            Rewrite "Hearth: Rewrite with an instruction": impl Stack { … }
        "#]],
    );
    // Outside every item there is nothing to offer for a cursor.
    check(Lang::Rust, &rust_at("use std"), &[], expect![[""]]);
}

#[test]
fn a_multi_line_selection_is_its_own_target() {
    let offset = RUST.find("self.items.push").unwrap();
    let end = RUST.find("\n    pub fn pop").unwrap();
    let fixture = format!("{}$0{}$1{}", &RUST[..offset], &RUST[offset..end], &RUST[end..]);
    check(
        Lang::Rust,
        &fixture,
        &[],
        expect![[r#"
            Explain "Hearth: Explain this selection":         self.items.push(x); … }
            Rewrite "Hearth: Rewrite with an instruction":         self.items.push(x); … }
        "#]],
    );
    // A one-line selection is about the item around it.
    let fixture = format!("{}$0self$1{}", &RUST[..offset], &RUST[offset + 4..]);
    assert!(
        render_offers(Lang::Rust, &fixture, &[])
            .starts_with("Document \"Hearth: Document this method\"")
    );
}

#[test]
fn a_selection_outside_items_can_be_rewritten() {
    check(
        Lang::Rust,
        "use std::$0fmt$1;\n",
        &[],
        expect![[r#"
            Rewrite "Hearth: Rewrite with an instruction": fmt
        "#]],
    );
}

#[test]
fn selection_of_whole_lines_ends_before_the_next() {
    let (source, selection) = fixture("fn f() {\n$0    let a = 1;\n    let b = 2;\n$1}\n");
    let tree = parse_fresh(Lang::Rust, &source).unwrap();
    let offers = offers(Lang::Rust, &source, &tree, selection, &[]);
    assert_eq!(&source[offers[0].target.clone()], "    let a = 1;\n    let b = 2;");
}

const PYTHON: &str = r#"import math


class Circle:
    """A circle."""

    def __init__(self, r):
        self.r = r

    @property
    def area(self):
        return math.pi * self.r ** 2


def test_area():
    assert Circle(1).area > 3
"#;

fn python_at(at: &str) -> String {
    let offset = PYTHON.find(at).unwrap();
    format!("{}$0{}", &PYTHON[..offset], &PYTHON[offset..])
}

#[test]
fn python_method_in_a_class() {
    check(
        Lang::Python,
        &python_at("return math.pi"),
        &[],
        expect![[r#"
            Document "Hearth: Document this method": def area(self): … return math.pi * self.r ** 2
            WriteTest "Hearth: Write a test for this method": def area(self): … return math.pi * self.r ** 2
            Explain "Hearth: Explain this method": def area(self): … return math.pi * self.r ** 2
            Rewrite "Hearth: Rewrite with an instruction": def area(self): … return math.pi * self.r ** 2
        "#]],
    );
    check(
        Lang::Python,
        &python_at("\"\"\"A circle"),
        &["math.pi"],
        expect![[r#"
            Fix "Hearth: Fix this diagnostic": class Circle: … return math.pi * self.r ** 2
            Document "Hearth: Document this class": class Circle: … return math.pi * self.r ** 2
            Explain "Hearth: Explain this class": class Circle: … return math.pi * self.r ** 2
            Rewrite "Hearth: Rewrite with an instruction": class Circle: … return math.pi * self.r ** 2
        "#]],
    );
}

#[test]
fn python_test_function_gets_no_test() {
    check(
        Lang::Python,
        &python_at("assert Circle"),
        &[],
        expect![[r#"
            Document "Hearth: Document this function": def test_area(): … assert Circle(1).area > 3
            Explain "Hearth: Explain this function": def test_area(): … assert Circle(1).area > 3
            Rewrite "Hearth: Rewrite with an instruction": def test_area(): … assert Circle(1).area > 3
        "#]],
    );
}

const TYPESCRIPT: &str = r#"import { readFile } from "fs";

export interface Shape {
  area(): number;
}

export class Square implements Shape {
  constructor(private side: number) {}

  area(): number {
    return this.side * this.side;
  }
}

export const double = (x: number): number => x * 2;
"#;

fn typescript_at(at: &str) -> String {
    let offset = TYPESCRIPT.find(at).unwrap();
    format!("{}$0{}", &TYPESCRIPT[..offset], &TYPESCRIPT[offset..])
}

#[test]
fn typescript_items() {
    check(
        Lang::TypeScript,
        &typescript_at("this.side *"),
        &[],
        expect![[r#"
            Document "Hearth: Document this method": area(): number { … }
            WriteTest "Hearth: Write a test for this method": area(): number { … }
            Explain "Hearth: Explain this method": area(): number { … }
            Rewrite "Hearth: Rewrite with an instruction": area(): number { … }
        "#]],
    );
    // An interface's method has no body to test.
    check(
        Lang::TypeScript,
        &typescript_at("area(): number;"),
        &[],
        expect![[r#"
            Document "Hearth: Document this method": area(): number
            Explain "Hearth: Explain this method": area(): number
            Rewrite "Hearth: Rewrite with an instruction": area(): number
        "#]],
    );
    check(
        Lang::TypeScript,
        &typescript_at("x * 2"),
        &[],
        expect![[r#"
            Document "Hearth: Document this function": double = (x: number): number => x * 2
            WriteTest "Hearth: Write a test for this function": double = (x: number): number => x * 2
            Explain "Hearth: Explain this function": double = (x: number): number => x * 2
            Rewrite "Hearth: Rewrite with an instruction": double = (x: number): number => x * 2
        "#]],
    );
    check(
        Lang::TypeScript,
        &typescript_at("class Square"),
        &[],
        expect![[r#"
            Document "Hearth: Document this class": class Square implements Shape { … }
            Explain "Hearth: Explain this class": class Square implements Shape { … }
            Rewrite "Hearth: Rewrite with an instruction": class Square implements Shape { … }
        "#]],
    );
}

#[test]
fn titles() {
    assert_eq!(ActionKind::Document.title("function"), "Hearth: Document this function");
    assert_eq!(ActionKind::Fix.title("function"), "Hearth: Fix this diagnostic");
    assert_eq!(fix_title(2), "Hearth: Fix these diagnostics");
    assert_eq!(ActionKind::WriteTest.title("method"), "Hearth: Write a test for this method");
    assert_eq!(ActionKind::Explain.title("selection"), "Hearth: Explain this selection");
    assert_eq!(ActionKind::Rewrite.title("class"), "Hearth: Rewrite with an instruction");
}

#[test]
fn kinds_travel_as_camel_case() {
    assert_eq!(serde_json::to_string(&ActionKind::WriteTest).unwrap(), "\"writeTest\"");
    let kind: ActionKind = serde_json::from_str("\"document\"").unwrap();
    assert_eq!(kind, ActionKind::Document);
}

/// Fixtures with non-ASCII text, errors and every kind of item, for the
/// property tests.
const CASES: &[(Lang, &str)] = &[
    (Lang::Rust, RUST),
    (Lang::Python, PYTHON),
    (Lang::TypeScript, TYPESCRIPT),
    (Lang::Rust, "/// Größe.\nfn größe(é: &str) -> usize { é.len() }\nfn broken( {\n"),
    (Lang::Go, "package p\n\n// Add adds.\nfunc Add(a, b int) int {\n\treturn a + b // ✓\n}\n"),
    (Lang::Python, "def f():\n    return '日本語'\nclass\n"),
    (Lang::Cpp, "class A {\n public:\n  int f() { return 1; }\n};\n"),
    (Lang::Java, "class A {\n  @Test\n  void testX() {}\n  int f() { return 1; }\n}\n"),
    (Lang::Lua, "local M = {}\nfunction M.f(x)\n  return x\nend\nreturn M\n"),
    (Lang::Bash, "#!/bin/bash\n# Greets.\ngreet() {\n  echo \"héllo $1\"\n}\n"),
    (Lang::C, "#include <stdio.h>\nstatic int f(void) { return 0; }\n"),
    (Lang::Rust, ""),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn offers_never_panic_and_stay_in_the_source(
        case in 0..CASES.len(),
        start in 0usize..2_000,
        end in 0usize..2_000,
        diagnostic in 0usize..2_000,
    ) {
        let (lang, source) = CASES[case];
        let tree = parse_fresh(lang, source).unwrap();
        let diagnostics = [Diagnostic { range: diagnostic..diagnostic + 3, message: "x".into() }];
        for offer in offers(lang, source, &tree, start..end, &diagnostics) {
            prop_assert!(offer.target.start <= offer.target.end);
            prop_assert!(source.get(offer.target.clone()).is_some(), "{offer:?}");
            prop_assert!(offer.title.starts_with("Hearth: "));
        }
    }

    #[test]
    fn prompts_and_edits_never_panic(
        case in 0..CASES.len(),
        start in 0usize..2_000,
        kind in 0usize..5,
        reply in "(\\PC|\n| |```|///|\"\"\"|\\}|\\{){0,40}",
    ) {
        let (lang, source) = CASES[case];
        let tree = parse_fresh(lang, source).unwrap();
        let kind = [
            ActionKind::Document,
            ActionKind::Fix,
            ActionKind::WriteTest,
            ActionKind::Explain,
            ActionKind::Rewrite,
        ][kind];
        let targets: Vec<Range<usize>> = offers(lang, source, &tree, start..start, &[])
            .into_iter()
            .map(|it| it.target)
            .chain(std::iter::once(start..start + 3))
            .collect();
        for target in targets {
            let _ = messages(kind, lang, source, &tree, target.clone(), &[], Some("x"));
            if let Some(code) = extract_code(&reply)
                && let Ok(edits) = edits_for(kind, lang, source, &tree, target, &code)
            {
                for edit in &edits {
                    prop_assert!(source.get(edit.range.clone()).is_some());
                }
            }
        }
    }
}

#[test]
fn offers_on_a_large_file_are_fast() {
    let mut source = String::new();
    for i in 0..4_000 {
        source.push_str(&format!(
            "/// Item {i}.\n#[inline]\npub fn f{i}(x: u32) -> u32 {{\n    x + {i}\n}}\n\n"
        ));
    }
    let tree = parse_fresh(Lang::Rust, &source).unwrap();
    let cursor = source.find("x + 2000").unwrap();
    let started = std::time::Instant::now();
    let mut offered = 0;
    for _ in 0..10 {
        offered += offers(Lang::Rust, &source, &tree, cursor..cursor, &[]).len();
    }
    let each = started.elapsed() / 10;
    assert_eq!(offered, 40);
    assert!(each < std::time::Duration::from_millis(50), "{each:?}");
}
