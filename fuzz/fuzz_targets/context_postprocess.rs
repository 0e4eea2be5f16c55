//! One completion request without the model, on arbitrary text, cursor,
//! settings and model output: the context and the prompt as
//! `Completer::prepare` builds them (windows, header, syntax boundaries,
//! mode, token healing, FIM format), the engine's stop rules, then
//! post-processing and the syntax check as `Completer::complete` runs them;
//! and the cross-file context taken from the same text.
//!
//! Invariants:
//! - the windows are what the cursor's position says: the middle is the
//!   cursor's line up to the cursor, the suffix starts at the cursor, the
//!   prefix ends where the line starts (after the file's header, if shown)
//!   and both stay within their budgets;
//! - a suggestion is never blank, holds no stop string, is one line where
//!   one line was asked for and at most `max_lines` otherwise, and the
//!   syntax check only ever cuts it back to whole lines;
//! - definitions lie on character boundaries of the text, the rope and the
//!   string version of `identifiers_near` agree, and cross-file blocks stay
//!   within their budget.

#![no_main]

use std::{future::Future, pin::Pin, sync::Arc};

use arbitrary::Arbitrary;
use hearth::{
    completion::{
        Completer, CompletionConfig, CompletionRequest, Pipeline, Trigger, postprocess,
        scheduler::Runner, syntax_check,
    },
    context::{
        ContextConfig, Mode,
        fim::FimFamily,
        header,
        mode::ModeConfig,
        related::{self, BUDGET_BYTES, WINDOW_BYTES},
    },
    documents::parse_fresh,
    engine::{Generation, Job, JobError, Piece as PromptPiece, apply_stop_rules},
    workspace::DefinitionIndex,
};
use hearth_fuzz::{Piece, lang, text};
use libfuzzer_sys::fuzz_target;
use ropey::Rope;

#[derive(Arbitrary, Debug)]
struct Input {
    language: u8,
    /// Hand the document's tree to the pipeline (else it has none, as while
    /// a reparse is behind).
    with_tree: bool,
    text: Vec<Piece>,
    /// A byte offset, moved back to a character boundary.
    cursor: u16,
    prefix_bytes: Budget,
    suffix_bytes: Budget,
    in_comments_and_strings: bool,
    invoked: bool,
    family: u8,
    raw_fim: bool,
    /// Whether the generation begins with the healed text, as the engine
    /// makes it unless it gives up early.
    healed: bool,
    output: Vec<Piece>,
}

/// A window budget: the default, a small one (edges everywhere), or any.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Budget {
    Default,
    Small(u8),
    Any(u64),
}

impl Budget {
    fn get(self, default: usize) -> usize {
        match self {
            Budget::Default => default,
            Budget::Small(n) => usize::from(n),
            Budget::Any(n) => usize::try_from(n).unwrap_or(usize::MAX),
        }
    }
}

/// The model is never asked: the target stands in for it.
struct NoModel;

impl Runner for NoModel {
    fn run(&self, _: Job) -> Pin<Box<dyn Future<Output = Result<Generation, JobError>> + Send>> {
        Box::pin(async { Err(JobError::Cancelled) })
    }
}

fuzz_target!(|input: Input| run(input));

