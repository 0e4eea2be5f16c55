//! Document synchronisation: the server's text (and tree) must match what the
//! client sent, after thousands of random incremental edits in every position
//! encoding, after full-text changes, and when positions are out of range.

use std::time::Duration;

use hearth_tests::{
    Encoding, Position, Server, ServerOptions, codes,
    edits::{
        FuzzDoc, FuzzRun, PYTHON_DOC, PYTHON_POOL, RUST_DOC, RUST_POOL, TEXT_DOC, TEXT_POOL,
        run_random_edits,
    },
    rng,
    text::{Change, RefDoc, utf16_position},
};
use serde_json::Value;

/// 2,000 random edits over four plain-text documents, in `encoding`.
fn random_text_edits(encoding: Encoding, default_seed: u64) {
    let seed = rng::seed(&format!("random_text_edits_{}", encoding.name()), default_seed);
    let server = Server::start(ServerOptions::testing().encoding(encoding));
    assert_eq!(server.position_encoding(), encoding, "the offered encoding must be chosen");
    // Several documents per server keep the run fast while still exercising
    // per-document state; the texts differ so that mix-ups show.
    let mut docs: Vec<FuzzDoc> = (0..4)
        .map(|i| {
            let text = format!("document {i}\n{TEXT_DOC}");
            FuzzDoc::open(&server, &format!("file:///fuzz/text-{i}.txt"), "plaintext", &text)
        })
        .collect();
    let run = FuzzRun {
        seed,
        edits: 2_000,
        checkpoint_every: 100,
        check_trees: false,
        pool: TEXT_POOL,
        max_len: 4_000,
    };
    let stats = run_random_edits(&server, &mut docs, &run);
    // The rare cases must have been exercised, or the run proved less than it
    // claims.
    assert!(stats.multi_line > 20, "{stats:?}");
    assert!(stats.past_line_end > 0 && stats.past_document_end > 0, "{stats:?}");
    if encoding == Encoding::Utf16 {
        assert!(stats.split_surrogate > 0, "{stats:?}");
    }
    for doc in &docs {
        let got = server.debug_document(&doc.uri, None).expect("debugDocument");
        assert_eq!(got["tree"], Value::Null, "plain text has no tree");
    }
}

#[test]
fn random_edits_utf8() {
    random_text_edits(Encoding::Utf8, 0x8_0001);
}

#[test]
fn random_edits_utf16() {
    random_text_edits(Encoding::Utf16, 0x16_0001);
}

#[test]
fn random_edits_utf32() {
    random_text_edits(Encoding::Utf32, 0x32_0001);
}

/// Random edits to code, requiring the incrementally edited tree to equal a
/// fresh parse at every checkpoint: a wrong `InputEdit` shows up as a
/// different tree long before it shows up as a wrong completion.
fn random_code_edits(
    language_id: &str,
    text: &str,
    pool: &'static [&'static str],
    encoding: Encoding,
    default_seed: u64,
) {
    let seed = rng::seed(&format!("random_code_edits_{language_id}"), default_seed);
    let server = Server::start(ServerOptions::testing().encoding(encoding));
    let mut docs: Vec<FuzzDoc> = (0..2)
        .map(|i| {
            FuzzDoc::open(
                &server,
                &format!("file:///fuzz/code-{i}.{language_id}"),
                language_id,
                text,
            )
        })
        .collect();
    let run = FuzzRun {
        seed,
        edits: 2_000,
        checkpoint_every: 100,
        check_trees: true,
        pool,
        max_len: 3_000,
    };
    run_random_edits(&server, &mut docs, &run);
}

#[test]
fn random_edits_rust_tree_matches_fresh_parse() {
    random_code_edits("rust", RUST_DOC, RUST_POOL, Encoding::Utf8, 0xC0DE_0001);
}

#[test]
fn random_edits_python_tree_matches_fresh_parse() {
    random_code_edits("python", PYTHON_DOC, PYTHON_POOL, Encoding::Utf16, 0xC0DE_0002);
}

