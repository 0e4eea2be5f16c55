//! Each action's edit on small files: where the code goes, how it is
//! indented, and that nothing outside the edit changes.

use expect_test::{Expect, expect};

use super::*;
use crate::actions::tests::fixture;
use crate::actions::{Diagnostic, extract_code, offers};

/// The edited file for action `kind` at the fixture's cursor, with the
/// model's `reply`. Checks that the edit leaves the text outside its range
/// byte for byte, and that it lands where the action puts code.
fn edited(kind: ActionKind, lang: Lang, fixture_text: &str, reply: &str) -> String {
    let (source, selection) = fixture(fixture_text);
    let tree = parse_fresh(lang, &source).unwrap();
    let target = offers(lang, &source, &tree, selection.clone(), &at_cursor(&selection))
        .into_iter()
        .find(|it| it.kind == kind)
        .unwrap_or_else(|| panic!("{kind:?} is not offered"))
        .target;
    let code = extract_code(reply).unwrap();
    let edits = edits_for(kind, lang, &source, &tree, target.clone(), &code)
        .unwrap_or_else(|err| panic!("{err}"));
    let [edit] = edits.as_slice() else { panic!("one edit expected: {edits:?}") };
    let result = apply(&source, &edits);
    assert_eq!(result[..edit.range.start], source[..edit.range.start]);
    assert_eq!(result[edit.range.start + edit.new_text.len()..], source[edit.range.end..]);
    match kind {
        ActionKind::Fix | ActionKind::Rewrite => assert_eq!(edit.range, target),
        ActionKind::WriteTest => {
            assert!(edit.range.start >= target.end || edit.range.end <= target.start, "{edit:?}");
        }
        // Python docstrings go into the body; everything else is above.
        ActionKind::Document if lang == Lang::Python => {}
        ActionKind::Document | ActionKind::Explain => assert!(edit.range.end <= target.start),
    }
    result
}

/// A diagnostic at the fixture's cursor, so that Fix is offered.
fn at_cursor(selection: &Range<usize>) -> Vec<Diagnostic> {
    vec![Diagnostic { range: selection.clone(), message: "here".to_owned() }]
}

fn check(kind: ActionKind, lang: Lang, fixture_text: &str, reply: &str, expect: Expect) {
    expect.assert_eq(&edited(kind, lang, fixture_text, reply));
}

fn refused(kind: ActionKind, lang: Lang, fixture_text: &str, reply: &str) -> ActionError {
    let (source, selection) = fixture(fixture_text);
    let tree = parse_fresh(lang, &source).unwrap();
    let target = offers(lang, &source, &tree, selection.clone(), &at_cursor(&selection))
        .into_iter()
        .find(|it| it.kind == kind)
        .unwrap()
        .target;
    edits_for(kind, lang, &source, &tree, target, reply).unwrap_err()
}

// Document

