//! Filters turned into boxed diesel queries, shared by list, count and CSV export.

pub mod boroughs;
pub mod changes;
pub mod contracts;
pub mod fixed;
pub mod insight_rows;
pub mod insights;
pub mod keys;
pub mod list;
pub mod rollups;
pub mod service_areas;
pub mod suppliers;
pub mod sync_runs;
pub mod systems;
pub mod tenders;
pub mod watches;
pub mod writes;

use std::collections::BTreeSet;

use diesel::pg::PgRowByRowLoadingMode;
use diesel::query_dsl::LoadQuery;
use diesel::{PgConnection, QueryResult};
use serde::Serialize;
use utoipa::ToSchema;

/// One failing field or parameter of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The query parameter, path segment or body field at fault.
    #[schema(example = "ends_after")]
    pub field: String,
    /// What is wrong with it.
    #[schema(example = "expected a date as YYYY-MM-DD, got \"31/03/2026\"")]
    pub message: String,
}

impl FieldError {
    /// The failure of `field`, in words.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// `field: message` for each of `errors`, separated by semicolons.
    pub fn summary(errors: &[FieldError]) -> String {
        errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Why a query could not answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Filter values that name no record or contradict each other, one entry each.
    #[error("invalid filter: {}", FieldError::summary(.0))]
    InvalidFilter(Vec<FieldError>),
    /// The database failed or refused a statement.
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Feeds every row of `query` to `each`, one at a time, without holding the whole result in
/// memory; stops early when `each` returns false (the client went away).
pub fn for_each_row<'conn, 'q: 'conn, Q, U>(
    conn: &'conn mut PgConnection,
    query: Q,
    mut each: impl FnMut(U) -> bool,
) -> QueryResult<()>
where
    Q: LoadQuery<'q, PgConnection, U, PgRowByRowLoadingMode> + 'conn,
    U: 'conn,
{
    for row in query.load_iter::<U, PgRowByRowLoadingMode>(conn)? {
        if !each(row?) {
            break;
        }
    }
    Ok(())
}

/// A `LIKE` pattern matching `word` anywhere, with the pattern characters in it escaped.
pub fn contains_pattern(word: &str) -> String {
    let mut pattern = String::with_capacity(word.len() + 2);
    pattern.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The words of a free-text search, lower-cased and de-duplicated.
pub fn search_words(q: &str) -> Vec<String> {
    let words: BTreeSet<String> = q
        .split_whitespace()
        .map(|word| word.to_lowercase())
        .collect();
    words.into_iter().collect()
}

/// Values a caller asked for that do not exist, as `"a", "b"`.
pub fn missing<'a>(asked: &'a [String], found: &BTreeSet<String>) -> Vec<&'a str> {
    asked
        .iter()
        .filter(|value| !found.contains(value.as_str()))
        .map(String::as_str)
        .collect()
}

/// Ids as the catalogue spells them: slugs are lower case (a GSS code is matched in any case),
/// so `Camden` and `CAMDEN` name `camden`.
pub fn fold_case(ids: &mut [String]) {
    for id in ids {
        if id.chars().any(|c| c.is_uppercase()) {
            *id = id.to_lowercase();
        }
    }
}

/// `unknown <what> "<value>"`, with the closest of the `known` ids suggested when any is close.
pub fn unknown_id(what: &str, value: &str, known: &[String]) -> String {
    let close = closest(value, known);
    if close.is_empty() {
        return format!("unknown {what} {value:?}");
    }
    let named: Vec<String> = close.iter().map(|id| format!("`{id}`")).collect();
    format!(
        "unknown {what} {value:?}; did you mean {}?",
        named.join(" or ")
    )
}

/// Up to three of `known` that `value` could be a slip for: within a few edits (a third of its
/// length, at least one), or holding it whole as a word (`waste` for `waste-and-recycling`);
/// nearest first.
pub fn closest<'a>(value: &str, known: &'a [String]) -> Vec<&'a str> {
    let value = value.to_lowercase();
    let allowed = (value.chars().count() / 3).max(1);
    let mut scored: Vec<(usize, &str)> = known
        .iter()
        .filter_map(|id| {
            let distance = edit_distance(&value, id);
            let holds = value.len() >= 4 && id.split('-').any(|word| word == value);
            (distance <= allowed || holds).then_some((distance, id.as_str()))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, id)| id).collect()
}

/// The Levenshtein distance between `a` and `b`, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Declares the keys a list may be sorted by.
macro_rules! sort_keys {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $crate::queries::list::SortKeyName for $name {
            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(value: &str) -> Result<Self, String> {
                match value {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "cannot sort by {value:?}; expected one of {} (prefix - for descending)",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use sort_keys;

#[cfg(test)]
mod suggestion_tests {
    use super::*;

    #[test]
    fn a_slip_suggests_the_ids_it_could_mean() {
        let known: Vec<String> = ["camden", "croydon", "waste-and-recycling", "council-tax"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(closest("camdn", &known), vec!["camden"]);
        assert_eq!(closest("waste", &known), vec!["waste-and-recycling"]);
        assert_eq!(closest("council-tx", &known), vec!["council-tax"]);
        assert!(closest("atlantis", &known).is_empty());
        assert_eq!(
            unknown_id("borough", "camdn", &known),
            "unknown borough \"camdn\"; did you mean `camden`?"
        );
        assert_eq!(
            unknown_id("borough", "atlantis", &known),
            "unknown borough \"atlantis\""
        );
        let mut ids = vec!["Camden".to_owned(), "E09000007".to_owned()];
        fold_case(&mut ids);
        assert_eq!(ids, vec!["camden", "e09000007"]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_names_each_field_with_its_message() {
        let errors = [
            FieldError::new("supplier", "unknown supplier \"nobody\""),
            FieldError::new("ends_before", "earlier than ends_after"),
        ];
        assert_eq!(
            FieldError::summary(&errors),
            "supplier: unknown supplier \"nobody\"; ends_before: earlier than ends_after"
        );
        let error = QueryError::InvalidFilter(errors.to_vec());
        assert!(error.to_string().starts_with("invalid filter: supplier: "));
    }

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(contains_pattern("50%_off"), "%50\\%\\_off%");
    }

    #[test]
    fn search_words_are_lowercased_and_unique() {
        assert_eq!(
            search_words(" Civica  civica Revenues"),
            vec!["civica", "revenues"]
        );
    }
}
