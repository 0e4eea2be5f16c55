//! Pure clean-up of raw model output before the user sees it.

use crate::context::{FimContext, Mode};

/// Turns raw generated text into the text to insert at the cursor, or `None`
/// when nothing useful is left.
pub fn clean(raw: &str, ctx: &FimContext) -> Option<String> {
    // With only indentation typed, the prompt's middle was empty and the
    // model wrote the indentation itself; what is typed must not repeat.
    let raw = if ctx.middle.trim().is_empty() {
        let first_indent = indent(raw);
        match raw.strip_prefix(ctx.middle.as_str()) {
            // The model indented its first line deeper than the editor did.
            // The editor's indentation is the one the user typed on (after
            // an argument list's `(`, on a continuation line, in a block the
            // editor indented), so the model's extra is dropped, and its
            // next lines are then measured against the typed indentation.
            Some(rest) if !ctx.middle.is_empty() && editor_indented(ctx) => {
                rest.trim_start_matches([' ', '\t'])
            }
            // At column 0, a first line indented deeper than the line above,
            // which neither opens a block nor continues onto the next line,
            // belongs somewhere else (a method's body after a struct's
            // attribute).
            Some(rest) if ctx.middle.is_empty() && indented_without_cause(rest, ctx) => {
                return None;
            }
            Some(rest) => rest,
            // A first line at column 0 under an indented cursor that opens a
            // block starts a new item (a `fn main` inside a function body):
            // it leaves the block the user is in.
            None if first_indent == 0 && opens_block(raw.lines().next().unwrap_or_default()) => {
                return None;
            }
            // Otherwise the model continued right at the cursor (an argument
            // on a continuation line): its text follows the typed indentation.
            None if first_indent == 0 => raw,
            None => raw.trim_start_matches([' ', '\t']),
        }
    } else {
        raw
    };
    // On a line of its own, a first line that repeats the line above is the
    // model copying, not continuing: real code almost never has the same
    // line twice in a row (6 in 18,880 lines of the public cases).
    let line_above = ctx.middle.trim().is_empty().then(|| line_above(ctx)).flatten().map(str::trim);
    // So is a long first line found inside the line above (the end of a
    // docstring's sentence written again): 4 in 8,338 lines of 16
    // characters or more.
    let first = raw.lines().next().unwrap_or_default().trim();
    if first.len() >= 16 && line_above.is_some_and(|above| above.contains(first)) {
        return None;
    }
    let raw = cut_at_chatter(raw, line_above.filter(|it| is_substantial(it)));
    let mut text = match ctx.mode {
        Mode::SingleLine | Mode::Empty => {
            raw.split('\n').next().unwrap_or_default().trim_end().to_owned()
        }
        Mode::MultiLine => cut_at_suffix(&cut_at_dedent(raw, &ctx.middle), ctx)?,
    };
    // The model often rewrites what is already right of the cursor
    // (closing brackets, the rest of the line): drop that repetition.
    let after = ctx.line_after_cursor.trim();
    if !after.is_empty() && ctx.mode != Mode::MultiLine {
        if let Some(stripped) = text.trim_end().strip_suffix(after) {
            text = stripped.to_owned();
        } else if text.trim_start().starts_with(after) {
            return None;
        }
    }
    // After code on the line, a small model that has nothing to add offers
    // a trailing comment (`// TODO`, `# This is a hack`): not worth showing.
    let after_code = !ctx.middle.trim().is_empty();
    if after_code && ["//", "#", "--", "/*"].iter().any(|it| text.trim_start().starts_with(it)) {
        return None;
    }
    if text.trim().is_empty() { None } else { Some(text) }
}

/// Whether the cursor's typed indentation is the editor's considered one:
/// it goes deeper than the last non-blank line before it, or that line does
/// not open a block. (After a line that opens a block, indentation no deeper
/// than that line's means the editor did not indent, and the model's deeper
/// first line is right.)
fn editor_indented(ctx: &FimContext) -> bool {
    let Some(previous) = line_above(ctx) else { return true };
    let opens = ['{', ':', '(', '['].iter().any(|it| previous.trim_end().ends_with(*it));
    indent(&ctx.middle) > indent(previous) || !opens
}