#[test]
fn rust_doc_replaces_the_existing_doc_and_keeps_attributes() {
    check(
        ActionKind::Document,
        Lang::Rust,
        "// Section.\n\n/// Old.\n/// More old.\n#[inline]\npub fn add(a: i32, b: i32) -> i32 {\n    $0a + b\n}\n",
        "Here it is:\n```rust\n/// Adds `a` and `b`.\n///\n/// Wraps on overflow.\n```\n",
        expect![[r#"
            // Section.

            /// Adds `a` and `b`.
            ///
            /// Wraps on overflow.
            #[inline]
            pub fn add(a: i32, b: i32) -> i32 {
                a + b
            }
        "#]],
    );
    // A doc comment under an attribute is replaced too: the new doc goes on
    // top, the attribute stays.
    check(
        ActionKind::Document,
        Lang::Rust,
        "#[inline]\n/// Old.\nfn $0one() -> i32 {\n    1\n}\n",
        "One.",
        expect![[r#"
            /// One.
            #[inline]
            fn one() -> i32 {
                1
            }
        "#]],
    );
}

#[test]
fn rust_doc_for_a_method_is_indented_above_its_attributes() {
    check(
        ActionKind::Document,
        Lang::Rust,
        "impl S {\n    #[must_use]\n    pub fn get(&self) -> u8 {\n        $0self.0\n    }\n}\n",
        "```\nReturns the value.\n```",
        expect![[r#"
            impl S {
                /// Returns the value.
                #[must_use]
                pub fn get(&self) -> u8 {
                    self.0
                }
            }
        "#]],
    );
    check(
        ActionKind::Document,
        Lang::Rust,
        "struct S;\n\nimpl S {\n    fn $0f(&self) {}\n}\n",
        "/// Does nothing.\nfn f(&self) {}",
        expect![[r#"
            struct S;

            impl S {
                /// Does nothing.
                fn f(&self) {}
            }
        "#]],
    );
}

#[test]
fn python_docstring_goes_into_the_method_body() {
    check(
        ActionKind::Document,
        Lang::Python,
        "class Circle:\n    @property\n    def area(self):\n        $0return 3.14 * self.r ** 2\n",
        "```text\nThe circle's area.\n\nUses an approximation of pi.\n```",
        expect![[r#"
            class Circle:
                @property
                def area(self):
                    """The circle's area.

                    Uses an approximation of pi.
                    """
                    return 3.14 * self.r ** 2
        "#]],
    );
}

#[test]
fn python_docstring_replaces_the_existing_one() {
    check(
        ActionKind::Document,
        Lang::Python,
        "def f(x):\n    '''Old.'''\n    $0return x\n",
        "```python\ndef f(x):\n    \"\"\"Returns `x` unchanged.\"\"\"\n    return x\n```",
        expect![[r#"
            def f(x):
                """Returns `x` unchanged."""
                return x
        "#]],
    );
    // A body on the header's line moves down under the docstring.
    check(
        ActionKind::Document,
        Lang::Python,
        "def $0one(): return 1\n",
        "# One, as \"1\"",
        expect![[r#"
            def one():
                """One, as "1\""""
                return 1
        "#]],
    );
}

#[test]
fn doc_comments_in_other_languages() {
    check(
        ActionKind::Document,
        Lang::TypeScript,
        "export class A {\n  /** Old. */\n  f(x: number): number {\n    $0return x;\n  }\n}\n",
        "/**\n * Returns `x`.\n * @param x - the input\n */",
        expect![[r#"
            export class A {
              /**
               * Returns `x`.
               * @param x - the input
               */
              f(x: number): number {
                return x;
              }
            }
        "#]],
    );
    check(
        ActionKind::Document,
        Lang::Go,
        "package p\n\n// old\nfunc Add(a, b int) int {\n\t$0return a + b\n}\n",
        "// Returns the sum of a and b.",
        expect![[r#"
            package p

            // Add returns the sum of a and b.
            func Add(a, b int) int {
            	return a + b
            }
        "#]],
    );
    check(
        ActionKind::Document,
        Lang::C,
        "// Section.\nint add(int a, int b) {\n    $0return a + b;\n}\n",
        "@brief Adds two ints.\n@return the sum",
        expect![[r#"
            // Section.
            /**
             * @brief Adds two ints.
             * @return the sum
             */
            int add(int a, int b) {
                return a + b;
            }
        "#]],
    );
}

// Explain

#[test]
fn explanation_goes_above_doc_and_attributes() {
    check(
        ActionKind::Explain,
        Lang::Rust,
        "fn other() {}\n\n    /// Doc.\n    #[inline]\n    fn $0f(x: u32) -> u32 {\n        x * 2\n    }\n",
        "```text\nDoubles its argument. This line is long enough that it has to be wrapped at about ninety columns, not left running.\n```",
        expect![[r#"
            fn other() {}

                // Doubles its argument. This line is long enough that it has to be wrapped at about
                // ninety columns, not left running.
                /// Doc.
                #[inline]
                fn f(x: u32) -> u32 {
                    x * 2
                }
        "#]],
    );
}

#[test]
fn python_explanation_goes_above_decorators() {
    check(
        ActionKind::Explain,
        Lang::Python,
        "class C:\n    @staticmethod\n    def f():\n        $0return 1\n",
        "# Returns one.\n# Always.",
        expect![[r#"
            class C:
                # Returns one.
                # Always.
                @staticmethod
                def f():
                    return 1
        "#]],
    );
}

// Fix and Rewrite

#[test]
fn fix_replaces_the_item_reindented() {
    check(
        ActionKind::Fix,
        Lang::Rust,
        "impl S {\n    fn f(&self) -> u32 {\n        $0let x: u32 = \"1\";\n        x\n    }\n}\n",
        "```rust\nfn f(&self) -> u32 {\n    let x: u32 = 1;\n    x\n}\n```",
        expect![[r#"
            impl S {
                fn f(&self) -> u32 {
                    let x: u32 = 1;
                    x
                }
            }
        "#]],
    );
}

#[test]
fn rewrite_a_selection_of_python_lines() {
    check(
        ActionKind::Rewrite,
        Lang::Python,
        "def f(xs):\n$0    out = []\n    for x in xs:\n        out.append(x * 2)\n$1    return out\n",
        "```python\nout = [x * 2 for x in xs]\n```",
        expect![[r#"
            def f(xs):
                out = [x * 2 for x in xs]
                return out
        "#]],
    );
}

// Write a test

#[test]
fn rust_test_creates_the_tests_module() {
    check(
        ActionKind::WriteTest,
        Lang::Rust,
        "pub fn double(x: i32) -> i32 {\n    $0x * 2\n}\n",
        // A model that wrote the module anyway, and forgot `#[test]`.
        "```rust\nmod tests {\n    use super::*;\n\n    fn doubles() {\n        assert_eq!(double(2), 4);\n    }\n}\n```",
        expect![[r#"
            pub fn double(x: i32) -> i32 {
                x * 2
            }

            #[cfg(test)]
            mod tests {
                use super::*;

                #[test]
                fn doubles() {
                    assert_eq!(double(2), 4);
                }
            }
        "#]],
    );
}

#[test]
fn rust_test_is_appended_to_the_tests_module() {
    check(
        ActionKind::WriteTest,
        Lang::Rust,
        "pub fn double(x: i32) -> i32 {\n    $0x * 2\n}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn zero() {\n        assert_eq!(double(0), 0);\n    }\n}\n\nfn after() {}\n",
        "#[test]\nfn doubles() {\n    assert_eq!(double(2), 4);\n}",
        expect![[r#"
            pub fn double(x: i32) -> i32 {
                x * 2
            }

            #[cfg(test)]
            mod tests {
                use super::*;

                #[test]
                fn zero() {
                    assert_eq!(double(0), 0);
                }

                #[test]
                fn doubles() {
                    assert_eq!(double(2), 4);
                }
            }

            fn after() {}
        "#]],
    );
}

#[test]
fn rust_test_into_an_empty_one_line_module() {
    check(
        ActionKind::WriteTest,
        Lang::Rust,
        "fn one() -> u8 {\n    $01\n}\n\n#[cfg(test)]\nmod tests {}\n",
        "#[test]\nfn is_one() {\n    assert_eq!(super::one(), 1);\n}",
        expect![[r#"
            fn one() -> u8 {
                1
            }

            #[cfg(test)]
            mod tests {
                #[test]
                fn is_one() {
                    assert_eq!(super::one(), 1);
                }
            }
        "#]],
    );
}

#[test]
fn rust_tests_in_another_file_are_refused() {
    let fixture = "fn one() -> u8 {\n    $01\n}\n\n#[cfg(test)]\nmod tests;\n";
    let err = refused(ActionKind::WriteTest, Lang::Rust, fixture, "#[test]\nfn t() {}");
    assert_eq!(err, ActionError::TestsInAnotherFile);
}

#[test]
fn python_test_follows_the_top_level_item() {
    check(
        ActionKind::WriteTest,
        Lang::Python,
        "class Circle:\n    def area(self):\n        $0return 3 * self.r ** 2\n\n\ndef other():\n    pass\n",
        "```python\n    def test_area():\n        c = Circle()\n        c.r = 1\n        assert c.area() == 3\n```",
        expect![[r#"
            class Circle:
                def area(self):
                    return 3 * self.r ** 2


            def test_area():
                c = Circle()
                c.r = 1
                assert c.area() == 3


            def other():
                pass
        "#]],
    );
}

#[test]
fn typescript_test_follows_the_exported_class() {
    check(
        ActionKind::WriteTest,
        Lang::TypeScript,
        "export class A {\n  f(): number {\n    $0return 1;\n  }\n}\n",
        "function testF() {\n  if (new A().f() !== 1) throw new Error(\"f\");\n}",
        expect![[r#"
            export class A {
              f(): number {
                return 1;
              }
            }

            function testF() {
              if (new A().f() !== 1) throw new Error("f");
            }
        "#]],
    );
}

// Refusals

#[test]
fn code_that_breaks_the_syntax_is_refused() {
    let fixture = "fn f() -> u32 {\n    $01\n}\n";
    let err = refused(ActionKind::Fix, Lang::Rust, fixture, "fn f() -> u32 {\n    (1\n");
    assert!(matches!(err, ActionError::BreaksSyntax { errors_before: 0, .. }), "{err:?}");
    expect![[r#"Hearth: the model's code would break the file's syntax (0 syntax errors before, 1 after); nothing was changed"#]]
        .assert_eq(&err.to_string());
    // A test whose parameter list is broken.
    let err =
        refused(ActionKind::WriteTest, Lang::Python, "def f():\n    $0pass\n", "def test_f(:\n");
    assert!(matches!(err, ActionError::BreaksSyntax { .. }), "{err:?}");
}

#[test]
fn empty_replies_and_stale_targets_are_refused() {
    let fixture = "fn f() {\n    $0g();\n}\n";
    assert_eq!(refused(ActionKind::Document, Lang::Rust, fixture, "  \n"), ActionError::NoCode);
    assert_eq!(refused(ActionKind::Document, Lang::Rust, fixture, "///\n///"), ActionError::NoCode);
    let source = "fn é() {}\n";
    let tree = parse_fresh(Lang::Rust, source).unwrap();
    let stale = edits_for(ActionKind::Fix, Lang::Rust, source, &tree, 3..50, "fn e() {}");
    assert_eq!(stale, Err(ActionError::StaleTarget));
    let inside_a_char = edits_for(ActionKind::Fix, Lang::Rust, source, &tree, 4..9, "fn e() {}");
    assert_eq!(inside_a_char, Err(ActionError::StaleTarget));
}

#[test]
fn minimal_edits_skip_unchanged_lines() {
    let source = "a\nb\nc\n";
    assert_eq!(
        minimal(source, 0..6, "a\nx\nb\nc\n".to_owned()),
        Edit { range: 2..2, new_text: "x\n".to_owned() }
    );
    assert_eq!(
        minimal(source, 0..4, "a\nb\n".to_owned()),
        Edit { range: 4..4, new_text: String::new() }
    );
}

// Other languages' conventions

#[test]
fn java_test_goes_next_to_the_method_in_its_class() {
    check(
        ActionKind::WriteTest,
        Lang::Java,
        "class Calc {\n    int twice(int x) {\n        $0return 2 * x;\n    }\n}\n",
        "```java\nstatic void testTwice() {\n    if (new Calc().twice(2) != 4) throw new AssertionError();\n}\n```",
        expect![[r#"
            class Calc {
                int twice(int x) {
                    return 2 * x;
                }

                static void testTwice() {
                    if (new Calc().twice(2) != 4) throw new AssertionError();
                }
            }
        "#]],
    );
}

#[test]
fn go_explanation_stays_out_of_the_doc_comment() {
    check(
        ActionKind::Explain,
        Lang::Go,
        "package p\n\n// Add adds.\nfunc Add(a, b int) int {\n\t$0return a + b\n}\n",
        "Adds two ints.",
        expect![[r#"
            package p

            // Adds two ints.

            // Add adds.
            func Add(a, b int) int {
            	return a + b
            }
        "#]],
    );
}

#[test]
fn shell_header_replaces_the_comment_but_not_the_shebang() {
    check(
        ActionKind::Document,
        Lang::Bash,
        "#!/bin/bash\n# old\ngreet() {\n  $0echo \"hi ${1}\"\n}\n",
        "# Prints a greeting.\n# $1: who to greet.",
        expect![[r##"
            #!/bin/bash
            # Prints a greeting.
            # $1: who to greet.
            greet() {
              echo "hi ${1}"
            }
        "##]],
    );
}

#[test]
fn lua_and_cpp_doc_comments() {
    check(
        ActionKind::Document,
        Lang::Lua,
        "local M = {}\n\nfunction M.twice(x)\n  $0return 2 * x\nend\n",
        "Doubles x.\n@param x number\n@return number",
        expect![[r#"
            local M = {}

            --- Doubles x.
            ---@param x number
            ---@return number
            function M.twice(x)
              return 2 * x
            end
        "#]],
    );
    check(
        ActionKind::Document,
        Lang::Cpp,
        "class A {\n public:\n  int f() const {\n    $0return 1;\n  }\n};\n",
        "```cpp\n/// @brief Returns one.\nint f() const;\n```",
        expect![[r#"
            class A {
             public:
              /** @brief Returns one. */
              int f() const {
                return 1;
              }
            };
        "#]],
    );
}

#[test]
fn python_docstring_goes_above_the_comments_opening_the_body() {
    check(
        ActionKind::Document,
        Lang::Python,
        "def f(\n    x,\n):  # noqa\n\n    # Why.\n    $0return x\n",
        "Returns one.",
        expect![[r#"
            def f(
                x,
            ):  # noqa
                """Returns one."""

                # Why.
                return x
        "#]],
    );
}

#[test]
fn typescript_doc_goes_above_export() {
    check(
        ActionKind::Document,
        Lang::TypeScript,
        "// Helpers.\nexport const double = (x: number): number => $0x * 2;\n",
        "```typescript\n/**\n * Doubles `x`.\n * @param x - a number\n * @returns twice `x`\n */\n```",
        expect![[r#"
            // Helpers.
            /**
             * Doubles `x`.
             * @param x - a number
             * @returns twice `x`
             */
            export const double = (x: number): number => x * 2;
        "#]],
    );
}

#[test]
fn typescript_doc_goes_above_decorators() {
    check(
        ActionKind::Document,
        Lang::TypeScript,
        "class A {\n  /** Old. */\n  @memo\n  f(): number {\n    $0return 1;\n  }\n}\n",
        "Returns one.",
        expect![[r#"
            class A {
              /** Returns one. */
              @memo
              f(): number {
                return 1;
              }
            }
        "#]],
    );
}

#[test]
fn python_tests_drop_copies_of_the_code_under_test() {
    let source = "import math\n\n\ndef area(r):\n    return math.pi * r ** 2\n";
    let reply = "import math\nimport pytest\n\n\ndef area(r):\n    return math.pi * r ** 2\n\n\n@pytest.mark.parametrize('r', [1])\ndef test_area(r):\n    assert area(r) > 0\n";
    assert_eq!(
        super::python_tests_only(reply, source),
        "import pytest\n\n\n@pytest.mark.parametrize('r', [1])\ndef test_area(r):\n    assert area(r) > 0"
    );
}
