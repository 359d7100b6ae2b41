//! Request bodies ("forms"): one type per resource that both deserialises the body and documents
//! it in the OpenAPI document, and the checks that turn it into a write. A form's fields are read
//! one by one, so a 422 lists every failing field at once; fields the form does not have are
//! collected by serde and reported with the rest. Free of HTTP, so every way data comes in can use
//! the same checks.

pub mod borough;
pub mod contract;
pub mod service_area;
pub mod supplier;
pub mod system;
pub mod watch;

use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use crate::queries::FieldError;

/// A field as sent: None when absent or null.
pub type Given = Option<Value>;

/// Why a form was refused.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// Fields that failed their checks, all of them.
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// The record would clash with another (a taken id, an alias of another supplier).
    #[error("{0}")]
    Conflict(String),
    /// A checked field came out missing: a bug, not the caller's.
    #[error("{0}")]
    Missing(&'static str),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Query(#[from] crate::queries::QueryError),
}

/// Reads a body object as the form `F`: serde takes the fields `F` has and keeps the rest in its
/// `unknown` map, so reading itself never fails on a field's value.
pub fn read<F: DeserializeOwned>(body: Map<String, Value>) -> Result<F, FormError> {
    serde_json::from_value(Value::Object(body)).map_err(|e| {
        FormError::Invalid(vec![FieldError::new(
            "",
            format!("the body cannot be read: {e}"),
        )])
    })
}

/// Largest amount of money accepted, in pounds (NUMERIC(14, 2)).
const MAX_MONEY: &str = "999999999999.99";
/// Longest free-text field accepted, in characters, however the text comes in (the API, an
/// import, a sync).
pub const MAX_TEXT: usize = 10_000;
/// Why a string with a NUL character is refused: PostgreSQL text cannot hold one.
const NUL_MESSAGE: &str = "must not contain NUL (\\u0000) characters";

/// What is wrong with a free text, if anything: a NUL character, a control, bidirectional or
/// zero-width character, or more than [`MAX_TEXT`] characters. The API refuses such text; the
/// importers refuse a title so (and remove the invisible characters elsewhere).
pub fn text_problem(text: &str) -> Option<String> {
    if text.contains('\0') {
        Some(NUL_MESSAGE.to_owned())
    } else if let Some(c) = crate::normalize::forbidden_char(text) {
        Some(format!(
            "must not contain U+{:04X}: control, bidirectional and zero-width characters \
             are refused, as they hide or reorder what a reader sees",
            c as u32
        ))
    } else if text.chars().count() > MAX_TEXT {
        Some(format!("is longer than {MAX_TEXT} characters"))
    } else {
        None
    }
}

pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
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
    /// Fields the body sent that its form does not have.
    unknown: Map<String, Value>,
    pub errors: Vec<FieldError>,
}

