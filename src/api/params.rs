//! Query-string parsing: unknown parameters and malformed values become 400s that name them.

use std::fmt::Display;
use std::future::{ready, Ready};
use std::marker::PhantomData;
use std::str::FromStr;

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use bigdecimal::BigDecimal;
use chrono::NaiveDate;
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::Deserialize;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::{RefOr, Schema};
use utoipa::IntoParams;

use crate::error::ApiError;

/// Longest query string accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 8 * 1024;

/// A query string parsed into `T`, which should `deny_unknown_fields`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + IntoParams> ApiQuery<T> {
    pub fn parse(query: &str) -> Result<T, ApiError> {
        if query.len() > MAX_QUERY_LEN {
            return Err(ApiError::bad_request(format!(
                "the query string is {} bytes long; the limit is {MAX_QUERY_LEN}",
                query.len()
            )));
        }
        let query = normalise_query(query, &list_params::<T>())?;
        let query = query.as_str();
        let pairs = form_urlencoded::parse(query.as_bytes());
        if let Some((name, _)) = pairs
            .clone()
            .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        {
            return Err(ApiError::invalid_param(
                name.replace('\0', ""),
                "query parameters cannot contain NUL characters",
            ));
        }
        let deserializer = serde_urlencoded::Deserializer::new(pairs);
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let field = error.path().to_string();
            let message = error.into_inner().to_string();
            if let Some(rest) = message.strip_prefix("unknown field ") {
                let allowed = rest.split_once(", ").map_or("", |(_, allowed)| allowed);
                let allowed = if allowed == "there are no fields" {
                    "this operation takes no query parameters".to_owned()
                } else {
                    allowed.replace("expected one of", "expected one of:")
                };
                return ApiError::invalid_param(
                    field.clone(),
                    format!("unknown query parameter `{field}`; {allowed}"),
                );
            }
            ApiError::invalid_param(field, message)
        })
    }
}

/// The names of `T`'s parameters that take several values (arrays in its OpenAPI description).
fn list_params<T: IntoParams>() -> Vec<String> {
    T::into_params(|| Some(ParameterIn::Query))
        .into_iter()
        .filter(|param| matches!(param.schema, Some(RefOr::T(Schema::Array(_)))))
        .map(|param| param.name)
        .collect()
}

/// The query string as the parameter types read it: without `_` (a cache-buster: jQuery, Power
/// BI and others add `_=<time>`; never a parameter), and with a list parameter given more than
/// once (`borough=a&borough=b`, OpenAPI's `explode=true`) as one comma-separated value
/// (`borough=a,b`, `explode=false`); either form, or both, may be sent. A parameter that takes
/// one value, given twice, is a 400 that names it.
fn normalise_query(query: &str, lists: &[String]) -> Result<String, ApiError> {
    let mut merged: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name == "_" {
            continue;
        }
        match merged.iter_mut().find(|(seen, _)| *seen == name) {
            Some((_, values)) if lists.iter().any(|list| *list == name) => {
                values.push(',');
                values.push_str(&value);
            }
            Some(_) => {
                return Err(ApiError::invalid_param(
                    name.to_string(),
                    format!("`{name}` takes one value and was given more than once; give it once"),
                ))
            }
            None => merged.push((name.into_owned(), value.into_owned())),
        }
    }
    Ok(form_urlencoded::Serializer::new(String::new())
        .extend_pairs(merged)
        .finish())
}

impl<T: DeserializeOwned + IntoParams> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::parse(req.query_string()).map(ApiQuery))
    }
}

/// A query string that must be empty: any parameter is unknown.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

/// A comma-separated list of values, such as `borough=camden,islington`.
#[derive(Debug, Clone, PartialEq)]
pub struct CommaList<T>(pub Vec<T>);

impl<T> CommaList<T> {
    pub fn into_inner(self) -> Vec<T> {
        self.0
    }
}

