//! Fill-in-the-middle prompt formats, one row per model family.
//!
//! The family is chosen from the control tokens in the model's own vocabulary
//! (the GGUF), never from its file name, and can be overridden by a setting.
//! Markers are emitted as [`Piece::Special`] so the engine tokenizes them as
//! control tokens while the user's code is always tokenized as plain text: a
//! file that happens to contain `<|fim_prefix|>` cannot inject a marker.

use std::collections::HashSet;

use serde::Deserialize;

use crate::engine::{Piece, Prompt};

/// A model family's FIM format.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum FimFamily {
    /// Qwen2.5-Coder: prefix-suffix-middle with repository-level file blocks.
    Qwen,
    /// StarCoder2: like Qwen with unpiped markers.
    StarCoder2,
    /// DeepSeek-Coder: begin/hole/end markers, files as path comments.
    DeepSeek,
    /// CodeLlama: `<PRE> … <SUF>… <MID>`.
    CodeLlama,
    /// Codestral: suffix first, then prefix.
    Codestral,
}

/// Another file shown to the model before the current one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileBlock {
    pub path: String,
    pub text: String,
}

/// What goes into one FIM prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FimParts<'a> {
    pub repo_name: &'a str,
    pub path: &'a str,
    pub other_files: &'a [FileBlock],
    pub prefix: &'a str,
    pub suffix: &'a str,
    /// Text the user typed since the anchor; the model continues it.
    pub middle: &'a str,
}

impl FimFamily {
    pub const ALL: [FimFamily; 5] = [
        FimFamily::Qwen,
        FimFamily::StarCoder2,
        FimFamily::DeepSeek,
        FimFamily::CodeLlama,
        FimFamily::Codestral,
    ];

    /// Finds the family whose markers are all control tokens of the model.
    pub fn detect(control_tokens: &HashSet<String>) -> Option<FimFamily> {
        FimFamily::ALL
            .into_iter()
            .find(|family| family.required_markers().iter().all(|it| control_tokens.contains(*it)))
    }

    /// The markers that must exist as single control tokens for this format.
    pub fn required_markers(self) -> &'static [&'static str] {
        match self {
            FimFamily::Qwen => &[
                "<|fim_prefix|>",
                "<|fim_suffix|>",
                "<|fim_middle|>",
                "<|file_sep|>",
                "<|repo_name|>",
            ],
            FimFamily::StarCoder2 => {
                &["<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<file_sep>", "<repo_name>"]
            }
            FimFamily::DeepSeek => &["<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"],
            FimFamily::CodeLlama => &["▁<PRE>", "▁<SUF>", "▁<MID>"],
            FimFamily::Codestral => &["[PREFIX]", "[SUFFIX]", "[MIDDLE]"],
        }
    }

    /// Text that ends a suggestion if the model writes it: markers that start
    /// another section or file. Control tokens already stop generation in the
    /// engine; these catch the same markers spelled as plain text.
    pub fn stop_strings(self) -> &'static [&'static str] {
        match self {
            FimFamily::Qwen => &[
                "<|endoftext|>",
                "<|file_sep|>",
                "<|fim_prefix|>",
                "<|fim_suffix|>",
                "<|fim_middle|>",
                "<|fim_pad|>",
                "<|repo_name|>",
                "<|im_end|>",
            ],
            FimFamily::StarCoder2 => &[
                "<|endoftext|>",
                "<file_sep>",
                "<fim_prefix>",
                "<fim_suffix>",
                "<fim_middle>",
                "<fim_pad>",
            ],
            FimFamily::DeepSeek => &[
                "<｜end▁of▁sentence｜>",
                "<｜fim▁begin｜>",
                "<｜fim▁hole｜>",
                "<｜fim▁end｜>",
                "<|EOT|>",
            ],
            FimFamily::CodeLlama => &[" <EOT>", "<EOT>", "<PRE>", "<SUF>", "<MID>"],
            FimFamily::Codestral => &["</s>", "[PREFIX]", "[SUFFIX]", "[MIDDLE]"],
        }
    }

    /// Builds the prompt. The part that changes while the user types (the
    /// middle) always comes last, so typing only appends tokens.
    pub fn build(self, parts: &FimParts<'_>) -> Prompt {
        let mut p = Prompt::default();
        let text = |s: &str| Piece::Text(s.to_owned());
        match self {
            FimFamily::Qwen | FimFamily::StarCoder2 => {
                let (repo, sep, pre, suf, mid) = if self == FimFamily::Qwen {
                    (
                        "<|repo_name|>",
                        "<|file_sep|>",
                        "<|fim_prefix|>",
                        "<|fim_suffix|>",
                        "<|fim_middle|>",
                    )
                } else {
                    ("<repo_name>", "<file_sep>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>")
                };
                p.push(Piece::Special(repo));
                p.push_before_cursor(text(&format!("{}\n", parts.repo_name)));
                for file in parts.other_files {
                    p.push(Piece::Special(sep));
                    p.push_before_cursor(text(&format!(
                        "{}\n{}",
                        file.path,
                        ensure_newline(&file.text)
                    )));
                }
                p.push(Piece::Special(sep));
                p.push_before_cursor(text(&format!("{}\n", parts.path)));
                p.push(Piece::Special(pre));
                p.push_before_cursor(text(parts.prefix));
                p.push(Piece::Special(suf));
                p.push(text(parts.suffix));
                p.push(Piece::Special(mid));
            }
            FimFamily::DeepSeek => {
                p.push(Piece::Special("<｜fim▁begin｜>"));
                let mut head = String::new();
                for file in parts.other_files {
                    head.push_str(&format!("# {}\n{}", file.path, ensure_newline(&file.text)));
                }
                head.push_str(&format!("# {}\n", parts.path));
                p.push_before_cursor(text(&(head + parts.prefix)));
                p.push(Piece::Special("<｜fim▁hole｜>"));
                p.push(text(parts.suffix));
                p.push(Piece::Special("<｜fim▁end｜>"));
            }
            FimFamily::CodeLlama => {
                p.push(Piece::Special("▁<PRE>"));
                p.push_before_cursor(text(&format!(" {}", parts.prefix)));
                p.push(Piece::Special("▁<SUF>"));
                p.push(text(parts.suffix));
                p.push(Piece::Special("▁<MID>"));
            }
            FimFamily::Codestral => {
                p.push(Piece::Special("[SUFFIX]"));
                p.push(text(parts.suffix));
                p.push(Piece::Special("[PREFIX]"));
                p.push_before_cursor(text(parts.prefix));
            }
        }
        if !parts.middle.is_empty() {
            p.push_before_cursor(text(parts.middle));
        }
        p
    }
}

