//! Greedy choice nudged toward continuing text that comes before the cursor.
//!
//! Code repeats itself within a file: a crate that writes `pub(crate) enum`
//! writes `pub(crate) struct` below it. A small model often misses that and
//! prefers the generic spelling by a narrow margin. Cache language models for
//! code mix a local n-gram model into the neural one for this reason; here
//! the mix is a bonus on the logits of the few tokens nearly as likely as the
//! best one, growing with the length of the run of earlier text they continue.
//!
//! The earlier text is what the prompt puts before the cursor (other files,
//! the file's prefix, what was typed), never the suffix: a run copied from
//! below the cursor is the start of a duplicate of the lines that follow.

use serde::{Deserialize, Serialize};

/// How much the text before the cursor weighs against the model's own
/// preference. It applies to greedy decoding only.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CopyBias {
    /// Only tokens whose logit is at most this far below the best one's are
    /// considered (a logit difference of 1.5 is a likelihood ratio of 4.5).
    #[schemars(range(min = 0.0, max = 10.0))]
    pub margin: f32,
    /// Logit bonus per token of the run a token continues; 0 turns the bias off.
    #[schemars(range(min = 0.0, max = 10.0))]
    pub per_token: f32,
    /// Runs shorter than this (in tokens, the candidate included) earn
    /// nothing: a token or two in common is what any two lines share.
    #[schemars(range(min = 1))]
    pub min_run: usize,
    /// Runs longer than this count as this long.
    #[schemars(range(min = 1))]
    pub max_run: usize,
}

impl Default for CopyBias {
    fn default() -> Self {
        CopyBias { margin: 1.5, per_token: 0.5, min_run: 3, max_run: 8 }
    }
}

/// What a token does to the text, as far as the bias cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// Text within a line.
    Inline,
    /// Text that holds a newline.
    LineEnd,
    /// A control token: the end of the generation.
    End,
}

/// What [`CopyBias::choose`] chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The model's own choice: the token with the highest logit.
    pub best: i32,
    /// The token to generate.
    pub chosen: i32,
    /// The run of earlier text the chosen token continues.
    pub run: usize,
}

/// At most this many candidates are weighed at each step.
const CANDIDATES: usize = 8;

impl CopyBias {
    /// No bias: plain greedy decoding.
    pub const OFF: CopyBias = CopyBias { margin: 0.0, per_token: 0.0, min_run: 1, max_run: 1 };

    pub fn is_off(&self) -> bool {
        self.per_token <= 0.0 || self.margin <= 0.0
    }

    /// The token to generate given the model's `logits` (indexed by token):
    /// among the tokens within the margin of the best, the one with the
    /// highest logit plus bonus. `history` is the text before the point of
    /// generation as tokens (the text before the cursor, then what was
    /// generated), `earlier` the tokens a run may be found in. Ties go to the
    /// model's choice. `None` only for empty logits.
    ///
    /// Only tokens of the model's choice's [`TokenKind`] (`kind_of`) are
    /// weighed: the bias picks between spellings and never moves the end of
    /// a line or of the generation, since a run that goes on past where the
    /// model would stop is a copy of the text it came from.
    pub fn choose(
        &self,
        logits: &[f32],
        earlier: &[i32],
        history: &[i32],
        kind_of: &dyn Fn(i32) -> TokenKind,
    ) -> Option<Choice> {
        let candidates = self.candidates(logits);
        let &(best, _) = candidates.first()?;
        let mut choice = Choice { best, chosen: best, run: 0 };
        if self.is_off() {
            return Some(choice);
        }
        let kind = kind_of(best);
        let mut score = f32::NEG_INFINITY;
        for &(token, logit) in candidates.iter().filter(|it| kind_of(it.0) == kind) {
            let run = run_length(earlier, history, token, self.max_run.max(1));
            let bonus = if run >= self.min_run { self.per_token * run as f32 } else { 0.0 };
            if logit + bonus > score {
                score = logit + bonus;
                choice = Choice { best, chosen: token, run };
            }
        }
        Some(choice)
    }

    /// The tokens whose logit is within the margin of the best, best first,
    /// at most [`CANDIDATES`] of them.
    fn candidates(&self, logits: &[f32]) -> Vec<(i32, f32)> {
        let best = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let floor = best - self.margin.max(0.0);
        let mut near: Vec<(i32, f32)> =
            (0..).zip(logits.iter().copied()).filter(|(_, logit)| *logit >= floor).collect();
        // Stable, so equal logits keep the order of their token numbers, as
        // llama.cpp's greedy sampler breaks ties.
        near.sort_by(|a, b| b.1.total_cmp(&a.1));
        near.truncate(CANDIDATES);
        near
    }
}

