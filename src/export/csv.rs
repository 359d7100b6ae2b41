//! CSV rows from serialisable records: a header of column names, then one row per record with
//! each column's value taken from the record's JSON field of that name.

use std::io;

use serde::Serialize;
use serde_json::Value;

/// The media type of CSV.
pub const TEXT_CSV: &str = "text/csv; charset=utf-8";

/// A CSV writer as every export writes: CRLF line endings (RFC 4180).
pub fn writer<W: io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}

/// Writes `record` as one row of `columns`; a column the record lacks is empty. Fails when
/// the record does not serialise to a JSON object, or when writing does.
pub fn write_row<W: io::Write, T: Serialize>(
    writer: &mut csv::Writer<W>,
    columns: &[&str],
    record: &T,
) -> Result<(), String> {
    let value = match serde_json::to_value(record) {
        Ok(Value::Object(map)) => map,
        _ => return Err("a record did not serialise to an object".to_owned()),
    };
    let row = columns
        .iter()
        .map(|column| cell(value.get(*column).unwrap_or(&Value::Null)));
    writer.write_record(row).map_err(|e| e.to_string())
}

/// A whole table as CSV bytes: a header row of `columns`, then a row per record.
pub fn table<T: Serialize>(columns: &[&str], rows: &[T]) -> Result<Vec<u8>, String> {
    let mut writer = writer(Vec::new());
    writer.write_record(columns).map_err(|e| e.to_string())?;
    for row in rows {
        write_row(&mut writer, columns, row)?;
    }
    writer.into_inner().map_err(|e| e.to_string())
}

/// One CSV cell: null is empty, lists are joined with `|`, everything else as in JSON. Text
/// that a spreadsheet would take for a formula is neutralised (see [`inert`]).
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => inert(text.clone()),
        Value::Array(items) => inert(
            items
                .iter()
                .map(|item| match item {
                    Value::String(text) => text.clone(),
                    other => cell(other),
                })
                .collect::<Vec<_>>()
                .join("|"),
        ),
        other => other.to_string(),
    }
}

/// The characters a spreadsheet (Excel, LibreOffice, Google Sheets) reads, at the start of a
/// cell, as the start of a formula or a command (OWASP's list for CSV injection).
const FORMULA_STARTS: &[char] = &['=', '+', '-', '@', '\t', '\r'];

/// `text`, with a `'` before it when it starts like a formula, so that a spreadsheet opening
/// the file shows it as text instead of running it (`=HYPERLINK(...)` from a contract title,
/// say). Numbers are JSON numbers, never text, so no value the API computes is touched.
pub fn inert(text: String) -> String {
    if text.starts_with(FORMULA_STARTS) {
        format!("'{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_flatten_json_values() {
        assert_eq!(cell(&json!(null)), "");
        assert_eq!(cell(&json!(["a", "b"])), "a|b");
        assert_eq!(cell(&json!(true)), "true");
        assert_eq!(cell(&json!(12)), "12");
        assert_eq!(cell(&json!("x,y")), "x,y");
    }

    #[test]
    fn text_that_starts_like_a_formula_is_kept_as_text() {
        for formula in [
            "=HYPERLINK(\"http://evil.example\",\"click\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(cell(&json!(formula)), format!("'{formula}"));
        }
        assert_eq!(cell(&json!(["=1", "b"])), "'=1|b");
        // Numbers are numbers, and text that only contains the characters is untouched.
        assert_eq!(cell(&json!(-0.25)), "-0.25");
        assert_eq!(cell(&json!("A-Z = 26")), "A-Z = 26");
        assert_eq!(cell(&json!("2027-03-31")), "2027-03-31");
    }

    #[test]
    fn table_has_a_header_and_a_crlf_row_per_record() {
        let rows = [
            json!({"id": "a", "names": ["x", "y"], "note": "b,c", "hidden": 1}),
            json!({"id": "d"}),
        ];
        let bytes = table(&["id", "names", "note"], &rows).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "id,names,note\r\na,x|y,\"b,c\"\r\nd,,\r\n"
        );
    }

    #[test]
    fn a_record_that_is_not_an_object_is_refused() {
        assert!(table(&["id"], &[json!(1)]).is_err());
        assert_eq!(
            table::<Value>(&["id", "name"], &[]).unwrap(),
            b"id,name\r\n"
        );
    }
}
