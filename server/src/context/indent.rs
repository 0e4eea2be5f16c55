//! The indentation a blank line implies when the cursor is at its column 0.
//!
//! Editors leave the cursor at column 0 of a blank line often: the user
//! moved onto a line whose trailing blanks the editor stripped, or opened a
//! line in an editor that does not indent. A FIM prompt whose prefix ends in
//! a bare newline inside a body makes a small model close the body (`}`) or
//! leave the line blank (its first token a newline), while the same prompt
//! ending in the body's indentation gets the statement. So where the lines
//! around say which indentation the line must have, the prompt ends in it
//! (as if typed) and the suggestion starts with it.
//!
//! The guess comes from the text alone, like the mode for an empty line, and
//! only where the lines around agree: where they leave a choice (a Python
//! body's end, with a dedented line after it) the model keeps the choice.

use super::FimContext;

/// The indentation to give the cursor's line, or `None` when nothing is to
/// be added: the line is not empty, or the lines around do not settle it.
pub fn implied(ctx: &FimContext) -> Option<String> {
    if !ctx.middle.is_empty() || !ctx.line_after_cursor.is_empty() {
        return None;
    }
    let previous_line = ctx.prefix.lines().rev().find(|line| !line.trim().is_empty())?;
    // The suffix starts with the rest of the cursor's (blank) line.
    let next = ctx.suffix.lines().skip(1).find(|line| !line.trim().is_empty());
    let unit = unit(ctx, previous_line);
    let previous = leading_blanks(previous_line);
    // Widths compare; the blanks themselves do not (a tab sorts before a space).
    let next_width = next.map(|it| leading_blanks(it).len());
    let deeper = next_width > Some(previous.len());
    let level = next_width == Some(previous.len());
    let indent = if opens_block(previous_line) {
        match next {
            // The body is written below: its indentation. (Further in
            // than a level, the missing line may open a block of its own.)
            Some(next)
                if !closes_bracket(next)
                    && deeper
                    && next_width <= Some(previous.len() + unit.len()) =>
            {
                leading_blanks(next).to_owned()
            }
            // An empty body, closed below or not yet: one level deeper.
            Some(next) if closes_bracket(next) && level => {
                format!("{previous}{unit}")
            }
            None => format!("{previous}{unit}"),
            Some(_) => return None,
        }
    } else {
        match next {
            // The line closes the body the cursor is in, one level out: the
            // cursor's line is the body's last line. More levels out, the
            // line may as well close a block in between.
            Some(next) if closes_bracket(next) => (previous
                == format!("{}{unit}", leading_blanks(next)))
            .then(|| previous.to_owned())?,
            // Between two lines of a body, the line is one more of it,
            // unless the body may go on with a clause of its statement: in
            // an `if` or `try` body the line may be its `else` or `except`.
            Some(_) if level && !clause_may_follow(ctx, previous) => previous.to_owned(),
            // A deeper line that continues the cursor's (`.iter()` in a
            // method chain) gives the continuation's indentation.
            Some(next) if deeper && continues(next) => leading_blanks(next).to_owned(),
            // At the end of the window after a finished line, or where the
            // lines around differ (the end of a Python body, an item's
            // missing header), the model keeps the choice.
            _ => return None,
        }
    };
    (!indent.is_empty()).then_some(indent)
}

/// Whether the body whose lines are indented by `indent` (the last non-blank
/// line of the prefix is one of them) belongs to an `if` or `try`, which an
/// `else`, `elif`, `except` or `catch` clause may continue.
fn clause_may_follow(ctx: &FimContext, indent: &str) -> bool {
    let opener = ctx
        .prefix
        .lines()
        .rev()
        .filter(|line| !line.trim().is_empty())
        .find(|line| leading_blanks(line).len() < indent.len());
    let Some(opener) = opener else { return false };
    let opener = opener.trim_start().trim_start_matches('}').trim_start();
    ["if ", "if(", "elif ", "else if", "try", "except", "catch"]
        .iter()
        .any(|it| opener.starts_with(it))
}