/// Whether `raw`'s first line is indented deeper than the last non-blank
/// line before the cursor although neither leads into the other: that line
/// opens no block or bracket and does not continue (`,`, an operator), and
/// the first line does not continue it either (`.iter()` in a method chain,
/// `&& b`, `?`).
fn indented_without_cause(raw: &str, ctx: &FimContext) -> bool {
    let first = raw.lines().next().unwrap_or_default();
    let Some(previous) = line_above(ctx) else { return false };
    let leads_on = previous.trim_end().ends_with([
        '{', '(', '[', ':', ',', '=', '+', '-', '*', '/', '%', '&', '|', '\\', '.', '>', '?',
    ]);
    let continues = first.trim_start().starts_with([
        '.', '?', ')', ']', '}', '&', '|', '+', '-', '*', '/', '%', '=', ':', ',', '<', '>',
    ]);
    !first.trim().is_empty() && indent(first) > indent(previous) && !leads_on && !continues
}

/// Whether a line ends by opening a block (`{`, or `:` as in Python).
fn opens_block(line: &str) -> bool {
    let line = line.trim_end();
    line.ends_with('{') || line.ends_with(':')
}

/// The last non-blank line before the cursor's line.
fn line_above(ctx: &FimContext) -> Option<&str> {
    ctx.prefix.lines().rev().find(|line| !line.trim().is_empty())
}

/// The width of a line's leading blanks, in bytes.
fn indent(line: &str) -> usize {
    super::leading_blanks(line).len()
}

/// Whether a line says enough that repeating it is copying: 8 characters or
/// more with a word among them (not `}`, `break;` or `end`).
fn is_substantial(line: &str) -> bool {
    line.len() >= 8 && line.contains(|c: char| c.is_alphanumeric())
}

/// Cuts where a small model drifts from code into chat: a Markdown fence, or
/// a line repeating the one before it (for the first line, `line_above`).
fn cut_at_chatter<'a>(raw: &'a str, line_above: Option<&str>) -> &'a str {
    let mut offset = 0;
    let mut previous: Option<&str> = line_above;
    for line in raw.split_inclusive('\n') {
        let content = line.trim();
        if content.starts_with("```") || (!content.is_empty() && previous == Some(content)) {
            return &raw[..offset];
        }
        if !content.is_empty() {
            previous = Some(content);
        }
        offset += line.len();
    }
    raw
}

/// Keeps whole lines of a multi-line suggestion while they stay inside the
/// cursor's block: a line indented less than the suggestion's first line
/// (the typed indentation and whatever the model added to it) ends it.
fn cut_at_dedent(raw: &str, typed: &str) -> String {
    let first = raw.lines().next().unwrap_or_default();
    let added = indent(first);
    let base_indent = indent(typed) + added;
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in raw.lines().enumerate() {
        if i > 0 && !line.trim().is_empty() && indent(line) < base_indent {
            break;
        }
        kept.push(line);
    }
    while kept.last().is_some_and(|it| it.trim().is_empty()) {
        kept.pop();
    }
    kept.join("\n").trim_end().to_owned()
}

