//! How many suggestions add syntax errors to the document they are inserted
//! into: ERROR or MISSING nodes in tree-sitter's parse of prefix +
//! suggestion + suffix, beyond those of prefix + suffix. It reads the cases
//! of `../shared/eval/public-cases.jsonl` and the per-case answers that
//! `run_eval.py --dump` wrote for a server (Hearth, or Hearth with
//! `"pipeline": "rawFim"` for the baseline):
//!
//! `cargo run --release -p hearth-benches --example syntax_breaks -- CASES DUMP`
#![allow(clippy::print_stdout, reason = "a measurement reports its figures on stdout")]
use std::collections::HashMap;

use hearth::completion::syntax_check::errors_without_and_with;
use hearth_grammars::Lang;
use serde_json::Value;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [cases, dump] = args.as_slice() else {
        return Err("usage: syntax_breaks CASES.jsonl DUMP.jsonl".into());
    };
    let lines = |path: &str| -> Result<Vec<Value>, Box<dyn std::error::Error>> {
        let text = std::fs::read_to_string(path)?;
        text.lines()
            .filter(|it| !it.trim().is_empty())
            .map(|it| Ok(serde_json::from_str(it)?))
            .collect()
    };
    let answers: HashMap<String, String> = lines(dump)?
        .into_iter()
        .filter_map(|it| Some((it["id"].as_str()?.to_owned(), it["got"].as_str()?.to_owned())))
        .collect();
    let (mut suggestions, mut breaking, mut unchecked) = (0, Vec::new(), 0);
    for case in lines(cases)? {
        let field = |name: &str| case[name].as_str().unwrap_or_default();
        let Some(got) = answers.get(field("id")).filter(|it| !it.trim().is_empty()) else {
            continue;
        };
        suggestions += 1;
        let Some(lang) = Lang::from_language_id(field("language")) else {
            unchecked += 1;
            continue;
        };
        let text = format!("{}{}", field("prefix"), field("suffix"));
        match errors_without_and_with(lang, &text, field("prefix").len(), got) {
            Some((without, with)) if with > without => {
                breaking.push(format!("{} ({without} -> {with})", field("id")));
            }
            Some(_) => {}
            None => unchecked += 1,
        }
    }
    println!(
        "{suggestions} suggestions, {} add syntax errors, {unchecked} unchecked",
        breaking.len()
    );
    for it in &breaking {
        println!("  {it}");
    }
    Ok(())
}
