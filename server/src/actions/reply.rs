//! Taking the code out of the model's answer.
//!
//! The prompts ask for one fenced block and nothing else, but instruct
//! models add a sentence before or after it, forget the fence, or stop in
//! the middle of the block when they reach the token limit. All of these
//! still carry usable code.

/// The code in `reply`: the content of its first fenced block (whatever its
/// info string), or, without a fence, the whole reply with any stray fence
/// lines dropped. Blank lines at both ends are removed, indentation is kept.
/// `None` when nothing but blanks is left.
pub fn extract_code(reply: &str) -> Option<String> {
    let lines: Vec<&str> = reply.lines().collect();
    if let Some(open) = lines.iter().position(|it| is_fence(it)) {
        let body = lines.get(open + 1..).unwrap_or_default();
        // A block cut short by the token limit has no closing fence: the
        // rest of the reply is its content.
        let close = body.iter().position(|it| is_fence(it)).unwrap_or(body.len());
        if let Some(code) = trimmed(body.get(..close).unwrap_or_default()) {
            return Some(code);
        }
        // An empty block, or a lone fence that closes code written without
        // an opening one: the code, if any, is outside the fences.
    }
    let unfenced: Vec<&str> = lines.into_iter().filter(|it| !is_fence(it)).collect();
    trimmed(&unfenced)
}

/// `lines` without trailing blanks and blank lines at both ends, joined;
/// `None` when nothing is left.
fn trimmed(lines: &[&str]) -> Option<String> {
    let first = lines.iter().position(|it| !it.trim().is_empty())?;
    let last = lines.iter().rposition(|it| !it.trim().is_empty())?;
    let kept: Vec<&str> = lines.get(first..=last)?.iter().map(|it| it.trim_end()).collect();
    Some(kept.join("\n"))
}

/// A Markdown fence line: three or more backticks, possibly indented and
/// followed by an info string.
fn is_fence(line: &str) -> bool {
    line.trim_start().starts_with("```")
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn takes_the_first_fenced_block() {
        let reply =
            "Here is the fix:\n\n```rust\nfn f() {\n    1\n}\n```\n\nAnd more:\n```\nx\n```\n";
        expect![[r#"
            fn f() {
                1
            }"#]]
        .assert_eq(&extract_code(reply).unwrap());
        // Any info string, or none.
        assert_eq!(extract_code("```py title=a.py\n    x = 1\n```").as_deref(), Some("    x = 1"));
        assert_eq!(extract_code("```\n\"\"\"Doc.\"\"\"\n```").as_deref(), Some("\"\"\"Doc.\"\"\""));
    }

    #[test]
    fn an_unterminated_block_runs_to_the_end() {
        assert_eq!(
            extract_code("```go\nfunc f() {\n\treturn\n").as_deref(),
            Some("func f() {\n\treturn")
        );
    }

    #[test]
    fn a_reply_without_fences_is_taken_whole() {
        assert_eq!(
            extract_code("\n\n/// Adds two numbers.\n/// Wraps on overflow.  \n\n").as_deref(),
            Some("/// Adds two numbers.\n/// Wraps on overflow.")
        );
        // A stray closing fence with no opening one is dropped.
        assert_eq!(extract_code("x = 1\n```").as_deref(), Some("x = 1"));
    }

    #[test]
    fn blank_replies_have_no_code() {
        assert_eq!(extract_code(""), None);
        assert_eq!(extract_code("  \n\t\n"), None);
        assert_eq!(extract_code("```rust\n\n```"), None);
        assert_eq!(extract_code("```"), None);
    }
}