/// `didOpen` stores the text and metadata exactly as sent.
#[test]
fn did_open_stores_text_language_and_version() {
    let server = Server::start(ServerOptions::testing());
    let uri = "file:///open/a%20b.rs";
    server.did_open(uri, "rust", 7, RUST_DOC);
    let got = server.debug_document(uri, None).expect("debugDocument");
    assert_eq!(got["uri"], uri, "{got}");
    assert_eq!(got["languageId"], "rust", "{got}");
    assert_eq!(got["version"], 7, "{got}");
    assert_eq!(got["text"], RUST_DOC, "{got}");
    assert_eq!(got["offset"], Value::Null, "no position was given: {got}");
    let tree = got["tree"].as_str().unwrap_or_else(|| panic!("a Rust document has a tree: {got}"));
    assert!(tree.starts_with("(source_file"), "{tree}");
    assert_eq!(got["tree"], got["freshTree"]);
}

/// A full-text change replaces everything, and incremental changes after it
/// apply to the new text.
#[test]
fn full_sync_change_replaces_the_text() {
    let server = Server::start(ServerOptions::testing());
    let uri = "file:///full.txt";
    server.did_open(uri, "plaintext", 1, "old text\nsecond line\n");
    server.did_change(uri, 2, &[Change::range(Position::new(0, 0), Position::new(0, 3), "new")]);
    server.did_change(uri, 3, &[Change::full("entirely\nreplaced 😀")]);
    assert_eq!(server.text_of(uri), "entirely\nreplaced 😀");
    server.did_change(uri, 4, &[Change::range(Position::new(1, 0), Position::new(1, 8), "was")]);
    assert_eq!(server.text_of(uri), "entirely\nwas 😀");
    // A full change mixed with incremental ones in one notification: they
    // apply in order.
    server.did_change(
        uri,
        5,
        &[
            Change::range(Position::new(0, 0), Position::new(0, 0), "lost "),
            Change::full("abc"),
            Change::range(Position::new(0, 3), Position::new(0, 3), "d"),
        ],
    );
    let got = server.debug_document(uri, None).expect("debugDocument");
    assert_eq!(got["text"], "abcd");
    assert_eq!(got["version"], 5);
}

/// Several changes in one notification apply in order, each to the result of
/// the previous one.
#[test]
fn changes_in_one_notification_apply_in_order() {
    let server = Server::start(ServerOptions::testing());
    let uri = "file:///order.txt";
    server.did_open(uri, "plaintext", 1, "abc");
    server.did_change(
        uri,
        2,
        &[
            Change::range(Position::new(0, 3), Position::new(0, 3), "\ndef"),
            Change::range(Position::new(1, 0), Position::new(1, 1), "D"),
            Change::range(Position::new(0, 0), Position::new(1, 0), ""),
        ],
    );
    assert_eq!(server.text_of(uri), "Def");
}

/// After `didClose` the server forgets the document, and reopening the same
/// URI starts afresh.
#[test]
fn did_close_forgets_the_document() {
    let server = Server::start(ServerOptions::testing());
    let uri = "file:///closed.py";
    server.did_open(uri, "python", 1, "x = 1\n");
    assert_eq!(server.text_of(uri), "x = 1\n");
    server.did_close(uri);
    let err = server.debug_document(uri, None).expect_err("a closed document is unknown");
    assert_eq!(err.code, codes::INVALID_PARAMS, "{err}");
    server.did_open(uri, "python", 1, "y = 2\n");
    let got = server.debug_document(uri, None).expect("reopened");
    assert_eq!(got["text"], "y = 2\n");
    assert_eq!(got["tree"], got["freshTree"]);
}

