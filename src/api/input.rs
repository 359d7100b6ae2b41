//! Request bodies at the HTTP edge: JSON objects in, forms' errors out as problems.

use actix_web::web::Bytes;
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError};
use crate::forms::{kind_of, FormError};

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

/// Applies a JSON merge patch (RFC 7396) of top-level fields: a field in `patch` replaces the
/// field in `base`, null included.
pub fn merge(mut base: Map<String, Value>, patch: Map<String, Value>) -> Map<String, Value> {
    for (key, value) in patch {
        base.insert(key, value);
    }
    base
}

impl From<FormError> for ApiError {
    fn from(error: FormError) -> Self {
        match error {
            FormError::Invalid(errors) => ApiError::invalid_fields(errors),
            FormError::Conflict(detail) => ApiError::Conflict(detail),
            FormError::Missing(what) => ApiError::Internal(what.into()),
            FormError::Database(error) => error.into(),
            FormError::Query(error) => error.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
