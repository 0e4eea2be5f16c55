//! The settings as editors declare them, generated from [`Config`] itself.
//!
//! Editors that show a settings page (VS Code's `contributes.configuration`)
//! need every setting's name, type, default and description. Writing them by
//! hand beside the Rust structs would let the two drift apart, so they are
//! derived here from the structs' JSON Schema (`schemars` reads the types,
//! the `serde` names, the `Default` values and the doc comments) and printed
//! by `hearth settings-schema`. The editors' own files are generated from, and
//! checked against, that output.
//!
//! The shape is VS Code's: a flat object keyed by dotted names
//! (`hearth.completion.maxTokensLine`), each value a small JSON Schema. One
//! level of nesting is flattened (the sections `model`, `documents`,
//! `completion`); deeper objects such as `completion.sampling` stay one
//! setting with an object value, as the server reads them.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

use super::Config;

/// Every setting, keyed `SECTION.NAME` (for example `hearth.model.path`), in
/// declaration order.
pub fn editor_settings(section: &str) -> Map<String, Value> {
    let schema = SchemaSettings::draft2020_12().into_generator().into_root_schema_for::<Config>();
    let root = schema.as_value();
    let definitions = root.get("$defs").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut settings = Map::new();
    let Some(properties) = root.get("properties").and_then(Value::as_object) else {
        return settings;
    };
    for (name, property) in properties {
        let key = format!("{section}.{name}");
        let resolved = inline(property, &definitions);
        match resolved.get("properties").and_then(Value::as_object) {
            // A section: each of its fields is a setting of its own.
            Some(fields) => {
                for (field, schema) in fields {
                    settings.insert(format!("{key}.{field}"), for_editor(schema));
                }
            }
            None => {
                settings.insert(key, for_editor(&resolved));
            }
        }
    }
    settings
}

/// `schema` with every `$ref` replaced by its definition, recursively, and an
/// optional value's `anyOf: [X, null]` merged into X.
fn inline(schema: &Value, definitions: &Map<String, Value>) -> Value {
    match schema {
        Value::Object(object) => {
            let mut out = Map::new();
            if let Some(target) = object.get("$ref").and_then(Value::as_str) {
                let name = target.rsplit('/').next().unwrap_or_default();
                if let Some(Value::Object(definition)) = definitions.get(name) {
                    out.extend(definition.clone());
                }
            }
            for (key, value) in object {
                if key != "$ref" {
                    out.insert(key.clone(), value.clone());
                }
            }
            let mut out: Map<String, Value> =
                out.into_iter().map(|(key, value)| (key, inline(&value, definitions))).collect();
            merge_optional(&mut out);
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| inline(item, definitions)).collect())
        }
        other => other.clone(),
    }
}

/// `anyOf: [{X}, {type: null}]` (schemars' `Option<Enum>`) becomes X with
/// `null` allowed.
fn merge_optional(object: &mut Map<String, Value>) {
    let Some(Value::Array(choices)) = object.get("anyOf") else { return };
    let is_null = |choice: &Value| choice.get("type").and_then(Value::as_str) == Some("null");
    let [a, b] = choices.as_slice() else { return };
    let inner = match (is_null(a), is_null(b)) {
        (false, true) => a.clone(),
        (true, false) => b.clone(),
        _ => return,
    };
    object.remove("anyOf");
    if let Value::Object(inner) = inner {
        for (key, value) in inner {
            object.entry(key).or_insert(value);
        }
    }
    allow_null(object);
}

fn allow_null(object: &mut Map<String, Value>) {
    match object.get_mut("type") {
        Some(Value::String(kind)) => {
            let kind = std::mem::take(kind);
            object.insert("type".to_owned(), Value::from(vec![kind, "null".to_owned()]));
        }
        Some(Value::Array(kinds)) if !kinds.contains(&Value::from("null")) => {
            kinds.push(Value::from("null"));
        }
        _ => {}
    }
    if let Some(Value::Array(values)) = object.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
}

