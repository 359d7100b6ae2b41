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
    // Each field straight to its cell, as `cell` writes its JSON value: no map of the whole
    // record (building one, hashing its keys and looking each column up in it was most of an
    // export's time).
    let mut cells = vec![String::new(); columns.len()];
    record
        .serialize(Row {
            columns,
            cells: &mut cells,
        })
        .map_err(|e| e.0)?;
    writer.write_record(&cells).map_err(|e| e.to_string())
}

/// Why a record could not be written as a row.
#[derive(Debug)]
pub struct RowError(String);

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RowError {}

impl serde::ser::Error for RowError {
    fn custom<M: std::fmt::Display>(message: M) -> Self {
        RowError(message.to_string())
    }
}

fn not_an_object<T>() -> Result<T, RowError> {
    Err(RowError(
        "a record did not serialise to an object".to_owned(),
    ))
}

/// Serialises a record (a struct or a map) into the cells of `columns`.
struct Row<'a> {
    columns: &'a [&'a str],
    cells: &'a mut Vec<String>,
}

impl Row<'_> {
    fn put<V: Serialize + ?Sized>(&mut self, key: &str, value: &V) -> Result<(), RowError> {
        if let Some(i) = self.columns.iter().position(|column| *column == key) {
            let value = serde_json::to_value(value).map_err(|e| RowError(e.to_string()))?;
            self.cells[i] = cell(&value);
        }
        Ok(())
    }
}

macro_rules! not_an_object {
    ($($method:ident($($arg:ty),*);)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<(), RowError> {
            not_an_object()
        }
    )*};
}

impl<'a> serde::Serializer for Row<'a> {
    type Ok = ();
    type Error = RowError;
    type SerializeSeq = serde::ser::Impossible<(), RowError>;
    type SerializeTuple = serde::ser::Impossible<(), RowError>;
    type SerializeTupleStruct = serde::ser::Impossible<(), RowError>;
    type SerializeTupleVariant = serde::ser::Impossible<(), RowError>;
    type SerializeMap = RowMap<'a>;
    type SerializeStruct = Self;
    type SerializeStructVariant = serde::ser::Impossible<(), RowError>;

    not_an_object! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32);
        serialize_u64(u64); serialize_f32(f32); serialize_f64(f64); serialize_char(char);
        serialize_str(&str); serialize_bytes(&[u8]); serialize_none(); serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<V: Serialize + ?Sized>(self, value: &V) -> Result<(), RowError> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &V,
    ) -> Result<(), RowError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<(), RowError> {
        not_an_object()
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, RowError> {
        not_an_object()
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, RowError> {
        not_an_object()
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, RowError> {
        not_an_object()
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, RowError> {
        not_an_object()
    }

    fn serialize_map(self, _: Option<usize>) -> Result<RowMap<'a>, RowError> {
        Ok(RowMap {
            row: self,
            key: None,
        })
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, RowError> {
        Ok(self)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, RowError> {
        not_an_object()
    }
}

impl serde::ser::SerializeStruct for Row<'_> {
    type Ok = ();
    type Error = RowError;

    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), RowError> {
        self.put(key, value)
    }

    fn end(self) -> Result<(), RowError> {
        Ok(())
    }
}

/// A record that serialises as a map (a struct with flattened fields does).
struct RowMap<'a> {
    row: Row<'a>,
    key: Option<String>,
}

impl serde::ser::SerializeMap for RowMap<'_> {
    type Ok = ();
    type Error = RowError;

    fn serialize_key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), RowError> {
        match serde_json::to_value(key) {
            Ok(Value::String(key)) => {
                self.key = Some(key);
                Ok(())
            }
            _ => not_an_object(),
        }
    }

    fn serialize_value<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), RowError> {
        let key = self.key.take().unwrap_or_default();
        self.row.put(&key, value)
    }

    fn end(self) -> Result<(), RowError> {
        Ok(())
    }
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

    /// A row is what the record's JSON would give, column by column: fields in the columns'
    /// order, flattened fields too, a missing one empty, lists joined, formulas made inert.
    #[test]
    fn a_row_takes_each_column_from_the_records_field_of_that_name() {
        #[derive(Serialize)]
        struct Inner {
            value_gbp: Option<String>,
            tags: Vec<&'static str>,
        }
        #[derive(Serialize)]
        struct Record {
            id: i64,
            title: &'static str,
            share: f64,
            open: bool,
            #[serde(flatten)]
            inner: Inner,
            #[serde(skip_serializing_if = "Option::is_none")]
            note: Option<&'static str>,
        }
        let record = Record {
            id: 7,
            title: "=1+1",
            share: 1.0,
            open: true,
            inner: Inner {
                value_gbp: None,
                tags: vec!["a", "b"],
            },
            note: None,
        };
        let columns = [
            "tags",
            "id",
            "note",
            "title",
            "share",
            "open",
            "value_gbp",
            "absent",
        ];
        let mut writer = writer(Vec::new());
        write_row(&mut writer, &columns, &record).unwrap();
        let fast = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        let json = serde_json::to_value(&record).unwrap();
        let slow: Vec<String> = columns
            .iter()
            .map(|c| cell(json.get(*c).unwrap_or(&Value::Null)))
            .collect();
        assert_eq!(fast, writer_of(&slow));
        assert_eq!(fast, "a|b,7,,'=1+1,1.0,true,,\r\n");
        assert!(write_row(&mut super::writer(Vec::new()), &columns, &5).is_err());
    }

    fn writer_of(cells: &[String]) -> String {
        let mut writer = writer(Vec::new());
        writer.write_record(cells).unwrap();
        String::from_utf8(writer.into_inner().unwrap()).unwrap()
    }

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