/// The length, at most `cap`, of the longest run of `earlier` that ends in
/// `next` and is preceded by the end of `history`: 1 when `next` occurs in
/// `earlier` but never after the token `history` ends with, 0 when it does
/// not occur at all.
pub fn run_length(earlier: &[i32], history: &[i32], next: i32, cap: usize) -> usize {
    let mut best = 0;
    for (end, _) in earlier.iter().enumerate().filter(|(_, it)| **it == next) {
        let mut len = 1;
        while len < cap
            && len <= end
            && len <= history.len()
            && earlier[end - len] == history[history.len() - len]
        {
            len += 1;
        }
        best = best.max(len);
        if best >= cap {
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::{Choice, CopyBias, TokenKind, run_length};

    #[test]
    fn run_length_counts_the_matched_history_and_the_token() {
        let earlier = [1, 2, 3, 4, 9, 2, 3, 5];
        assert_eq!(run_length(&earlier, &[7, 2, 3], 4, 10), 3);
        assert_eq!(run_length(&earlier, &[1, 2, 3], 4, 10), 4);
        assert_eq!(run_length(&earlier, &[1, 2, 3], 4, 2), 2);
        assert_eq!(run_length(&earlier, &[2, 3], 5, 10), 3);
        assert_eq!(run_length(&earlier, &[8], 5, 10), 1);
        assert_eq!(run_length(&earlier, &[2, 3], 6, 10), 0);
        assert_eq!(run_length(&earlier, &[], 1, 10), 1);
        assert_eq!(run_length(&[], &[1], 1, 10), 0);
    }

    fn inline(_: i32) -> TokenKind {
        TokenKind::Inline
    }

    /// Logits over a vocabulary of 8 tokens, all far below the given ones.
    fn logits(given: &[(usize, f32)]) -> Vec<f32> {
        let mut logits = vec![-10.0; 8];
        for &(token, logit) in given {
            logits[token] = logit;
        }
        logits
    }

    #[test]
    fn a_near_tie_goes_to_the_token_that_continues_earlier_text() {
        let bias = CopyBias { margin: 2.0, per_token: 0.5, min_run: 3, max_run: 8 };
        // Earlier text: `] \n pub ( crate ) enum`; the history ends `] \n pub`.
        let earlier = [1, 2, 3, 4, 5, 6, 7];
        let history = [1, 2, 3];
        // `(` continues a run of 4 and earns 2.0; ` struct` (0) earns nothing.
        let chosen = |bias: &CopyBias, logits: &[f32], earlier: &[i32], history: &[i32]| {
            bias.choose(logits, earlier, history, &inline).map(|it| it.chosen)
        };
        assert_eq!(
            bias.choose(&logits(&[(0, 5.0), (4, 4.5)]), &earlier, &history, &inline),
            Some(Choice { best: 0, chosen: 4, run: 4 })
        );
        // Outside the margin the model's choice stands.
        assert_eq!(chosen(&bias, &logits(&[(0, 5.0), (4, 2.9)]), &earlier, &history), Some(0));
        // A run shorter than `min_run` earns nothing.
        assert_eq!(chosen(&bias, &logits(&[(0, 5.0), (4, 4.9)]), &earlier, &[9, 3]), Some(0));
        // Off, or without a difference in runs, the best logit wins.
        let off = CopyBias::OFF;
        assert_eq!(chosen(&off, &logits(&[(0, 5.0), (4, 4.9)]), &earlier, &history), Some(0));
        assert_eq!(chosen(&bias, &logits(&[(0, 5.0), (4, 4.9)]), &[], &history), Some(0));
        assert_eq!(bias.choose(&[], &earlier, &history, &inline), None);
    }

    #[test]
    fn equal_logits_go_to_the_lower_token_number() {
        let bias = CopyBias::default();
        let choice = bias.choose(&logits(&[(5, 3.0), (2, 3.0)]), &[], &[], &inline);
        assert_eq!(choice.map(|it| it.chosen), Some(2));
    }

    #[test]
    fn the_bias_never_moves_the_end_of_a_line_or_of_the_generation() {
        let bias = CopyBias::default();
        // Earlier text `f ( a , b )`; the history ends `f ( a`. The model
        // would end the line with `,\n` (7) or stop (6); `,` (3) continues
        // a run of 3.
        let earlier = [1, 2, 0, 3, 4, 5];
        let history = [1, 2, 0];
        let kind_of = |id: i32| match id {
            7 => TokenKind::LineEnd,
            6 => TokenKind::End,
            _ => TokenKind::Inline,
        };
        let chosen = |given: &[(usize, f32)]| {
            bias.choose(&logits(given), &earlier, &history, &kind_of).map(|it| it.chosen)
        };
        assert_eq!(chosen(&[(7, 5.0), (3, 4.5)]), Some(7));
        assert_eq!(chosen(&[(6, 5.0), (3, 4.5)]), Some(6));
        // Between two tokens within the line, the run wins.
        assert_eq!(chosen(&[(4, 5.0), (3, 4.5)]), Some(3));
    }
}
