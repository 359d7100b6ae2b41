//! Response examples for the OpenAPI document, made from its schemas: every JSON answer of an
//! operation that has no example of its own gets one built from its schema's own examples
//! (property by property, through references), so that every operation shows what it answers.
//! `tests/api/openapi.rs` checks that each example validates against its schema.

use serde_json::{json, Map, Value};
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::openapi::RefOr;

/// How deep an example nests before it stops (schemas that refer to themselves).
const DEPTH: usize = 8;

/// `document` with an example on every successful JSON answer that lacks one.
pub fn with_examples(mut document: OpenApiDocument) -> OpenApiDocument {
    let Ok(whole) = serde_json::to_value(&document) else {
        return document;
    };
    let schemas = whole["components"]["schemas"].clone();
    for item in document.paths.paths.values_mut() {
        let operations = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ];
        for operation in operations.into_iter().flatten() {
            for (status, response) in operation.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                if !status.starts_with('2') {
                    continue;
                }
                for (media, content) in response.content.iter_mut() {
                    if !media.ends_with("json") || content.example.is_some() {
                        continue;
                    }
                    if !content.examples.is_empty() {
                        continue;
                    }
                    let Ok(schema) = serde_json::to_value(&content.schema) else {
                        continue;
                    };
                    content.example = example(&schema, &schemas, DEPTH);
                }
            }
        }
    }
    document
}

/// An example of `schema`, or None where it offers none (nothing required and no examples).
fn example(schema: &Value, schemas: &Value, depth: usize) -> Option<Value> {
    if depth == 0 {
        return None;
    }
    if let Some(given) = schema.get("example") {
        return Some(given.clone());
    }
    if let Some(first) = schema["examples"].as_array().and_then(|all| all.first()) {
        return Some(first.clone());
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next()?;
        return example(&schemas[name], schemas, depth - 1);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|all| all.first()) {
        return Some(first.clone());
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged = Map::new();
        for part in parts {
            if let Some(Value::Object(fields)) = example(part, schemas, depth - 1) {
                merged.extend(fields);
            }
        }
        return Some(Value::Object(merged));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(choices) = schema[key].as_array() {
            return choices
                .iter()
                .filter(|choice| choice["type"] != "null")
                .find_map(|choice| example(choice, schemas, depth - 1));
        }
    }
    let kind = match &schema["type"] {
        Value::String(kind) => kind.as_str(),
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| *kind != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => return None,
    };
    Some(match kind {
        "object" => {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|names| names.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut fields = Map::new();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                let wanted = required.contains(&name.as_str());
                match example(property, schemas, depth - 1) {
                    Some(value) if wanted || has_own_example(property, schemas) => {
                        fields.insert(name.clone(), value);
                    }
                    None if wanted => return None,
                    _ => {}
                }
            }
            Value::Object(fields)
        }
        "array" => match example(&schema["items"], schemas, depth - 1) {
            Some(item) => json!([item]),
            None => json!([]),
        },
        "string" => match schema["format"].as_str() {
            Some("date") => json!("2027-03-31"),
            Some("date-time") => json!("2026-11-30T09:00:00Z"),
            _ if schema.get("pattern").is_some() => return None,
            _ => json!("text"),
        },
        "integer" => schema.get("minimum").cloned().unwrap_or(json!(1)),
        "number" => schema.get("minimum").cloned().unwrap_or(json!(1.0)),
        "boolean" => json!(true),
        _ => Value::Null,
    })
}

/// Whether an optional property says what it looks like (its own example, or its type's).
fn has_own_example(property: &Value, schemas: &Value) -> bool {
    if property.get("example").is_some() || property.get("examples").is_some() {
        return true;
    }
    match property["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        Some(name) => schemas[name].get("example").is_some() || schemas[name]["type"] == "object",
        None => false,
    }
}