impl Fields {
    /// `read_only` fields (such as `created_at`) are accepted and ignored, so a client can send
    /// back what it read; any other field not read is an error when the reading is finished.
    pub fn new(mut unknown: Map<String, Value>, read_only: &[&str]) -> Fields {
        for field in read_only {
            unknown.remove(*field);
        }
        Fields {
            unknown,
            errors: Vec::new(),
        }
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// A string, trimmed; empty counts as absent.
    pub fn optional_text(&mut self, field: &str, value: Given) -> Option<String> {
        match value? {
            Value::String(text) => {
                if let Some(problem) = text_problem(&text) {
                    self.error(field, problem);
                    return None;
                }
                // Stored in normal form C, so that the same words are the same text.
                let text = crate::normalize::clean_text(text.trim()).into_owned();
                (!text.is_empty()).then_some(text)
            }
            other => {
                self.error(field, format!("expected a string, got {}", kind_of(&other)));
                None
            }
        }
    }

    pub fn required_text(&mut self, field: &str, value: Given) -> Option<String> {
        let present = value.is_some();
        let text = self.optional_text(field, value);
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

    pub fn required_slug(&mut self, field: &str, value: Given) -> Option<String> {
        let id = self.required_text(field, value)?;
        if !is_slug(&id) {
            self.error(
                field,
                format!("{id:?} is not a slug: use lower-case letters, digits and single hyphens, such as \"civica-openrevenues\""),
            );
            return None;
        }
        Some(id)
    }

    pub fn optional_slug(&mut self, field: &str, value: Given) -> Option<String> {
        let id = self.optional_text(field, value)?;
        if !is_slug(&id) {
            self.error(field, format!("{id:?} is not a slug"));
            return None;
        }
        Some(id)
    }

    /// An http(s) URL.
    pub fn optional_url(&mut self, field: &str, value: Given) -> Option<String> {
        let url = self.optional_text(field, value)?;
        let valid = (url.starts_with("https://") || url.starts_with("http://"))
            && !url.contains(char::is_whitespace);
        if !valid {
            self.error(field, format!("expected an http or https URL, got {url:?}"));
            return None;
        }
        Some(url)
    }

    pub fn optional_bool(&mut self, field: &str, value: Given) -> Option<bool> {
        match value? {
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

    pub fn required_bool(&mut self, field: &str, value: Given) -> Option<bool> {
        let present = value.is_some();
        let flag = self.optional_bool(field, value);
        if !present {
            self.error(field, "is required");
        }
        flag
    }

    /// A value of a closed set; `default` when absent.
    pub fn choice<T: FromStr>(&mut self, field: &str, value: Given, default: Option<T>) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        let present = value.is_some();
        match self.optional_text(field, value) {
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
    pub fn optional_date(&mut self, field: &str, value: Given) -> Option<NaiveDate> {
        let text = match value {
            Some(Value::String(text)) => text,
            other => self.optional_text(field, other)?,
        };
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        match NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .ok()
            .filter(|_| shaped)
        {
            Some(date) => match crate::normalize::date_problem(date) {
                Some(problem) => {
                    self.error(field, problem);
                    None
                }
                None => Some(date),
            },
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
    pub fn optional_money(&mut self, field: &str, value: Given) -> Option<BigDecimal> {
        let text = match value? {
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
    pub fn optional_rating(&mut self, field: &str, value: Given) -> Option<i16> {
        let value = value?;
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
    pub fn slug_list(&mut self, field: &str, value: Given, required: bool) -> Vec<String> {
        let value = value;
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
    pub fn text_list(&mut self, field: &str, value: Given) -> Vec<String> {
        let items = match value {
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
                Value::String(text) if text_problem(&text).is_some() => {
                    self.error(field, text_problem(&text).unwrap_or_default())
                }
                Value::String(text) if !text.trim().is_empty() => {
                    let text = crate::normalize::clean_text(text.trim()).into_owned();
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
    pub fn finish(mut self) -> Result<(), FormError> {
        let mut unknown: Vec<String> = self.unknown.keys().cloned().collect();
        unknown.sort();
        for field in unknown {
            self.error(&field, "unknown field");
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(FormError::Invalid(self.errors))
        }
    }
}

/// `schema` (an input's) with only the `required` fields `keep` keeps, no example, and
/// `description`.
pub fn derived_schema(
    mut schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    keep: impl Fn(&str) -> bool,
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        object.required.retain(|field| keep(field));
        object.example = None;
        object.examples.clear();
        object.description = Some(description.to_owned());
    }
    schema
}

/// Declares `$name`, the schema of a request body derived from `$input`'s: the same fields, the
/// `required` ones filtered by `$keep`, described by `$description`.
macro_rules! derived_input_schema {
    ($name:ident, $input:ty, $keep:expr, $description:expr) => {
        #[doc = $description]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::forms::derived_schema(
                    <$input as utoipa::PartialSchema>::schema(),
                    $keep,
                    $description,
                )
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }

            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                <$input as utoipa::ToSchema>::schemas(schemas);
            }
        }
    };
}
pub(crate) use derived_input_schema;

/// Declares `$patch`, the schema of a JSON merge patch of `$input`: the same fields, none of them
/// required (the fields left out keep their stored values).
macro_rules! merge_patch_schema {
    ($patch:ident, $input:ty, $what:literal) => {
        $crate::forms::derived_input_schema!(
            $patch,
            $input,
            |_| false,
            concat!(
                "A JSON merge patch (RFC 7396) of ", $what, ": the fields sent replace the stored \
                 ones (`null` clears an optional field); the fields left out keep their values. \
                 The result must still be valid as a whole."
            )
        );
    };
}
pub(crate) use merge_patch_schema;

/// Declares `$replacement`, the schema of a `PUT` body of `$input`: the same fields and required
/// ones, except `id`, which the URL gives (a body may repeat it, unchanged).
macro_rules! replacement_schema {
    ($replacement:ident, $input:ty, $what:literal) => {
        $crate::forms::derived_input_schema!(
            $replacement,
            $input,
            |field| field != "id",
            concat!(
                "The whole of ",
                $what,
                ", replacing the stored one: fields left out become null \
                 or their default. `id` may be left out (the URL names the record) or repeated \
                 unchanged. Read-only fields (timestamps, `version`) may be sent back as read."
            )
        );
    };
}
pub(crate) use replacement_schema;

/// Declares a form: a request body whose fields (each [`Given`], documented by its
/// `#[schema(value_type = ..)]`) serde reads, keeping fields the form lacks in `unknown`; with
/// the schemas of its merge patch (`$patch`, of `$what`) and, when named, of its `PUT` body
/// (`$replacement`, the whole of `$whole`).
macro_rules! form {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal, patch $patch:ident $(, replacement $replacement:ident $whole:literal)? {
            $( $(#[$field_meta:meta])* $field:ident ),* $(,)?
        }
    ) => {
        #[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
        $(#[$meta])*
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $crate::forms::Given, )*
            /// Fields the form does not have, reported as unknown.
            #[serde(flatten)]
            #[schema(ignore)]
            pub unknown: serde_json::Map<String, serde_json::Value>,
        }

        $crate::forms::merge_patch_schema!($patch, $name, $what);
        $( $crate::forms::replacement_schema!($replacement, $name, $whole); )?
    };
}
pub(crate) use form;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A body to take fields from, as serde would hand them to a form.
    struct Body(Map<String, Value>);

    impl Body {
        fn take(&mut self, field: &str) -> Given {
            self.0.remove(field).filter(|value| !value.is_null())
        }
    }

    fn fields(value: Value) -> (Fields, Body) {
        let body = Body(value.as_object().unwrap().clone());
        (Fields::new(Map::new(), &["version"]), body)
    }

    #[test]
    fn every_error_is_collected() {
        let (mut f, mut body) =
            fields(json!({"a": 7, "b": "2026-13-01", "c": "-5", "d": 6, "e": "x", "version": 3}));
        f.required_text("a", body.take("a"));
        f.optional_date("b", body.take("b"));
        f.optional_money("c", body.take("c"));
        f.optional_rating("d", body.take("d"));
        f.required_text("missing", body.take("missing"));
        let mut leftover = body.0;
        leftover.remove("version");
        f.unknown = leftover;
        let FormError::Invalid(errors) = f.finish().unwrap_err() else {
            panic!("a 422")
        };
        let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, vec!["a", "b", "c", "d", "missing", "e"]);
    }

    #[test]
    fn money_is_exact_and_at_most_two_decimals() {
        let (mut f, mut body) = fields(
            json!({"a": "1234.5", "b": 10, "c": "1.005", "d": "£5", "e": 0,
            "f": " 5", "g": "5.", "h": ".5", "i": "1e3", "j": -2, "k": "-0.5", "l": 99.25}),
        );
        assert_eq!(
            f.optional_money("a", body.take("a")).unwrap().to_string(),
            "1234.50"
        );
        assert_eq!(
            f.optional_money("b", body.take("b")).unwrap().to_string(),
            "10.00"
        );
        assert!(f.optional_money("c", body.take("c")).is_none());
        assert!(f.optional_money("d", body.take("d")).is_none());
        assert_eq!(
            crate::representations::money(f.optional_money("e", body.take("e"))).as_deref(),
            Some("0.00")
        );
        assert_eq!(
            f.optional_money("l", body.take("l")).unwrap().to_string(),
            "99.25"
        );
        for field in ["f", "g", "h", "i", "j", "k"] {
            assert!(
                f.optional_money(field, body.take(field)).is_none(),
                "{field}"
            );
        }
        let messages: Vec<&str> = f.errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages.len(), 8, "{messages:?}");
        assert!(messages[6].contains("negative"), "{messages:?}");
        assert!(messages[7].contains("negative"), "{messages:?}");
    }

    #[test]
    fn dates_are_full_dates() {
        let (mut f, mut body) = fields(
            json!({"a": "2026-03-31", "b": "", "c": " 2026-03-31", "d": "2026-3-31",
            "e": "2026-02-30", "f": null, "g": 20260331}),
        );
        assert_eq!(
            f.optional_date("a", body.take("a")),
            NaiveDate::from_ymd_opt(2026, 3, 31)
        );
        for field in ["b", "c", "d", "e", "f", "g"] {
            assert_eq!(f.optional_date(field, body.take(field)), None, "{field}");
        }
        let named: Vec<&str> = f.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, vec!["b", "c", "d", "e", "g"]);
    }

    #[test]
    fn nul_characters_are_refused() {
        let (mut f, mut body) = fields(json!({"a": "x\u{0}y", "b": ["ok", "n\u{0}"], "c": "fine"}));
        assert!(f.optional_text("a", body.take("a")).is_none());
        assert_eq!(f.text_list("b", body.take("b")), vec!["ok".to_owned()]);
        assert_eq!(
            f.optional_text("c", body.take("c")).as_deref(),
            Some("fine")
        );
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
}