/// The blanks a line starts with.
pub(crate) fn leading_blanks(line: &str) -> &str {
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// Whether a line ends by opening a block or bracket whose body follows.
fn opens_block(line: &str) -> bool {
    line.trim_end().ends_with(['{', '(', '[', ':'])
}

/// Whether a line starts by closing a bracket.
fn closes_bracket(line: &str) -> bool {
    line.trim_start().starts_with(['}', ')', ']'])
}

/// Whether a line continues the one before it: a method call, an operator.
fn continues(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with(['.', '?', '&', '|', '+', '-', '*', '/', '%', '<', '>', '='])
        && !line.starts_with("//")
        && !line.starts_with("/*")
        && !line.starts_with("--")
}

/// One level of indentation in the prefix: a tab if `previous` is indented
/// with tabs, else the step by which a line most often goes deeper than the
/// line before it (two or four spaces, mostly), else four spaces.
fn unit(ctx: &FimContext, previous: &str) -> String {
    if leading_blanks(previous).starts_with('\t') {
        return "\t".to_owned();
    }
    let widths: Vec<usize> = ctx
        .prefix
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| leading_blanks(line).len())
        .collect();
    let mut counts = [0usize; 9];
    for pair in widths.windows(2) {
        if let Some(step) = pair[1].checked_sub(pair[0]).filter(|it| (1..=8).contains(it)) {
            counts[step] += 1;
        }
    }
    // The most frequent step; among equals the narrower.
    let step = (1..=8).rev().max_by_key(|&step| counts[step]).filter(|&step| counts[step] > 0);
    " ".repeat(step.unwrap_or(4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::fixture;

    fn implied_at(text: &str) -> Option<String> {
        implied(&fixture(text))
    }

    #[test]
    fn a_body_line_between_statements_takes_their_indentation() {
        assert_eq!(implied_at("fn f() {\n    let a = 1;\n$0\n    a\n}\n").as_deref(), Some("    "));
        assert_eq!(implied_at("def f(x):\n    y = x\n$0\n    return y\n").as_deref(), Some("    "));
    }

    #[test]
    fn the_last_line_of_a_body_takes_the_line_above() {
        assert_eq!(implied_at("fn f() {\n    let a = 1;\n$0\n}\n").as_deref(), Some("    "));
        // After an inner block's end, the outer body goes on.
        let inner = "fn f() {\n    if a {\n        b();\n    }\n$0\n}\n";
        assert_eq!(implied_at(inner).as_deref(), Some("    "));
    }

    #[test]
    fn the_first_line_of_a_body_is_one_level_deeper() {
        assert_eq!(implied_at("fn f() {\n$0\n}\n").as_deref(), Some("    "));
        assert_eq!(implied_at("fn f() {\n  if a {\n$0\n  }\n}\n").as_deref(), Some("    "));
        assert_eq!(implied_at("fn f() {\n\tif a {\n$0\n\t}\n}\n").as_deref(), Some("\t\t"));
        assert_eq!(implied_at("def f(x):\n$0").as_deref(), Some("    "));
        // A body written below gives its own indentation.
        let closure =
            "fn f() {\n    v.iter()\n        .scan(0, |b, &x| {\n$0\n            Some(*b)\n";
        assert_eq!(implied_at(closure).as_deref(), Some("            "));
    }

    #[test]
    fn a_level_is_the_prefixs_usual_step() {
        let fixture = "fn f() {\n  if a {\n    g(x,\n      y);\n  }\n  if b {\n$0\n  }\n}\n";
        assert_eq!(implied_at(fixture).as_deref(), Some("    "));
        assert_eq!(implied_at("x = 1\nif x:\n$0").as_deref(), Some("    "));
    }

    #[test]
    fn a_continuation_below_gives_its_indentation() {
        let chain = "fn f(v: &[u32]) -> u32 {\n    v\n$0\n        .sum()\n}\n";
        assert_eq!(implied_at(chain).as_deref(), Some("        "));
    }

    #[test]
    fn nothing_where_the_lines_around_leave_a_choice() {
        // Between top-level items.
        assert_eq!(implied_at("fn f() {}\n\n$0\n\nfn g() {}\n"), None);
        // The end of a Python body, or the next top-level statement.
        assert_eq!(implied_at("def f():\n    return 1\n$0\ndef g():\n    pass\n"), None);
        assert_eq!(implied_at("def f():\n        y()\n$0\n    return 1\n"), None);
        // A closing bracket two levels out: the line may close the block
        // in between.
        let inner = "fn f() {\n    if a {\n        b();\n$0\n}\n";
        assert_eq!(implied_at(inner), None);
        // In an `if` body, the line may be its `else`.
        assert_eq!(implied_at("if a:\n    b()\n$0\n    c()\n"), None);
        let rust = "fn f() {\n    if a {\n        b();\n$0\n        c();\n    }\n}\n";
        assert_eq!(implied_at(rust), None);
        // Two levels deeper below an opener: the line may open a block.
        let nested = "fn f() {\n    for x in y {\n$0\n            g();\n        }\n";
        assert_eq!(implied_at(nested), None);
        // An item's header line, missing above its body.
        assert_eq!(implied_at("#[derive(Debug)]\n$0\n    ctx: u32,\n}\n"), None);
        // At the end of the text after a finished line.
        assert_eq!(implied_at("def f():\n    y = 1\n$0"), None);
    }

    #[test]
    fn nothing_once_the_line_holds_anything() {
        assert_eq!(implied_at("fn f() {\n    $0\n}\n"), None);
        assert_eq!(implied_at("fn f() {\n$0    g();\n}\n"), None);
        assert_eq!(implied_at("fn f() {\n    a();\n$0 \n}\n"), None);
    }
}
