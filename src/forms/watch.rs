//! A watch as made with `POST /watches`: its form and the checks that need no list.

use serde_json::{Map, Value};

use super::{kind_of, FormError, Given};

/// A saved search to be told about: its name, what it watches, the list's filters and an
/// optional webhook.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "name": "Croydon tenders",
    "resource": "tenders",
    "filters": {"borough": ["croydon"]},
    "webhook_url": "https://hooks.example.org/citytools"
}))]
pub struct WatchInput {
    /// What the watch is called in its feed, 1 to 200 characters.
    #[schema(value_type = String)]
    pub name: Given,
    /// `contracts` or `tenders`.
    #[schema(value_type = String)]
    pub resource: Given,
    /// The list's query parameters (`/contracts` or `/tenders`), each a string or a list of
    /// strings, checked as the list checks them; no sort, paging or format. Absent: every
    /// record.
    #[schema(value_type = Option<Object>, example = json!({"borough": ["croydon"], "service_area": ["revenues-and-benefits"]}))]
    pub filters: Given,
    /// Where each event is POSTed, signed (optional). Loopback, private and link-local
    /// addresses are refused.
    #[schema(value_type = Option<String>)]
    pub webhook_url: Given,
    /// Fields the form does not have, reported as unknown.
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: Map<String, Value>,
}

/// A watch's fields, checked.
#[derive(Debug, Clone)]
pub struct WatchForm {
    pub name: String,
    pub resource: String,
    /// Each parameter's values, as strings.
    pub filters: Map<String, Value>,
    pub webhook_url: Option<String>,
}

/// Parameters of a list that are not filters.
const NOT_FILTERS: &[&str] = &["sort", "page", "per_page", "cursor", "format", "count"];

/// Reads a watch body: every failing field in one 422 (the filters' meaning is the list's to
/// check).
pub fn check(form: WatchInput) -> Result<WatchForm, FormError> {
    let mut f = super::Fields::new(form.unknown, &[]);
    let name = f.required_text("name", form.name);
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        f.error("name", "is longer than 200 characters");
    }
    let resource = f.required_text("resource", form.resource);
    if let Some(resource) = &resource {
        if !matches!(resource.as_str(), "contracts" | "tenders") {
            f.error(
                "resource",
                format!("expected `contracts` or `tenders`, got {resource:?}"),
            );
        }
    }
    let webhook_url = f.optional_url("webhook_url", form.webhook_url);
    let mut filters = Map::new();
    match form.filters {
        None | Some(Value::Null) => {}
        Some(Value::Object(given)) => {
            for (name, value) in given {
                let field = format!("filters.{name}");
                if NOT_FILTERS.contains(&name.as_str()) {
                    f.error(
                        &field,
                        "is not a filter: a watch has no sort, paging or format",
                    );
                    continue;
                }
                let values: Vec<Value> = match value {
                    Value::Array(items) => items,
                    one => vec![one],
                };
                let mut texts = Vec::with_capacity(values.len());
                for value in values {
                    match value {
                        Value::String(text) => texts.push(Value::String(text)),
                        Value::Number(n) => texts.push(Value::String(n.to_string())),
                        Value::Bool(b) => texts.push(Value::String(b.to_string())),
                        other => f.error(
                            &field,
                            format!(
                                "expected a string or a list of strings, got {}",
                                kind_of(&other)
                            ),
                        ),
                    }
                }
                filters.insert(name, Value::Array(texts));
            }
        }
        Some(other) => f.error(
            "filters",
            format!(
                "expected an object of the list's parameters, got {}",
                kind_of(&other)
            ),
        ),
    }
    f.finish()?;
    match (name, resource) {
        (Some(name), Some(resource)) => Ok(WatchForm {
            name,
            resource,
            filters,
            webhook_url,
        }),
        _ => Err(FormError::Missing("a checked watch field")),
    }
}
