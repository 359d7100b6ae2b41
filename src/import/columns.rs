//! Finding the columns a format needs among the headers a file has: "Supplier Name", "Supplier"
//! and "Vendor" are all the supplier. Headers are compared without case, spaces or punctuation.

use std::borrow::Borrow;
use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::source::{FileError, FileErrorKind};

/// Cell values, in lower case, that mean nothing was given, whatever the column.
const NOT_GIVEN: &[&str] = &[
    "",
    "-",
    "n/a",
    "na",
    "tbc",
    "tbd",
    "none",
    "unknown",
    "not known",
];

/// Whether a trimmed, lower-case cell means nothing was given: one of [`NOT_GIVEN`] or of the
/// column's own `also` ("ongoing" for a date, "various" for an amount).
pub fn is_blank(lower: &str, also: &[&str]) -> bool {
    NOT_GIVEN.contains(&lower) || also.contains(&lower)
}

/// A column a format reads.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The field it fills, as the report names it.
    pub field: &'static str,
    /// Header names that mean this column, the preferred one first.
    pub names: &'static [&'static str],
    /// A rule for other headers, tried when no name matches exactly.
    pub rule: Option<fn(&str) -> bool>,
    pub required: bool,
}

impl Column {
    pub const fn new(field: &'static str, names: &'static [&'static str]) -> Column {
        Column {
            field,
            names,
            rule: None,
            required: false,
        }
    }

    pub const fn required(mut self) -> Column {
        self.required = true;
        self
    }

    pub const fn or_like(mut self, rule: fn(&str) -> bool) -> Column {
        self.rule = Some(rule);
        self
    }
}

/// Which header a field was read from, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ImportColumn)]
pub struct ColumnUse {
    #[schema(example = "supplier")]
    pub field: String,
    #[schema(example = "Supplier Name")]
    pub header: String,
}

/// A header reduced for comparison: lower-case letters and digits only, "£" and "(gbp)" dropped.
pub fn key(header: &str) -> String {
    header
        .to_lowercase()
        .replace("(gbp)", "")
        .replace("(£)", "")
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The error for a file whose header row lacks required columns, each described in `missing`.
pub fn missing_columns<S: Borrow<str>>(missing: &[S], headers: &[String]) -> FileError {
    let found: Vec<String> = headers.iter().map(|h| format!("{h:?}")).collect();
    FileError::new(
        FileErrorKind::MissingColumns,
        format!(
            "missing required column{}: {}; the header row has {}",
            if missing.len() == 1 { "" } else { "s" },
            missing.join("; "),
            found.join(", ")
        ),
    )
}

/// The columns of one file, by field.
#[derive(Debug, Clone)]
pub struct Columns {
    index: HashMap<&'static str, usize>,
    pub used: Vec<ColumnUse>,
}

impl Columns {
    /// Matches `headers` to `spec`: exact names first (for every field), then the rules for the
    /// fields still unmatched, each header used once. A missing required column is an error
    /// that lists the names it may have.
    pub fn find(headers: &[String], spec: &[Column]) -> Result<Columns, FileError> {
        let keys: Vec<String> = headers.iter().map(|h| key(h)).collect();
        let mut taken = vec![false; headers.len()];
        let mut index = HashMap::new();
        for column in spec {
            let found = column.names.iter().find_map(|name| {
                let wanted = key(name);
                (0..keys.len()).find(|i| !taken[*i] && keys[*i] == wanted)
            });
            if let Some(i) = found {
                taken[i] = true;
                index.insert(column.field, i);
            }
        }
        for column in spec {
            if index.contains_key(column.field) {
                continue;
            }
            if let Some(rule) = column.rule {
                if let Some(i) = (0..keys.len()).find(|i| !taken[*i] && rule(&keys[*i])) {
                    taken[i] = true;
                    index.insert(column.field, i);
                }
            }
        }
        let missing: Vec<String> = spec
            .iter()
            .filter(|c| c.required && !index.contains_key(c.field))
            .map(|c| {
                let names: Vec<String> = c.names.iter().map(|n| format!("{n:?}")).collect();
                format!("{} (a column named {})", c.field, names.join(" or "))
            })
            .collect();
        if !missing.is_empty() {
            return Err(missing_columns(&missing, headers));
        }
        let mut used: Vec<(usize, ColumnUse)> = index
            .iter()
            .map(|(field, i)| {
                (
                    *i,
                    ColumnUse {
                        field: (*field).to_owned(),
                        header: headers[*i].clone(),
                    },
                )
            })
            .collect();
        used.sort_by_key(|(i, _)| *i);
        Ok(Columns {
            index,
            used: used.into_iter().map(|(_, u)| u).collect(),
        })
    }

    /// Whether the file has this field's column.
    pub fn has(&self, field: &str) -> bool {
        self.index.contains_key(field)
    }

    /// The trimmed cell of `field` in `row`; empty when the file has no such column.
    pub fn get<'r>(&self, row: &'r csv::StringRecord, field: &str) -> &'r str {
        self.index
            .get(field)
            .and_then(|i| row.get(*i))
            .map(str::trim)
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[Column] = &[
        Column::new("supplier", &["Supplier Name", "Supplier", "Vendor"]).required(),
        Column::new("end_date", &["End Date", "Expiry Date"]),
        Column::new("value", &["Value"]).or_like(|k| k.contains("value")),
    ];

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn headers_match_without_case_or_punctuation() {
        let columns = Columns::find(
            &headers(&["VENDOR", "expiry_date", "Total Value (£)"]),
            SPEC,
        )
        .unwrap();
        assert!(columns.has("supplier") && columns.has("end_date") && columns.has("value"));
        assert_eq!(columns.used[0].header, "VENDOR");
    }

    #[test]
    fn a_missing_required_column_is_named_with_its_names() {
        let error = Columns::find(&headers(&["Title", "Value"]), SPEC).unwrap_err();
        assert_eq!(error.kind, FileErrorKind::MissingColumns);
        assert!(error.message.contains("supplier"), "{}", error.message);
        assert!(error.message.contains("\"Vendor\""));
    }
}
