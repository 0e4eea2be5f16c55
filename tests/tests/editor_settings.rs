//! The editors' declared settings agree with the server's own.
//!
//! `hearth settings-schema` prints every setting as the server reads it
//! (derived from its `Config` structs). VS Code's `package.json` is generated
//! from that output by `editors/vscode/scripts/sync-settings.js`; this test
//! fails when the two drift apart, and says how to regenerate.

use std::{path::PathBuf, process::Command};

use hearth_tests::binary::hearth_binary;
use serde_json::{Map, Value};

fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

fn server_settings() -> Map<String, Value> {
    let output = Command::new(hearth_binary())
        .arg("settings-schema")
        .output()
        .expect("hearth settings-schema runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    match serde_json::from_slice(&output.stdout).expect("settings-schema prints JSON") {
        Value::Object(settings) => settings,
        other => panic!("settings-schema printed {other}, not an object"),
    }
}

/// `contributes.configuration` may be one object or a list of sections.
fn vscode_settings() -> Map<String, Value> {
    let path = repository_root().join("editors/vscode/package.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let manifest: Value = serde_json::from_str(&text).expect("package.json is JSON");
    let configuration = &manifest["contributes"]["configuration"];
    let sections = match configuration {
        Value::Array(sections) => sections.clone(),
        other => vec![other.clone()],
    };
    let mut settings = Map::new();
    for section in sections {
        if let Some(Value::Object(properties)) = section.get("properties") {
            settings.extend(properties.clone());
        }
    }
    settings
}

/// JavaScript writes `0.0` as `0`: numbers compare by value.
fn numbers_as_f64(value: &Value) -> Value {
    match value {
        Value::Number(number) => number.as_f64().map_or(Value::Null, Value::from),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_f64).collect()),
        Value::Object(object) => Value::Object(
            object.iter().map(|(key, value)| (key.clone(), numbers_as_f64(value))).collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn vscode_declares_every_server_setting_as_the_server_does() {
    let server = server_settings();
    let vscode = vscode_settings();
    let regenerate = "run `node editors/vscode/scripts/sync-settings.js` to regenerate";
    let mut problems = Vec::new();
    for (name, schema) in &server {
        match vscode.get(name) {
            None => problems.push(format!("{name} is missing")),
            Some(declared) if numbers_as_f64(declared) != numbers_as_f64(schema) => {
                problems.push(format!("{name} differs:\n  server: {schema}\n  vscode: {declared}"));
            }
            Some(_) => {}
        }
    }
    // Server settings VS Code declares but the server no longer has: the
    // extension's own settings live outside the server's sections.
    let server_sections =
        ["hearth.model.", "hearth.documents.", "hearth.completion.", "hearth.fim"];
    for name in vscode.keys() {
        let is_server_setting = server_sections.iter().any(|prefix| name.starts_with(prefix));
        if is_server_setting && !server.contains_key(name) {
            problems.push(format!("{name} is not a server setting"));
        }
    }
    assert!(problems.is_empty(), "{regenerate}:\n{}", problems.join("\n"));
    assert!(server.len() >= 15, "the server has its settings: {}", server.len());
}