/// Columns past the end of a line clamp to the end of that line; lines past
/// the end clamp to the end of the document. Nothing panics.
#[test]
fn out_of_range_positions_are_clamped() {
    let server = Server::start(ServerOptions::testing().encoding(Encoding::Utf16));
    let uri = "file:///clamp.txt";
    let initial = "hello\nwörld\n😀x\n";
    server.did_open(uri, "plaintext", 1, initial);
    let steps: [(Change, &str); 5] = [
        // A column past the end of line 0, for both ends: an insert at its end.
        (Change::range(Position::new(0, 100), Position::new(0, 200), "!"), "hello!\nwörld\n😀x\n"),
        // The end past the end of line 1: replaces up to (not including) its newline.
        (Change::range(Position::new(1, 3), Position::new(1, 99), "X"), "hello!\nwörX\n😀x\n"),
        // Both ends on lines past the end: appends at the end of the document.
        (
            Change::range(Position::new(50, 0), Position::new(60, 7), "END"),
            "hello!\nwörX\n😀x\nEND",
        ),
        // A start past its line's end and an end on a line past the end.
        (Change::range(Position::new(1, 40), Position::new(99, 0), "|"), "hello!\nwörX|"),
        // u32::MAX columns and lines must not overflow anything.
        (
            Change::range(Position::new(0, u32::MAX), Position::new(u32::MAX, u32::MAX), ""),
            "hello!",
        ),
    ];
    let mut model = RefDoc::new(initial, Encoding::Utf16);
    for (i, (change, expected)) in steps.iter().enumerate() {
        model.apply(change);
        assert_eq!(&model.text, expected, "the reference model disagrees with step {i}");
        server.did_change(uri, i as i32 + 2, std::slice::from_ref(change));
        assert_eq!(server.text_of(uri), *expected, "after step {i}: {}", change.to_json());
    }
}

/// A UTF-16 position between the two halves of a surrogate pair means the
/// start of that character, at either end of a range.
#[test]
fn surrogate_splitting_utf16_positions_move_to_the_character_start() {
    let server = Server::start(ServerOptions::testing().encoding(Encoding::Utf16));
    let uri = "file:///surrogates.txt";
    server.did_open(uri, "plaintext", 1, "a😀b\n𝄞c");
    // Column 2 is inside 😀 (columns 1..3): the insert lands before it.
    server.did_change(uri, 2, &[Change::range(Position::new(0, 2), Position::new(0, 2), "X")]);
    assert_eq!(server.text_of(uri), "aX😀b\n𝄞c");
    // A start inside 𝄞 moves to its start, so 𝄞 is deleted too.
    server.did_change(uri, 3, &[Change::range(Position::new(1, 1), Position::new(1, 3), "")]);
    assert_eq!(server.text_of(uri), "aX😀b\n");
    // An end inside 😀 (columns 2..4) moves to its start, so 😀 survives.
    server.did_change(uri, 4, &[Change::range(Position::new(0, 0), Position::new(0, 3), "")]);
    assert_eq!(server.text_of(uri), "😀b\n");
    // The same rule for the debug position: column 1 is inside 😀.
    let got = server.debug_document(uri, Some(Position::new(0, 1))).expect("debugDocument");
    assert_eq!(got["offset"], 0, "{got}");
}

/// `debugDocument` reports the byte offset of a position, clamping columns
/// past the end of the line to the line's end.
#[test]
fn debug_document_reports_byte_offsets() {
    for encoding in Encoding::ALL {
        let server = Server::start(ServerOptions::testing().encoding(encoding));
        let uri = "file:///offsets.txt";
        let text = "a😀é中b\nxyz\n";
        server.did_open(uri, "plaintext", 1, text);
        let offset_of_b = text.find('b').unwrap();
        let cases = [
            (hearth_tests::text::position_of(text, offset_of_b, encoding), offset_of_b),
            (Position::new(0, 0), 0),
            (Position::new(0, 1000), offset_of_b + 1),
            (Position::new(1, 2), text.find('z').unwrap()),
            // The empty last line after the final newline exists.
            (Position::new(2, 0), text.len()),
            (Position::new(2, 9), text.len()),
        ];
        for (position, expected) in cases {
            let got = server
                .debug_document(uri, Some(position))
                .unwrap_or_else(|err| server.fail(&format!("{encoding:?} {position:?}: {err}")));
            assert_eq!(got["offset"], expected, "{encoding:?} {position:?}: {got}");
        }
        assert_eq!(utf16_position(text, offset_of_b), Position::new(0, 5));
        let status = server.shutdown_and_exit();
        assert_eq!(status.code(), Some(0));
    }
}

