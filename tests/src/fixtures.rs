//! Source files the code action tests and the code actions bench
//! (`benches/benches/actions.rs`) both resolve actions on, so the bench
//! measures what the tests check, and what both do with them: list the
//! actions, run `hearth.rewrite`, read the edits the server sends, apply them
//! and check that the result still compiles or parses.

use std::{
    io::{self, Write as _},
    ops::Range,
    process::{Command, Stdio},
};

use serde_json::{Value, json};

use crate::{
    client::{RpcError, Server},
    text::{Encoding, Position, offset_of, position_of},
};

/// A small Rust library: a documented function, one with a loop and one with
/// an iterator chain, for Document, Explain, Write a test and Rewrite.
pub const RUST_ACTIONS: &str = "\
/// Adds two numbers.
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

pub fn largest(values: &[i32]) -> Option<i32> {
    let mut best = None;
    for &value in values {
        if best.map_or(true, |b| value > b) {
            best = Some(value);
        }
    }
    best
}

pub fn is_palindrome(word: &str) -> bool {
    let chars: Vec<char> = word.chars().collect();
    chars.iter().eq(chars.iter().rev())
}
";

/// A small Python module: a function and a class with two methods, for the
/// same actions in Python's conventions.
pub const PYTHON_ACTIONS: &str = "\
import math


def circle_area(radius):
    return math.pi * radius ** 2


class Counter:
    def __init__(self):
        self.count = 0

    def increment(self, step=1):
        self.count += step
        return self.count
";

/// Rust with a type error in `halve` (`n / 2.0` on an `i32`) and a correct
/// `double` after it, for Fix: a fix must replace only `halve`.
pub const RUST_TYPE_ERROR: &str = "\
pub fn halve(n: i32) -> i32 {
    n / 2.0
}

pub fn double(n: i32) -> i32 {
    n * 2
}
";

/// The code actions listed for `start..end` of the document at `uri`, with
/// `diagnostics` as the editor's (see [`diagnostic`]); fails the test (or
/// bench) when the request does.
pub fn code_actions(
    server: &Server,
    uri: &str,
    start: Position,
    end: Position,
    diagnostics: Value,
) -> Value {
    server
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": { "uri": uri },
                "range": { "start": start.to_json(), "end": end.to_json() },
                "context": { "diagnostics": diagnostics },
            }),
        )
        .unwrap_or_else(|err| server.fail(&format!("codeAction failed: {err}")))
}

/// An error diagnostic with `message` over `range` (bytes of `text`), as an
/// editor passes it to `textDocument/codeAction`.
pub fn diagnostic(server: &Server, text: &str, range: Range<usize>, message: &str) -> Value {
    let encoding = server.position_encoding();
    json!({
        "range": {
            "start": position_of(text, range.start, encoding).to_json(),
            "end": position_of(text, range.end, encoding).to_json(),
        },
        "severity": 1,
        "message": message,
    })
}

/// Runs `hearth.rewrite` over `selection` (bytes of `text`, the document at
/// `uri`) with the user's `instruction`. The edit comes back as a
/// `workspace/applyEdit` request (see [`applied_edits`]).
pub fn rewrite(
    server: &Server,
    uri: &str,
    text: &str,
    selection: Range<usize>,
    instruction: &str,
) -> Result<Value, RpcError> {
    let encoding = server.position_encoding();
    server.request(
        "workspace/executeCommand",
        json!({
            "command": "hearth.rewrite",
            "arguments": [{
                "textDocument": { "uri": uri },
                "range": {
                    "start": position_of(text, selection.start, encoding).to_json(),
                    "end": position_of(text, selection.end, encoding).to_json(),
                },
                "instruction": instruction,
            }],
        }),
    )
}

/// The `workspace/applyEdit` requests the server has sent so far, oldest
/// first.
pub fn applied_edits(server: &Server) -> Vec<Value> {
    server
        .server_requests()
        .into_iter()
        .filter(|it| it["method"] == "workspace/applyEdit")
        .collect()
}

/// A workspace edit's edits on its one document, as byte ranges of that
/// document's `text` (whose positions are in `encoding`) and new texts, or
/// what is wrong with the edit.
pub fn edits_of(
    text: &str,
    edit: &Value,
    encoding: Encoding,
) -> Result<Vec<(Range<usize>, String)>, String> {
    let changes = edit["documentChanges"]
        .as_array()
        .ok_or_else(|| format!("an edit without documentChanges: {edit}"))?;
    if changes.len() != 1 {
        return Err(format!("{} documents edited: {edit}", changes.len()));
    }
    let at = |p: &Value| {
        let number = |key: &str| p[key].as_u64().and_then(|it| u32::try_from(it).ok());
        match (number("line"), number("character")) {
            (Some(line), Some(character)) => {
                Ok(offset_of(text, Position::new(line, character), encoding))
            }
            _ => Err(format!("a bad position in {edit}")),
        }
    };
    changes[0]["edits"]
        .as_array()
        .ok_or_else(|| format!("an edit without edits: {edit}"))?
        .iter()
        .map(|it| {
            let range = at(&it["range"]["start"])?..at(&it["range"]["end"])?;
            Ok((range, it["newText"].as_str().unwrap_or_default().to_owned()))
        })
        .collect()
}

/// `text` with `edits` (byte ranges of `text`, new texts) applied.
pub fn apply(text: &str, edits: &[(Range<usize>, String)]) -> String {
    let mut out = text.to_owned();
    let mut sorted = edits.to_vec();
    sorted.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    for (range, new_text) in sorted {
        out.replace_range(range, &new_text);
    }
    out
}

/// Compiles `source` as a library (or, with `test`, its tests) with
/// `rustc --edition 2021`: `Ok(Err(errors))` with rustc's errors when it
/// does not compile, and an I/O error when rustc cannot run.
pub fn rustc(source: &str, test: bool) -> io::Result<Result<(), String>> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("lib.rs");
    std::fs::write(&file, source)?;
    let mut command = Command::new("rustc");
    command.args(["--edition", "2021", "--crate-type", "lib", "-o"]);
    command.arg(dir.path().join("out")).arg(&file);
    if test {
        command.arg("--test");
    }
    let output = command.output()?;
    Ok(if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    })
}

/// Whether Python's `ast.parse` accepts `source`: `Ok(Err(errors))` with
/// its complaint when it does not, and an I/O error when `python3` cannot
/// run.
pub fn python_parses(source: &str) -> io::Result<Result<(), String>> {
    let output = Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(sys.stdin.read())"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().expect("piped stdin").write_all(source.as_bytes())?;
            child.wait_with_output()
        })?;
    Ok(if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    })
}