impl<'de, T> Deserialize<'de> for CommaList<T>
where
    T: FromStr,
    T::Err: Display,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<T>(PhantomData<T>);
        impl<T> de::Visitor<'_> for Visitor<T>
        where
            T: FromStr,
            T::Err: Display,
        {
            type Value = CommaList<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("one or more comma-separated values")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                let items = value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| item.parse::<T>().map_err(E::custom))
                    .collect::<Result<Vec<T>, E>>()?;
                if items.is_empty() {
                    return Err(E::custom("expected one or more comma-separated values"));
                }
                Ok(CommaList(items))
            }
        }
        deserializer.deserialize_str(Visitor(PhantomData))
    }
}

/// Implements `Deserialize` through `FromStr`, so the error says what was expected.
macro_rules! deserialize_from_str {
    ($type:ty) => {
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(de::Error::custom)
            }
        }
    };
}
pub(crate) use deserialize_from_str;

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryDate(pub NaiveDate);

impl FromStr for QueryDate {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let date = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
            .map_err(|_| format!("expected a date as YYYY-MM-DD, got {value:?}"))?;
        match crate::normalize::date_problem(date) {
            Some(problem) => Err(problem),
            None => Ok(QueryDate(date)),
        }
    }
}
deserialize_from_str!(QueryDate);

/// An amount in pounds, such as `25000` or `1234.56`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryMoney(pub BigDecimal);

impl FromStr for QueryMoney {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let trimmed = value.trim();
        let valid = !trimmed.is_empty()
            && trimmed.len() <= 20
            && trimmed.chars().all(|c| c.is_ascii_digit() || c == '.')
            && trimmed.matches('.').count() <= 1;
        valid
            .then(|| BigDecimal::from_str(trimmed).ok())
            .flatten()
            .map(QueryMoney)
            .ok_or_else(|| {
                format!("expected an amount in pounds such as 25000 or 1234.56, got {value:?}")
            })
    }
}
deserialize_from_str!(QueryMoney);

/// `true` or `false`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryBool(pub bool);

impl FromStr for QueryBool {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value.trim() {
            "true" => Ok(QueryBool(true)),
            "false" => Ok(QueryBool(false)),
            _ => Err(format!("expected true or false, got {value:?}")),
        }
    }
}
deserialize_from_str!(QueryBool);

/// The representation of a list: `json` (default), `csv`, or `xlsx` for the CSV's table as an
/// Excel workbook (dates and money as typed cells).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ListFormat {
    Json,
    Csv,
    /// Answered as `csv` is, then presented as a workbook (`api::presentation`).
    Xlsx,
}

/// The representation of a contract list: `json` (default), `csv`, `xlsx` (the CSV's table as
/// an Excel workbook), or `ocds` for an OCDS 1.1 release package of every matching contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContractListFormat {
    Json,
    Csv,
    /// Answered as `csv` is, then presented as a workbook (`api::presentation`).
    Xlsx,
    Ocds,
}

impl ContractListFormat {
    /// The plain list format this names; `None` for `ocds`, which only contract lists have.
    pub fn as_list_format(self) -> Option<ListFormat> {
        match self {
            ContractListFormat::Json => Some(ListFormat::Json),
            ContractListFormat::Csv | ContractListFormat::Xlsx => Some(ListFormat::Csv),
            ContractListFormat::Ocds => None,
        }
    }
}

/// A sort order: a key, descending when prefixed with `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<K> {
    pub key: K,
    pub descending: bool,
}

impl<K: FromStr> FromStr for Sort<K>
where
    K::Err: Display,
{
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let (descending, key) = match value.strip_prefix('-') {
            Some(key) => (true, key),
            None => (false, value),
        };
        key.parse::<K>()
            .map(|key| Sort { key, descending })
            .map_err(|e| e.to_string())
    }
}

