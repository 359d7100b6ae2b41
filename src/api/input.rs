//! Request bodies: parsed field by field so a 422 lists every failing field at once.

use std::str::FromStr;

use actix_web::web::Bytes;
use bigdecimal::BigDecimal;
use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError};

/// Largest amount of money accepted, in pounds (NUMERIC(14, 2)).
const MAX_MONEY: &str = "999999999999.99";
/// Longest free-text field accepted, in characters.
const MAX_TEXT: usize = 10_000;
/// Why a string with a NUL character is refused: PostgreSQL text cannot hold one.
const NUL_MESSAGE: &str = "must not contain NUL (\\u0000) characters";

/// Parses a body as a JSON object: 400 when it is not JSON, 422 when it is not an object.
pub fn json_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::invalid_fields(vec![FieldError::new(
            "",
            format!("expected a JSON object, got {}", kind_of(&other)),
        )])),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Applies a JSON merge patch (RFC 7396) of top-level fields: a field in `patch` replaces the
/// field in `base`, null included.
pub fn merge(mut base: Map<String, Value>, patch: Map<String, Value>) -> Map<String, Value> {
    for (key, value) in patch {
        base.insert(key, value);
    }
    base
}

/// Whether `id` is a slug: lower-case words of letters and digits joined by single hyphens.
pub fn is_slug(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Reads the fields of one JSON object, collecting every error.
pub struct Fields {
    map: Map<String, Value>,
    pub errors: Vec<FieldError>,
}

impl Fields {
    /// `read_only` fields (such as `created_at`) are accepted and ignored, so a client can send
    /// back what it read; any other field not read is an error when the reading is finished.
    pub fn new(mut map: Map<String, Value>, read_only: &[&str]) -> Fields {
        for field in read_only {
            map.remove(*field);
        }
        Fields {
            map,
            errors: Vec::new(),
        }
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    fn take(&mut self, field: &str) -> Option<Value> {
        self.map.remove(field).filter(|value| !value.is_null())
    }

    /// A string, trimmed; empty counts as absent.
    pub fn optional_text(&mut self, field: &str) -> Option<String> {
        match self.take(field)? {
            Value::String(text) => {
                let text = text.trim().to_owned();
                if text.contains('\0') {
                    self.error(field, NUL_MESSAGE);
                    return None;
                }
                if text.chars().count() > MAX_TEXT {
                    self.error(field, format!("is longer than {MAX_TEXT} characters"));
                    return None;
                }
                (!text.is_empty()).then_some(text)
            }
            other => {
                self.error(field, format!("expected a string, got {}", kind_of(&other)));
                None
            }
        }
    }

    pub fn required_text(&mut self, field: &str) -> Option<String> {
        let present = self.map.get(field).is_some_and(|v| !v.is_null());
        let text = self.optional_text(field);
        if text.is_none() && !self.errors.iter().any(|e| e.field == field) {
            self.error(
                field,
                if present {
                    "must not be empty"
                } else {
                    "is required"
                },
            );
        }
        text
    }

    pub fn required_slug(&mut self, field: &str) -> Option<String> {
        let id = self.required_text(field)?;
        if !is_slug(&id) {
            self.error(
                field,
                format!("{id:?} is not a slug: use lower-case letters, digits and single hyphens, such as \"civica-openrevenues\""),
            );
            return None;
        }
        Some(id)
    }

    pub fn optional_slug(&mut self, field: &str) -> Option<String> {
        let id = self.optional_text(field)?;
        if !is_slug(&id) {
            self.error(field, format!("{id:?} is not a slug"));
            return None;
        }
        Some(id)
    }

    /// An http(s) URL.
    pub fn optional_url(&mut self, field: &str) -> Option<String> {
        let url = self.optional_text(field)?;
        let valid = (url.starts_with("https://") || url.starts_with("http://"))
            && !url.contains(char::is_whitespace);
        if !valid {
            self.error(field, format!("expected an http or https URL, got {url:?}"));
            return None;
        }
        Some(url)
    }

    pub fn optional_bool(&mut self, field: &str) -> Option<bool> {
        match self.take(field)? {
            Value::Bool(flag) => Some(flag),
            other => {
                self.error(
                    field,
                    format!("expected true or false, got {}", kind_of(&other)),
                );
                None
            }
        }
    }

    pub fn required_bool(&mut self, field: &str) -> Option<bool> {
        let present = self.map.get(field).is_some_and(|v| !v.is_null());
        let flag = self.optional_bool(field);
        if !present {
            self.error(field, "is required");
        }
        flag
    }

    /// A value of a closed set; `default` when absent.
    pub fn choice<T: FromStr>(&mut self, field: &str, default: Option<T>) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        let present = self.map.get(field).is_some_and(|v| !v.is_null());
        match self.optional_text(field) {
            Some(text) => match text.parse() {
                Ok(value) => Some(value),
                Err(e) => {
                    self.error(field, e.to_string());
                    None
                }
            },
            None if !present && default.is_some() => default,
            None => {
                if !self.errors.iter().any(|e| e.field == field) {
                    self.error(field, "is required");
                }
                None
            }
        }
    }

    /// A date, exactly `YYYY-MM-DD` (RFC 3339 `full-date`); an empty string is not one.
    pub fn optional_date(&mut self, field: &str) -> Option<NaiveDate> {
        let text = match self.map.get(field) {
            Some(Value::String(text)) => text.clone(),
            _ => self.optional_text(field)?,
        };
        self.map.remove(field);
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        match NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .ok()
            .filter(|_| shaped)
        {
            Some(date) => Some(date),
            None => {
                self.error(
                    field,
                    format!("expected a date as YYYY-MM-DD, got {text:?}"),
                );
                None
            }
        }
    }

    /// Pounds and pence, as a JSON string ("1234.56", digits with at most two decimal places and
    /// nothing else) or number: not negative, at most 2 decimals.
    pub fn optional_money(&mut self, field: &str) -> Option<BigDecimal> {
        let text = match self.take(field)? {
            Value::String(text) => text,
            Value::Number(number) => number.to_string(),
            other => {
                self.error(
                    field,
                    format!(
                        "expected an amount such as \"1234.56\", got {}",
                        kind_of(&other)
                    ),
                );
                return None;
            }
        };
        let (pounds, pence) = text.split_once('.').unwrap_or((&text, ""));
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        let plain = |pounds: &str| digits(pounds) && (!text.contains('.') || digits(pence));
        if pounds.strip_prefix('-').is_some_and(plain) {
            self.error(field, format!("must not be negative, got {text}"));
            return None;
        }
        if !plain(pounds) {
            self.error(
                field,
                format!("expected an amount in pounds such as \"1234.56\", got {text:?}"),
            );
            return None;
        }
        if pence.len() > 2 {
            self.error(field, format!("has more than two decimal places: {text}"));
            return None;
        }
        let amount = BigDecimal::from_str(&text).ok()?;
        if amount > BigDecimal::from_str(MAX_MONEY).expect("constant") {
            self.error(field, format!("is larger than {MAX_MONEY}"));
            return None;
        }
        Some(amount.with_scale(2))
    }

    /// An integer rating from 1 to 5.
    pub fn optional_rating(&mut self, field: &str) -> Option<i16> {
        let value = self.take(field)?;
        match value.as_i64() {
            Some(rating @ 1..=5) => Some(rating as i16),
            _ => {
                self.error(
                    field,
                    format!("expected a whole number from 1 to 5, got {value}"),
                );
                None
            }
        }
    }

    /// A list of slugs; `required` means at least one.
    pub fn slug_list(&mut self, field: &str, required: bool) -> Vec<String> {
        let value = self.take(field);
        let items = match value {
            None => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.error(
                    field,
                    format!("expected an array of ids, got {}", kind_of(&other)),
                );
                return Vec::new();
            }
        };
        let mut ids = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::String(id) if is_slug(id.trim()) => {
                    let id = id.trim().to_owned();
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                other => self.error(field, format!("{other} is not an id")),
            }
        }
        if required && ids.is_empty() && !self.errors.iter().any(|e| e.field == field) {
            self.error(field, "needs at least one id");
        }
        ids
    }

    /// A list of non-empty strings.
    pub fn text_list(&mut self, field: &str) -> Vec<String> {
        let items = match self.take(field) {
            None => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.error(
                    field,
                    format!("expected an array of strings, got {}", kind_of(&other)),
                );
                return Vec::new();
            }
        };
        let mut texts: Vec<String> = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::String(text) if text.contains('\0') => self.error(field, NUL_MESSAGE),
                Value::String(text) if !text.trim().is_empty() => {
                    let text = text.trim().to_owned();
                    if !texts.contains(&text) {
                        texts.push(text);
                    }
                }
                other => self.error(field, format!("{other} is not a non-empty string")),
            }
        }
        texts
    }

    /// Ends the reading: every field left over is unknown. Returns every error found.
    pub fn finish(mut self) -> Result<(), ApiError> {
        let mut unknown: Vec<String> = self.map.keys().cloned().collect();
        unknown.sort();
        for field in unknown {
            self.error(&field, "unknown field");
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_fields(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: Value) -> Fields {
        Fields::new(value.as_object().unwrap().clone(), &["version"])
    }

    #[test]
    fn every_error_is_collected() {
        let mut f =
            fields(json!({"a": 7, "b": "2026-13-01", "c": "-5", "d": 6, "e": "x", "version": 3}));
        f.required_text("a");
        f.optional_date("b");
        f.optional_money("c");
        f.optional_rating("d");
        f.required_text("missing");
        let ApiError::Unprocessable { errors, .. } = f.finish().unwrap_err() else {
            panic!("a 422")
        };
        let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, vec!["a", "b", "c", "d", "missing", "e"]);
    }

    #[test]
    fn money_is_exact_and_at_most_two_decimals() {
        let mut f = fields(
            json!({"a": "1234.5", "b": 10, "c": "1.005", "d": "£5", "e": 0,
            "f": " 5", "g": "5.", "h": ".5", "i": "1e3", "j": -2, "k": "-0.5", "l": 99.25}),
        );
        assert_eq!(f.optional_money("a").unwrap().to_string(), "1234.50");
        assert_eq!(f.optional_money("b").unwrap().to_string(), "10.00");
        assert!(f.optional_money("c").is_none());
        assert!(f.optional_money("d").is_none());
        assert_eq!(
            crate::api::contracts::money(f.optional_money("e")).as_deref(),
            Some("0.00")
        );
        assert_eq!(f.optional_money("l").unwrap().to_string(), "99.25");
        for field in ["f", "g", "h", "i", "j", "k"] {
            assert!(f.optional_money(field).is_none(), "{field}");
        }
        let messages: Vec<&str> = f.errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages.len(), 8, "{messages:?}");
        assert!(messages[6].contains("negative"), "{messages:?}");
        assert!(messages[7].contains("negative"), "{messages:?}");
    }

    #[test]
    fn dates_are_full_dates() {
        let mut f = fields(
            json!({"a": "2026-03-31", "b": "", "c": " 2026-03-31", "d": "2026-3-31",
            "e": "2026-02-30", "f": null, "g": 20260331}),
        );
        assert_eq!(f.optional_date("a"), NaiveDate::from_ymd_opt(2026, 3, 31));
        for field in ["b", "c", "d", "e", "f", "g"] {
            assert_eq!(f.optional_date(field), None, "{field}");
        }
        let named: Vec<&str> = f.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, vec!["b", "c", "d", "e", "g"]);
    }

    #[test]
    fn nul_characters_are_refused() {
        let mut f = fields(json!({"a": "x\u{0}y", "b": ["ok", "n\u{0}"], "c": "fine"}));
        assert!(f.optional_text("a").is_none());
        assert_eq!(f.text_list("b"), vec!["ok".to_owned()]);
        assert_eq!(f.optional_text("c").as_deref(), Some("fine"));
        let named: Vec<&str> = f.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, vec!["a", "b"]);
    }

    #[test]
    fn slugs_are_checked() {
        assert!(is_slug("civica-openrevenues"));
        for bad in ["", "Civica", "a--b", "-a", "a-", "a b", "a_b"] {
            assert!(!is_slug(bad), "{bad}");
        }
    }

    #[test]
    fn merge_patch_replaces_and_nulls() {
        let base = json!({"a": 1, "b": 2}).as_object().unwrap().clone();
        let patch = json!({"b": null, "c": 3}).as_object().unwrap().clone();
        assert_eq!(
            Value::Object(merge(base, patch)),
            json!({"a": 1, "b": null, "c": 3})
        );
    }
}