/// Cuts a multi-line suggestion where it starts writing the line that
/// already follows the cursor, indentation included: the model ran into the
/// suffix. (A closing brace one level deeper closes a block of its own.)
/// `None` when its very first line is that line.
fn cut_at_suffix(text: &str, ctx: &FimContext) -> Option<String> {
    // The suffix starts with the rest of the cursor's (empty) line.
    let next = ctx.suffix.lines().skip(1).map(str::trim_end).find(|line| !line.trim().is_empty());
    let Some(next) = next else { return Some(text.to_owned()) };
    let lines: Vec<&str> = text.lines().collect();
    // The first line continues the typed indentation; the others are whole.
    let same = |i: usize, line: &str| {
        if i == 0 {
            format!("{}{line}", ctx.middle).trim_end() == next
        } else {
            line.trim_end() == next
        }
    };
    let end = lines.iter().enumerate().position(|(i, line)| same(i, line)).unwrap_or(lines.len());
    let kept = lines[..end].join("\n");
    if kept.trim().is_empty() { None } else { Some(kept.trim_end().to_owned()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::fixture as ctx;

    #[test]
    fn single_line_stops_at_the_newline() {
        assert_eq!(clean("    a + b\n}\n", &ctx("fn f() {\n    $0\n}")), Some("a + b".to_owned()));
        assert_eq!(clean(" 1;  \nmore", &ctx("let x =$0")), Some(" 1;".to_owned()));
    }

    #[test]
    fn the_editors_indentation_wins_over_the_models() {
        // The model wrote its first line 4 columns deeper than the editor
        // indented the argument list, and the next lines at the editor's.
        let c = ctx("int f(\n        $0\n");
        let raw = "            int a,\n        int b) {\n";
        assert_eq!(clean(raw, &c), Some("int a,\n        int b) {".to_owned()));
        // The same on a single line.
        let c = ctx("x = (a +\n     $0)");
        assert_eq!(clean("       b", &c), Some("b".to_owned()));
        // Where the editor did not indent after a block opener, the
        // model's deeper line is right.
        let c = ctx("def f():\n$0");
        assert_eq!(clean("    return 1", &c), Some("    return 1".to_owned()));
        let c = ctx("    if x:\n    $0");
        assert_eq!(clean("        return 1", &c), Some("    return 1".to_owned()));
    }

    #[test]
    fn a_first_line_indented_without_cause_is_refused() {
        let c = ctx("#[derive(Debug)]\n$0\n    ctx: u32,\n}\n");
        assert_eq!(clean("    pub fn analyze(&mut self) {\n", &c), None);
        assert_eq!(clean("pub struct A {\n", &c), Some("pub struct A {".to_owned()));
        // After a line that leads into it, deeper is right.
        let c = ctx("fn f() {\n$0\n");
        assert_eq!(clean("    g();\n", &c), Some("    g();".to_owned()));
        let c = ctx("    let x = f(a,\n$0\n");
        assert_eq!(clean("        b);\n", &c), Some("        b);".to_owned()));
        // A line that continues the one above (a method chain) is right too.
        let c = ctx("fn f(v: &[u32]) -> u32 {\n    v\n$0\n        .sum()\n}\n");
        assert_eq!(clean("        .iter()\n", &c), Some("        .iter()".to_owned()));
    }

    #[test]
    fn drops_text_that_repeats_the_rest_of_the_line() {
        assert_eq!(clean("a, b)", &ctx("foo($0)")), Some("a, b".to_owned()));
        assert_eq!(clean(")", &ctx("foo($0)")), None);
    }

    #[test]
    fn multi_line_stops_when_the_block_ends() {
        let c = ctx("def f(x):\n    $0\n");
        assert_eq!(
            clean("    y = x + 1\n    return y\nprint(f(2))\n", &c),
            Some("y = x + 1\n    return y".to_owned())
        );
    }

    #[test]
    fn a_block_written_from_column_zero_ends_at_its_dedent() {
        let c = ctx("def f(x):\n$0\n    return y\n");
        assert_eq!(
            clean("    y += 1\n    y *= 2\nprint(f(3))\n", &c),
            Some("    y += 1\n    y *= 2".to_owned())
        );
    }

    #[test]
    fn a_block_stops_where_the_suffix_begins() {
        let c = ctx("fn f() -> u32 {\n    let a = 1;\n    $0\n    a + b\n}\n");
        assert_eq!(clean("let b = 2;\n    a + b\n}\n", &c), Some("let b = 2;".to_owned()));
        // Writing only what follows is no suggestion at all.
        assert_eq!(clean("a + b\n}\n", &c), None);
        // A brace closing a block of its own is not the suffix's brace.
        let c = ctx("fn f(v: &[i32]) {\n    for x in v {\n        $0\n    }\n}\n");
        assert_eq!(
            clean("        if *x > 0 {\n            g(x);\n        }\n    }\n", &c),
            Some("if *x > 0 {\n            g(x);\n        }".to_owned())
        );
    }

    #[test]
    fn typed_indentation_is_not_repeated() {
        let c = ctx("fn f() {\n    $0\n}");
        assert_eq!(clean("    let x = 1;\n", &c), Some("let x = 1;".to_owned()));
        assert_eq!(clean("  let x = 1;", &c), Some("let x = 1;".to_owned()));
        let block = ctx("def f(x):\n    $0\n");
        assert_eq!(
            clean("    y = 1\n    return y\n", &block),
            Some("y = 1\n    return y".to_owned())
        );
    }

    #[test]
    fn a_first_line_outside_the_block_is_refused() {
        let c = ctx("pub fn add(x: i32, y: i32) -> i32 {\n    $0\n}\n");
        assert_eq!(clean("fn main() {\n    let r = add(5, 3);\n", &c), None);
        // A continuation at column 0 is text for the cursor, not a new item.
        let call = ctx("serve(\n        $0\n    )\n");
        assert_eq!(
            clean("protocol=args.protocol,\n    )\n", &call),
            Some("protocol=args.protocol,".to_owned())
        );
    }

    #[test]
    fn markdown_fences_and_repeated_lines_end_a_suggestion() {
        let c = ctx("// Prints a greeting.\n$0");
        assert_eq!(
            clean("fn main() {\n    println!(\"hi\");\n}\n```\n\nThis program prints.", &c),
            Some("fn main() {\n    println!(\"hi\");\n}".to_owned())
        );
        assert_eq!(clean("x = 1\nx = 1\nx = 1\n", &c), Some("x = 1".to_owned()));
        assert_eq!(clean("```", &ctx("    $0")), None);
    }

    #[test]
    fn a_first_line_that_repeats_the_line_above_is_copying() {
        let c = ctx("switch (t) {\n    case 'dev':\n      $0\n    default:\n");
        assert_eq!(clean("case 'dev':\n      type = REL_DEV\n", &c), None);
        assert_eq!(
            clean("type = REL_DEV\n      break\n", &c),
            Some("type = REL_DEV\n      break".to_owned())
        );
        // A long first line found inside the line above is copied too.
        let doc = ctx(
            "    \"\"\"Sets the limits. Zero for either is generally sub-optimal as it\n    $0\n",
        );
        assert_eq!(clean("is generally sub-optimal as it\n", &doc), None);
        assert_eq!(clean("reduces I/O.\n", &doc), Some("reduces I/O.".to_owned()));
        // Short lines repeat in real code: closing braces, `break;`.
        let closing = ctx("        }\n    }\n    $0\n");
        assert_eq!(clean("}\n", &closing), Some("}".to_owned()));
        // Mid-line, the first line continues the cursor's line.
        let mid = ctx("x = f(a)\nx = f(a$0\n");
        assert_eq!(clean(")", &mid), Some(")".to_owned()));
    }

    #[test]
    fn a_trailing_comment_after_code_is_no_suggestion() {
        assert_eq!(clean("  # This is a hack", &ctx("    x = f(y)$0\n")), None);
        assert_eq!(clean(" // TODO: implement", &ctx("    let x = 1;$0\n")), None);
        // On a line of its own, a comment is what the user is writing.
        assert_eq!(
            clean("// Sums the list.", &ctx("$0\nfn f() {}\n")),
            Some("// Sums the list.".to_owned())
        );
    }

    #[test]
    fn whitespace_is_no_suggestion() {
        assert_eq!(clean("   \n", &ctx("x = $0")), None);
        assert_eq!(clean("", &ctx("x = $0")), None);
    }
}