/// One setting's schema in the words VS Code understands: documented enum
/// variants (`oneOf` of `const`s) become `enum` with `enumDescriptions`, the
/// doc comment becomes `markdownDescription`, and `format` and `title`, which
/// it does not use, go.
fn for_editor(schema: &Value) -> Value {
    let Value::Object(object) = schema else { return schema.clone() };
    let mut out = Map::new();
    let mut variants = Vec::new();
    let mut variant_descriptions = Vec::new();
    if let Some(Value::Array(choices)) = object.get("oneOf") {
        for choice in choices {
            match (choice.get("const"), choice.get("enum").and_then(Value::as_array)) {
                (Some(value), _) => variants.push(value.clone()),
                (None, Some(values)) => variants.extend(values.iter().cloned()),
                (None, None) => continue,
            }
            let description = choice.get("description").unwrap_or(&Value::Null);
            variant_descriptions.push(Value::from(unwrap_lines(description)));
        }
    }
    for (key, value) in object {
        match key.as_str() {
            "description" => {
                out.insert("markdownDescription".to_owned(), Value::from(unwrap_lines(value)));
            }
            "format" | "title" | "oneOf" | "$schema" | "$defs" => {}
            "default" => {
                out.insert(key.clone(), round_floats(value));
            }
            "properties" => {
                let Value::Object(fields) = value else { continue };
                let fields = fields.iter().map(|(name, field)| (name.clone(), for_editor(field)));
                out.insert(key.clone(), Value::Object(fields.collect()));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if !variants.is_empty() {
        // An optional choice (`Option<Enum>`): unset means "decide for me".
        if object.get("default") == Some(&Value::Null) {
            variants.push(Value::Null);
            variant_descriptions.push(Value::from("Not set: Hearth decides."));
            out.insert("type".to_owned(), Value::from(["string", "null"].as_slice()));
        }
        out.entry("type").or_insert(Value::from("string"));
        out.insert("enum".to_owned(), Value::Array(variants));
        out.insert("enumDescriptions".to_owned(), Value::Array(variant_descriptions));
    }
    Value::Object(out)
}

/// `f32` defaults print as `0.949999988079071`; people wrote `0.95`.
fn round_floats(value: &Value) -> Value {
    match value {
        Value::Number(number) if number.is_f64() => {
            let rounded = format!("{:.6}", number.as_f64().unwrap_or_default());
            rounded.parse::<f64>().map_or(Value::Null, Value::from)
        }
        Value::Object(object) => {
            Value::Object(object.iter().map(|(k, v)| (k.clone(), round_floats(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(round_floats).collect()),
        other => other.clone(),
    }
}

/// Doc comments are wrapped at 100 columns for the code's readers; editors
/// wrap text themselves, so single line breaks become spaces and paragraphs stay.
fn unwrap_lines(description: &Value) -> String {
    let text = description.as_str().unwrap_or_default();
    text.split("\n\n")
        .map(|paragraph| paragraph.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sections_are_flattened_and_defaults_come_from_the_structs() {
        let settings = editor_settings("hearth");
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let mut names = 0;
        for (section, fields) in defaults.as_object().unwrap() {
            match fields {
                Value::Object(fields) => {
                    for (field, default) in fields {
                        let key = format!("hearth.{section}.{field}");
                        let setting = settings.get(&key).unwrap_or_else(|| panic!("{key} missing"));
                        assert_eq!(setting.get("default"), Some(&round_floats(default)), "{key}");
                        assert!(
                            setting.get("markdownDescription").is_some(),
                            "{key} has no description"
                        );
                        names += 1;
                    }
                }
                _ => {
                    assert!(settings.contains_key(&format!("hearth.{section}")), "{section}");
                    names += 1;
                }
            }
        }
        assert_eq!(settings.len(), names);
    }

    #[test]
    fn enums_become_choices_with_descriptions() {
        let settings = editor_settings("hearth");
        let pipeline = &settings["hearth.completion.pipeline"];
        assert_eq!(pipeline["type"], json!("string"));
        assert_eq!(pipeline["enum"], json!(["full", "rawFim"]));
        assert_eq!(pipeline["enumDescriptions"].as_array().unwrap().len(), 2);
        let fim = &settings["hearth.fim"];
        assert!(fim["enum"].as_array().unwrap().contains(&Value::Null), "{fim}");
        assert!(fim["enum"].as_array().unwrap().contains(&json!("qwen")), "{fim}");
    }

    #[test]
    fn optional_values_allow_null_and_limits_are_kept() {
        let settings = editor_settings("hearth");
        assert_eq!(settings["hearth.model.path"]["type"], json!(["string", "null"]));
        assert_eq!(settings["hearth.model.path"]["default"], Value::Null);
        assert_eq!(settings["hearth.model.contextSize"]["minimum"], json!(256));
        assert_eq!(settings["hearth.model.contextSize"]["maximum"], json!(131_072));
        let sampling = &settings["hearth.completion.sampling"];
        assert_eq!(sampling["type"], json!("object"));
        assert!(sampling["properties"]["temperature"]["markdownDescription"].is_string());
    }

    #[test]
    fn every_default_is_accepted_by_the_server() {
        // The editors write these defaults back; the server must take them
        // without a warning.
        let mut value = Value::Object(Map::new());
        for (key, setting) in editor_settings("hearth") {
            let path: Vec<&str> = key.split('.').skip(1).collect();
            let mut cursor = &mut value;
            for part in &path[..path.len() - 1] {
                cursor = cursor
                    .as_object_mut()
                    .unwrap()
                    .entry(*part)
                    .or_insert_with(|| Value::Object(Map::new()));
            }
            cursor
                .as_object_mut()
                .unwrap()
                .insert(path[path.len() - 1].to_owned(), setting["default"].clone());
        }
        let (config, warnings) = Config::from_json(value).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config, Config::default());
    }
}