/// A `didChange` whose version does not increase is applied anyway, with a
/// warning in the log.
#[test]
fn version_regression_warns_but_applies() {
    let server = Server::start(ServerOptions::testing());
    let uri = "file:///versions.txt";
    let is_warning = |p: &Value| p["type"] == 2;
    server.did_open(uri, "plaintext", 5, "abc");
    server.did_change(uri, 6, &[Change::range(Position::new(0, 3), Position::new(0, 3), "d")]);
    assert_eq!(server.text_of(uri), "abcd");
    // Warnings from before the regression (there should be none) must not
    // count as the one the regression causes.
    let before = server
        .received_notifications("window/logMessage")
        .iter()
        .filter(|m| is_warning(&m["params"]))
        .count();
    // A lower version.
    server.did_change(uri, 3, &[Change::range(Position::new(0, 4), Position::new(0, 4), "e")]);
    assert_eq!(server.text_of(uri), "abcde", "edits still apply");
    let warnings =
        server.wait_logged("window/logMessage", before + 1, Duration::from_secs(5), is_warning);
    eprintln!("warning: {}", warnings[before]);
    // The same version again is not an increase either.
    let current = server.debug_document(uri, None).unwrap()["version"].as_i64().unwrap() as i32;
    server.did_change(
        uri,
        current,
        &[Change::range(Position::new(0, 0), Position::new(0, 1), "A")],
    );
    assert_eq!(server.text_of(uri), "Abcde", "edits still apply");
    server.wait_logged("window/logMessage", before + 2, Duration::from_secs(5), is_warning);
    // An increasing version after the regression is accepted silently.
    let current = server.debug_document(uri, None).unwrap()["version"].as_i64().unwrap() as i32;
    server.did_change(
        uri,
        current + 1,
        &[Change::range(Position::new(0, 5), Position::new(0, 5), "f")],
    );
    assert_eq!(server.text_of(uri), "Abcdef");
    std::thread::sleep(Duration::from_millis(200));
    let after = server
        .received_notifications("window/logMessage")
        .iter()
        .filter(|m| is_warning(&m["params"]))
        .count();
    assert_eq!(after, before + 2, "only the two regressions warn");
}

/// Each language with a grammar gets a tree; anything else is plain text.
#[test]
fn languages_with_grammars_have_trees() {
    let server = Server::start(ServerOptions::testing());
    let with_trees = [
        ("rust", "fn main() {}\n"),
        ("python", "def f():\n    return 1\n"),
        ("javascript", "const x = () => 1;\n"),
        ("typescript", "let x: number = 1;\n"),
        ("typescriptreact", "const A = () => <div>hi</div>;\n"),
        ("go", "package main\nfunc main() {}\n"),
        ("c", "int main(void) { return 0; }\n"),
        ("cpp", "template <class T> T id(T x) { return x; }\n"),
        ("java", "class A { void f() {} }\n"),
        ("lua", "local x = function() return 1 end\n"),
        ("shellscript", "if [ -n \"$x\" ]; then echo hi; fi\n"),
    ];
    let without = [("plaintext", "just text\n"), ("markdown", "# Title\n"), ("toml", "a = 1\n")];
    for (i, (language, text)) in with_trees.iter().chain(&without).enumerate() {
        server.did_open(&format!("file:///lang/{i}"), language, 1, text);
    }
    for (i, (language, _)) in with_trees.iter().enumerate() {
        let got = server.debug_document(&format!("file:///lang/{i}"), None).expect("debugDocument");
        let tree = got["tree"].as_str().unwrap_or_else(|| panic!("{language} has no tree: {got}"));
        assert!(tree.starts_with('('), "{language}: {tree}");
        assert!(!tree.contains("ERROR"), "{language} sample parses cleanly: {tree}");
        assert_eq!(got["tree"], got["freshTree"], "{language}");
    }
    for (i, (language, _)) in without.iter().enumerate() {
        let got = server
            .debug_document(&format!("file:///lang/{}", with_trees.len() + i), None)
            .expect("debugDocument");
        assert_eq!(got["tree"], Value::Null, "{language} is plain text: {got}");
        assert_eq!(got["freshTree"], Value::Null, "{language} is plain text: {got}");
        assert_eq!(got["languageId"], *language);
    }
}