fn ensure_newline(text: &str) -> String {
    if text.ends_with('\n') { text.to_owned() } else { format!("{text}\n") }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    fn parts<'a>(middle: &'a str, other_files: &'a [FileBlock]) -> FimParts<'a> {
        FimParts {
            repo_name: "demo",
            path: "src/lib.rs",
            other_files,
            prefix: "fn add(a: i32, b: i32) -> i32 {\n",
            suffix: "\n}\n",
            middle,
        }
    }

    #[test]
    fn detects_each_family_from_its_own_markers() {
        for family in FimFamily::ALL {
            let tokens = family.required_markers().iter().map(|it| (*it).to_owned()).collect();
            assert_eq!(FimFamily::detect(&tokens), Some(family));
        }
        let partial: HashSet<String> = ["<|fim_prefix|>".to_owned()].into();
        assert_eq!(FimFamily::detect(&partial), None);
    }

    #[test]
    fn qwen_uses_the_repository_level_form() {
        let other =
            [FileBlock { path: "src/math.rs".into(), text: "pub fn one() -> i32 { 1 }".into() }];
        expect![[r#"<|repo_name|>demo
<|file_sep|>src/math.rs
pub fn one() -> i32 { 1 }
<|file_sep|>src/lib.rs
<|fim_prefix|>fn add(a: i32, b: i32) -> i32 {
<|fim_suffix|>
}
<|fim_middle|>    a"#]]
        .assert_eq(&FimFamily::Qwen.build(&parts("    a", &other)).render());
    }

    #[test]
    fn typing_only_appends_to_the_prompt() {
        for family in FimFamily::ALL {
            let before = family.build(&parts("    a", &[])).render();
            let after = family.build(&parts("    a +", &[])).render();
            assert!(after.starts_with(&before), "{family:?}:\n{before}\n---\n{after}");
        }
    }

    #[test]
    fn the_text_before_the_cursor_ends_with_the_prefix_and_what_was_typed() {
        let other =
            [FileBlock { path: "src/math.rs".into(), text: "pub fn one() -> i32 { 1 }".into() }];
        for family in FimFamily::ALL {
            let prompt = family.build(&parts("    a", &other));
            let before: String = prompt
                .before_cursor
                .iter()
                .map(|&i| match &prompt.pieces[i] {
                    Piece::Text(text) => text.as_str(),
                    other => panic!("{family:?}: {other:?} is not text"),
                })
                .collect();
            assert!(
                before.ends_with("fn add(a: i32, b: i32) -> i32 {\n    a"),
                "{family:?}: {before}"
            );
            assert!(!before.contains("\n}\n"), "{family:?}: the suffix is not before the cursor");
        }
    }

    #[test]
    fn stop_strings_cover_the_section_markers() {
        for family in [FimFamily::Qwen, FimFamily::StarCoder2] {
            let stops = family.stop_strings();
            for marker in family.required_markers().iter().filter(|it| !it.contains("repo")) {
                assert!(stops.contains(marker), "{family:?} lacks {marker}");
            }
        }
    }
}
