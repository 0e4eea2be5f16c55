//! Zed extension for Hearth, a local code-completion language server.
//!
//! The extension downloads nothing: it starts the `hearth` binary the user
//! installed (from `lsp.hearth.binary.path`, else `PATH`) and passes the user's
//! `lsp.hearth` settings on to it.

use zed_extension_api::{
    self as zed, LanguageServerId, Result, Worktree,
    serde_json::{Map, Value},
    settings::LspSettings,
};

/// The server's name, in `extension.toml` and in Zed's `lsp` settings, and the
/// section Hearth asks for with `workspace/configuration`.
const SERVER: &str = "hearth";

struct HearthExtension;

impl zed::Extension for HearthExtension {
    fn new() -> Self {
        HearthExtension
    }

    fn language_server_command(
        &mut self,
        _: &LanguageServerId,
        worktree: &Worktree,
    ) -> Result<zed::Command> {
        let binary = LspSettings::for_worktree(SERVER, worktree)?.binary;
        let (path, args) = binary.map(|it| (it.path, it.arguments)).unwrap_or_default();
        let command = path.or_else(|| worktree.which(SERVER)).ok_or_else(not_found_message)?;
        // Zed adds the worktree's shell environment and `lsp.hearth.binary.env`.
        Ok(zed::Command { command, args: args.unwrap_or_default(), env: Vec::new() })
    }

    fn language_server_initialization_options(
        &mut self,
        _: &LanguageServerId,
        worktree: &Worktree,
    ) -> Result<Option<Value>> {
        Ok(hearth_settings(LspSettings::for_worktree(SERVER, worktree)?))
    }

    fn language_server_workspace_configuration(
        &mut self,
        _: &LanguageServerId,
        worktree: &Worktree,
    ) -> Result<Option<Value>> {
        // Zed answers a `workspace/configuration` item with `section` by taking
        // that key of this object, so Hearth's section must be a top-level key.
        // With nothing configured this returns None: Zed then answers `null` and
        // Hearth keeps the settings it started with.
        let settings = hearth_settings(LspSettings::for_worktree(SERVER, worktree)?);
        Ok(settings.map(|it| Value::Object(Map::from_iter([(SERVER.to_owned(), it)]))))
    }
}

fn not_found_message() -> String {
    "Hearth: the `hearth` language server was not found on PATH. Build it from the Hearth \
     repository (`cargo build --release -p hearth`, then put target/release/hearth on PATH, or \
     `cargo install --path server`), or set `lsp.hearth.binary.path` in Zed's settings."
        .to_owned()
}

/// Hearth's settings from `lsp.hearth`: `settings`, with `initialization_options`
/// merged over it key by key. Both go to the server as initialization options
/// and as its workspace configuration, because Hearth replaces its settings
/// with what `workspace/configuration` returns: a key set only in
/// `initialization_options` would otherwise be lost on the first refresh.
///
/// Like the server's own reading of initialization options, a value of the form
/// `{"hearth": {...}}` is accepted as the settings inside it.
fn hearth_settings(lsp: LspSettings) -> Option<Value> {
    let unwrap = |value: Value| match value {
        Value::Object(mut map) if map.contains_key(SERVER) => {
            map.remove(SERVER).unwrap_or_default()
        }
        other => other,
    };
    match (lsp.settings.map(unwrap), lsp.initialization_options.map(unwrap)) {
        (Some(mut settings), Some(overrides)) => {
            merge(&mut settings, overrides);
            Some(settings)
        }
        (settings, overrides) => settings.or(overrides),
    }
}

/// Merges `over` into `base`: objects key by key, any other value replaces.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, over) => *base = over,
    }
}

zed::register_extension!(HearthExtension);

#[cfg(test)]
mod tests {
    use super::*;
    use zed_extension_api::serde_json::json;

    fn lsp(settings: Option<Value>, initialization_options: Option<Value>) -> LspSettings {
        LspSettings { binary: None, settings, initialization_options }
    }

    #[test]
    fn nothing_configured_gives_nothing() {
        assert_eq!(hearth_settings(lsp(None, None)), None);
    }

    #[test]
    fn settings_pass_through() {
        let settings = json!({"model": {"path": "~/m.gguf"}, "completion": {"maxLines": 4}});
        assert_eq!(hearth_settings(lsp(Some(settings.clone()), None)), Some(settings.clone()));
        assert_eq!(hearth_settings(lsp(None, Some(settings.clone()))), Some(settings));
    }

    #[test]
    fn a_hearth_wrapper_is_removed() {
        let inner = json!({"completion": {"maxTokensLine": 32}});
        let wrapped = json!({"hearth": inner.clone()});
        assert_eq!(hearth_settings(lsp(Some(wrapped.clone()), None)), Some(inner.clone()));
        assert_eq!(hearth_settings(lsp(None, Some(wrapped))), Some(inner));
    }

    #[test]
    fn initialization_options_merge_over_settings() {
        let settings = json!({
            "model": {"path": "/a.gguf", "threads": 2},
            "completion": {"sampling": {"temperature": 0.2, "topK": 20}},
        });
        let options = json!({
            "model": {"path": "/b.gguf"},
            "completion": {"sampling": {"temperature": 0}, "completionItems": "always"},
        });
        assert_eq!(
            hearth_settings(lsp(Some(settings), Some(options))),
            Some(json!({
                "model": {"path": "/b.gguf", "threads": 2},
                "completion": {
                    "sampling": {"temperature": 0, "topK": 20},
                    "completionItems": "always",
                },
            }))
        );
    }
}
