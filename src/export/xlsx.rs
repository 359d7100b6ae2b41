//! Excel workbooks from the service's CSV: one sheet, a bold frozen header with filters, and
//! typed cells, so that a spreadsheet gets real dates and money, not text that looks like them.
//!
//! Every tabular answer is first written as CSV (`export::csv`); this module reads that CSV
//! back row by row and writes the sheet in constant memory (rows go to a temporary file as they
//! are written), so a large table costs the finished file, not the sheet's cells.

use std::io;

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use super::csv::inert;

/// The media type of an Excel workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The most data rows a sheet holds (Excel's 1,048,576 rows, less the header).
pub const MAX_ROWS: u32 = 1_048_575;

/// Why a workbook could not be made.
#[derive(Debug, thiserror::Error)]
pub enum XlsxFailure {
    #[error("the table has more than {MAX_ROWS} rows, more than an Excel sheet holds")]
    TooManyRows,
    #[error("the table could not be read: {0}")]
    Csv(#[from] csv::Error),
    #[error("the workbook could not be written: {0}")]
    Workbook(#[from] XlsxError),
}

/// How a column's cells are written, from its name: `*_gbp` money, `*_date` dates, counts and
/// figures as numbers, ids, names and text as text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Money,
    Date,
    Number,
    Text,
}

fn kind(column: &str) -> Kind {
    const TEXT: &[&str] = &[
        "_id",
        "_ids",
        "name",
        "names",
        "title",
        "description",
        "reference",
        "period",
        "ocid",
        "url",
        "_uri",
        "notes",
    ];
    if column.ends_with("_gbp") {
        Kind::Money
    } else if column.ends_with("_date") || column == "date" {
        Kind::Date
    } else if TEXT.iter().any(|suffix| column.ends_with(suffix)) {
        Kind::Text
    } else {
        Kind::Number
    }
}

/// The formats of typed cells.
struct Formats {
    header: Format,
    money: Format,
    date: Format,
}

/// Reads the CSV `table` (a header row, then data rows) and answers it as a workbook with one
/// sheet named `sheet`.
pub fn from_csv(table: impl io::Read, sheet: &str) -> Result<Vec<u8>, XlsxFailure> {
    from_csv_within(table, sheet, MAX_ROWS)
}

/// [`from_csv`], refusing a table of more than `max_rows` data rows.
fn from_csv_within(
    table: impl io::Read,
    sheet: &str,
    max_rows: u32,
) -> Result<Vec<u8>, XlsxFailure> {
    let formats = Formats {
        header: Format::new().set_bold(),
        money: Format::new().set_num_format("£#,##0.00"),
        date: Format::new().set_num_format("yyyy-mm-dd"),
    };
    let mut workbook = Workbook::new();
    let worksheet = workbook.add_worksheet_with_constant_memory()?;
    worksheet.set_name(sheet)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(table);
    let mut kinds = Vec::new();
    let mut rows: u32 = 0;
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record)? {
        if rows == 0 && kinds.is_empty() {
            for (col, name) in record.iter().enumerate() {
                worksheet.write_string_with_format(0, col as u16, name, &formats.header)?;
                kinds.push(kind(name));
            }
            worksheet.set_freeze_panes(1, 0)?;
            continue;
        }
        if rows == max_rows {
            return Err(XlsxFailure::TooManyRows);
        }
        rows += 1;
        for (col, value) in record.iter().enumerate() {
            let kind = kinds.get(col).copied().unwrap_or(Kind::Text);
            write_cell(worksheet, &formats, (rows, col as u16), kind, value)?;
        }
    }
    if !kinds.is_empty() {
        worksheet.autofilter(0, 0, rows, (kinds.len() - 1) as u16)?;
    }
    Ok(workbook.save_to_buffer()?)
}

/// One cell: typed as its column says when the value reads so, as text otherwise; an empty
/// value is an empty cell.
fn write_cell(
    worksheet: &mut Worksheet,
    formats: &Formats,
    (row, col): (u32, u16),
    kind: Kind,
    value: &str,
) -> Result<(), XlsxError> {
    if value.is_empty() {
        return Ok(());
    }
    let number = || value.parse::<f64>().ok().filter(|n| n.is_finite());
    match kind {
        Kind::Money => {
            if let Some(amount) = number() {
                worksheet.write_number_with_format(row, col, amount, &formats.money)?;
                return Ok(());
            }
        }
        Kind::Date => {
            if let Some(date) = date(value) {
                worksheet.write_datetime_with_format(row, col, &date, &formats.date)?;
                return Ok(());
            }
        }
        Kind::Number => {
            if let Some(figure) = number() {
                worksheet.write_number(row, col, figure)?;
                return Ok(());
            }
            if let Ok(flag) = value.parse::<bool>() {
                worksheet.write_boolean(row, col, flag)?;
                return Ok(());
            }
        }
        Kind::Text => {}
    }
    worksheet.write_string(row, col, as_text(value))?;
    Ok(())
}

/// A `YYYY-MM-DD` date as Excel's.
fn date(value: &str) -> Option<ExcelDateTime> {
    let date = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
    use chrono::Datelike;
    ExcelDateTime::from_ymd(
        u16::try_from(date.year()).ok()?,
        date.month() as u8,
        date.day() as u8,
    )
    .ok()
}

/// A CSV cell's text as the sheet should show it. The CSV puts `'` before text that starts like
/// a formula ([`inert`]); a sheet's text cell is never a formula, so the mark comes off.
fn as_text(value: &str) -> &str {
    match value.strip_prefix('\'') {
        Some(rest) if inert(rest.to_owned()) != rest => rest,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_typed_by_name() {
        assert_eq!(kind("annual_value_gbp"), Kind::Money);
        assert_eq!(kind("end_date"), Kind::Date);
        assert_eq!(kind("contracts"), Kind::Number);
        assert_eq!(kind("id"), Kind::Number);
        assert_eq!(kind("borough_id"), Kind::Text);
        assert_eq!(kind("service_area_ids"), Kind::Text);
        assert_eq!(kind("supplier_name"), Kind::Text);
        assert_eq!(kind("title"), Kind::Text);
    }

    #[test]
    fn the_formula_mark_comes_off_text_only_where_the_csv_put_it() {
        assert_eq!(as_text("'=HYPERLINK(1)"), "=HYPERLINK(1)");
        assert_eq!(as_text("'-2"), "-2");
        assert_eq!(as_text("'quoted'"), "'quoted'");
        assert_eq!(as_text("plain"), "plain");
    }

    #[test]
    fn a_table_becomes_a_workbook() {
        let csv = "id,title,end_date,annual_value_gbp\r\n1,'=1+1,2027-03-31,1200.50\r\n2,x,,\r\n";
        let bytes = from_csv(csv.as_bytes(), "contracts").unwrap();
        assert_eq!(&bytes[..2], b"PK", "a zip container");
    }

    #[test]
    fn a_table_longer_than_a_sheet_is_refused() {
        let csv = "id\r\n1\r\n2\r\n3\r\n";
        assert!(from_csv_within(csv.as_bytes(), "t", 3).is_ok());
        assert!(matches!(
            from_csv_within(csv.as_bytes(), "t", 2),
            Err(XlsxFailure::TooManyRows)
        ));
    }
}