fn run(input: Input) {
    let source = text(&input.text);
    let rope = Rope::from_str(&source);
    let mut cursor = usize::from(input.cursor).min(source.len());
    while !source.is_char_boundary(cursor) {
        cursor -= 1;
    }
    let lang = lang(input.language);
    let tree = lang.and_then(|lang| parse_fresh(lang, &source));
    let tree = tree.as_ref().filter(|_| input.with_tree);
    let defaults = ContextConfig::default();
    let context = ContextConfig {
        prefix_bytes: input.prefix_bytes.get(defaults.prefix_bytes),
        suffix_bytes: input.suffix_bytes.get(defaults.suffix_bytes),
    };
    let config = CompletionConfig {
        context,
        pipeline: if input.raw_fim { Pipeline::RawFim } else { Pipeline::Full },
        mode: ModeConfig { in_comments_and_strings: input.in_comments_and_strings },
        ..CompletionConfig::default()
    };
    let family = FimFamily::ALL[usize::from(input.family) % FimFamily::ALL.len()];
    let completer = Completer::new(Arc::new(NoModel), family, config.clone());
    let trigger = if input.invoked { Trigger::Invoked } else { Trigger::Automatic };
    let request = CompletionRequest {
        key: "doc",
        text: &rope,
        cursor,
        path: "src/current.rs",
        repo_name: "fuzz",
        lang,
        tree,
        other_files: &[],
        trigger,
    };

    let header = match (tree, lang) {
        (Some(tree), Some(lang)) => header::header_range(tree, lang, &rope),
        _ => None,
    };
    if let Some(range) = &header {
        assert_eq!(range.start, 0);
        assert!(source.is_char_boundary(range.end), "header {range:?}");
        assert!(range.end == source.len() || source[..range.end].ends_with('\n'));
    }

    let (ctx, job) = completer.prepare(&request);

    // The windows.
    let anchor = source[..cursor].rfind('\n').map_or(0, |at| at + 1);
    assert_eq!(ctx.anchor, anchor);
    assert_eq!(ctx.middle, source[anchor..cursor]);
    let line_end = source[cursor..].find('\n').map_or(source.len(), |at| cursor + at + 1);
    assert_eq!(ctx.line_after_cursor, source[cursor..line_end].trim_end_matches(['\n', '\r']));
    assert!(source[cursor..].starts_with(&ctx.suffix), "suffix {:?}", ctx.suffix);
    assert!(ctx.suffix.len() <= context.suffix_bytes, "suffix of {} bytes", ctx.suffix.len());
    let before = &source[..anchor];
    if !before.ends_with(&ctx.prefix) {
        // The header, a line break, then the window.
        let split = ctx.prefix.match_indices('\n').any(|(at, _)| {
            let (head, window) = (&ctx.prefix[..at], &ctx.prefix[at + 1..]);
            source.starts_with(head)
                && (head.is_empty() || head.ends_with('\n'))
                && before.ends_with(window)
                && head.len() < before.len() - window.len()
        });
        assert!(header.is_some() && split, "prefix {:?}", ctx.prefix);
        // One byte over: the line break between header and window.
        assert!(
            ctx.prefix.len() <= context.prefix_bytes.saturating_add(1),
            "prefix of {}",
            ctx.prefix.len()
        );
    } else {
        assert!(ctx.prefix.len() <= context.prefix_bytes, "prefix of {}", ctx.prefix.len());
    }
    if input.invoked {
        assert_ne!(ctx.mode, Mode::Empty, "an explicit request is always answered");
    }

    // The prompt.
    assert!(ctx.middle.ends_with(&job.required_prefix), "healed {:?}", job.required_prefix);
    for piece in &job.prompt.pieces {
        if let PromptPiece::Special(marker) = piece {
            assert!(family.required_markers().contains(marker), "marker {marker:?}");
        }
    }

    if ctx.mode != Mode::Empty {
        let output = text(&input.output);
        let generated =
            if input.healed { format!("{}{output}", job.required_prefix) } else { output };
        let generated = match apply_stop_rules(&generated, &job.stop) {
            Some(cut) => &generated[..cut],
            None => generated.as_str(),
        };
        if !input.raw_fim {
            check_suggestion(&request, &ctx, &job, family, &config, generated);
        }
    }

    // Cross-file context from the same text.
    let near = related::identifiers_near(&source, cursor, WINDOW_BYTES);
    assert_eq!(near, related::identifiers_near_rope(&rope, cursor, WINDOW_BYTES));
    if let (Some(lang), Some(tree)) = (lang, tree) {
        let definitions = related::extract_definitions(lang, &source, tree);
        for definition in &definitions {
            let range = &definition.byte_range;
            assert!(range.start <= range.end && range.end <= source.len(), "{range:?}");
            assert!(source.is_char_boundary(range.start) && source.is_char_boundary(range.end));
            assert!(!definition.name.is_empty());
        }
        let mut index = DefinitionIndex::default();
        index.update_file("src/other.rs", lang, &source, tree);
        let blocks = related::blocks_at(&index, &rope, cursor, "src/current.rs", &context);
        let used: usize = blocks.iter().map(|it| it.path.len() + it.text.len() + 2).sum();
        assert!(used <= BUDGET_BYTES, "{used} bytes of blocks");
    }
}

/// Post-processing and the syntax check, as `Completer::complete` runs them
/// on what the engine generated.
fn check_suggestion(
    request: &CompletionRequest<'_>,
    ctx: &hearth::context::FimContext,
    job: &Job,
    family: FimFamily,
    config: &CompletionConfig,
    generated: &str,
) {
    let typed_indent = if ctx.middle.trim().is_empty() { ctx.middle.as_str() } else { "" };
    let Some(raw) = generated.strip_prefix(job.required_prefix.as_str()) else { return };
    let Some(cleaned) = postprocess::clean(&format!("{typed_indent}{raw}"), ctx) else { return };
    assert!(!cleaned.trim().is_empty(), "a blank suggestion");
    for stop in family.stop_strings() {
        assert!(!cleaned.contains(stop), "{stop:?} in {cleaned:?}");
    }
    match ctx.mode {
        Mode::MultiLine => {
            assert!(cleaned.lines().count() <= config.max_lines, "{cleaned:?}");
        }
        _ => assert!(!cleaned.contains('\n'), "a single-line suggestion {cleaned:?}"),
    }
    let Some(lang) = request.lang else { return };
    // What is offered when the model has nothing: blanks and one closer.
    if let Some(line) =
        syntax_check::missing_closer(lang, request.text, request.tree, request.cursor)
    {
        let closer = line.trim_start_matches([' ', '\t']);
        assert!(matches!(closer, ")" | "]" | "}"), "missing_closer offered {line:?}");
    }
    let checked =
        syntax_check::keep_syntax_clean(lang, request.text, request.tree, request.cursor, &cleaned);
    if let Some(checked) = checked {
        assert!(
            !checked.trim().is_empty(),
            "the syntax check left {checked:?} of {cleaned:?} at {} in {:?} ({lang:?})",
            request.cursor,
            request.text.to_string()
        );
        // The check cuts at a line's end, and may then close the brackets
        // the kept lines leave open, on lines of their own.
        let mut kept = checked.as_str();
        while !cleaned.starts_with(kept)
            && let Some((head, last)) = kept.rsplit_once('\n')
        {
            let closers = last.trim_start_matches([' ', '\t']);
            assert!(
                !closers.is_empty() && closers.chars().all(|c| matches!(c, ')' | ']' | '}')),
                "the syntax check wrote {last:?} into {checked:?} from {cleaned:?}"
            );
            kept = head;
        }
        let rest = cleaned.strip_prefix(kept).expect("the syntax check cuts and closes, no more");
        assert!(rest.is_empty() || rest.starts_with('\n'), "cut inside a line: {rest:?}");
    }
}