impl<'de, K: FromStr> Deserialize<'de> for Sort<K>
where
    K::Err: Display,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::pagination::{Cursor, CursorToken, PerPage, MAX_CURSOR_LEN};

    #[derive(Debug, Deserialize, utoipa::IntoParams)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        #[param(value_type = Option<chrono::NaiveDate>)]
        ends_after: Option<QueryDate>,
        #[param(value_type = Option<Vec<String>>, style = Form, explode = false)]
        borough: Option<CommaList<String>>,
        #[param(value_type = Option<u32>)]
        per_page: Option<PerPage>,
    }

    fn error_of(query: &str) -> crate::error::Problem {
        ApiQuery::<Example>::parse(query).unwrap_err().problem()
    }

    #[test]
    fn unknown_parameter_is_named() {
        let problem = error_of("colour=red");
        assert_eq!(problem.status, 400);
        assert!(
            problem.detail.contains("unknown query parameter `colour`"),
            "{}",
            problem.detail
        );
    }

    #[test]
    fn malformed_date_names_parameter_and_value() {
        let problem = error_of("ends_after=31/03/2026");
        assert_eq!(problem.errors[0].field, "ends_after");
        assert!(problem.detail.contains("31/03/2026"));
    }

    #[test]
    fn out_of_range_page_size_is_refused() {
        assert_eq!(error_of("per_page=501").errors[0].field, "per_page");
        assert_eq!(error_of("per_page=0").errors[0].field, "per_page");
    }

    #[test]
    fn a_repeated_list_is_one_list_and_a_repeated_value_is_named() {
        let parsed = ApiQuery::<Example>::parse("borough=a&per_page=5&borough=b,c").unwrap();
        assert_eq!(parsed.borough.unwrap().into_inner(), vec!["a", "b", "c"]);
        let problem = error_of("per_page=5&per_page=6");
        assert_eq!(problem.errors[0].field, "per_page");
        assert!(
            problem.detail.contains("more than once"),
            "{}",
            problem.detail
        );
    }

    #[test]
    fn comma_lists_split_and_trim() {
        let parsed = ApiQuery::<Example>::parse("borough=camden,%20islington,").unwrap();
        assert_eq!(
            parsed.borough.unwrap().into_inner(),
            vec!["camden".to_owned(), "islington".to_owned()]
        );
    }

    #[test]
    fn money_must_be_plain_decimal() {
        assert!("1,000".parse::<QueryMoney>().is_err());
        assert!("-5".parse::<QueryMoney>().is_err());
        assert_eq!(
            "1234.5".parse::<QueryMoney>().unwrap().0.to_string(),
            "1234.5"
        );
    }

    #[test]
    fn cursor_tokens_round_trip_and_are_url_safe() {
        let token = CursorToken {
            sort: "-annual_value_gbp".to_owned(),
            value: serde_json::json!("125000.00"),
            id: 42,
        };
        let text = token.encode();
        assert!(text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(text.parse::<Cursor>().unwrap(), Cursor(Some(token)));
        assert_eq!("".parse::<Cursor>().unwrap(), Cursor(None));
    }

    #[test]
    fn garbage_cursors_are_refused() {
        use base64::Engine;
        let encode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        for garbage in [
            "not a cursor".to_owned(),
            "%%%".to_owned(),
            encode("{}"),
            encode("[\"end_date\", null]"),
            encode("[\"end_date\", null, \"7\"]"),
            "A".repeat(MAX_CURSOR_LEN + 1),
        ] {
            assert!(garbage.parse::<Cursor>().is_err(), "{garbage}");
        }
    }

    crate::queries::sort_keys! { Key { Name => "name", EndDate => "end_date" } }

    #[test]
    fn sort_accepts_descending_prefix() {
        let sort: Sort<Key> = "-end_date".parse().unwrap();
        assert_eq!(
            sort,
            Sort {
                key: Key::EndDate,
                descending: true
            }
        );
        assert!("colour"
            .parse::<Sort<Key>>()
            .unwrap_err()
            .contains("end_date"));
    }
}
