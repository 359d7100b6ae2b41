//! Reading a file's bytes: the encoding, CSV tables and JSON, each failure a [`FileError`] that
//! says what is wrong and how to fix it.

use serde::Serialize;
use utoipa::ToSchema;

/// What kind of problem makes a whole file unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ImportFileErrorKind)]
#[serde(rename_all = "snake_case")]
pub enum FileErrorKind {
    /// Nothing in the file.
    Empty,
    /// Not UTF-8 text (a Windows-1252 or UTF-16 export, say).
    WrongEncoding,
    /// Not a CSV table (a spreadsheet, a PDF, JSON, ...).
    NotCsv,
    /// Not JSON, or JSON cut short.
    NotJson,
    /// JSON, but not an OCDS release or record package.
    NotOcds,
    /// Columns the format needs are missing.
    MissingColumns,
    /// The import was asked for without something it needs (such as the borough of a register).
    Invalid,
}

/// Why a whole file could not be read; nothing from it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ImportFileError)]
pub struct FileError {
    pub kind: FileErrorKind,
    /// What is wrong and how to fix it.
    #[schema(
        example = "the file is not UTF-8 text: byte 0xA3 on line 12 is not valid UTF-8 (a £ sign saved as Windows-1252?); save the file as \"CSV UTF-8\""
    )]
    pub message: String,
}

impl FileError {
    pub fn new(kind: FileErrorKind, message: impl Into<String>) -> FileError {
        FileError {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Names a binary file format from its first bytes.
fn binary_kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"PK\x03\x04") {
        Some("a zip file (an Excel .xlsx workbook?)")
    } else if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        Some("an old Excel .xls workbook")
    } else if bytes.starts_with(b"%PDF") {
        Some("a PDF")
    } else if bytes.starts_with(b"\x1F\x8B") {
        Some("a gzip file")
    } else if bytes.iter().take(8192).any(|b| *b == 0) {
        Some("binary data")
    } else {
        None
    }
}

/// The file as UTF-8 text, without a byte-order mark.
pub fn text<'b>(
    bytes: &'b [u8],
    binary_error: FileErrorKind,
    save_as: &str,
) -> Result<&'b str, FileError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(FileError::new(
            FileErrorKind::WrongEncoding,
            format!("the file is UTF-16 text; save it as {save_as} in UTF-8"),
        ));
    }
    if let Some(kind) = binary_kind(bytes) {
        return Err(FileError::new(
            binary_error,
            format!("the file is {kind}, not text; save it as {save_as}"),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
        let byte = bytes[at];
        let guess = match byte {
            0xA3 => " (a £ sign saved as Windows-1252?)",
            0x80 => " (a € sign saved as Windows-1252?)",
            0x91..=0x94 => " (a curly quote saved as Windows-1252?)",
            0x96 | 0x97 => " (a dash saved as Windows-1252?)",
            _ => "",
        };
        FileError::new(
            FileErrorKind::WrongEncoding,
            format!(
                "the file is not UTF-8 text: byte 0x{byte:02X} on line {line} is not valid UTF-8{guess}; \
                 save the file as {save_as} in UTF-8 (in Excel: \"CSV UTF-8\")"
            ),
        )
    })?;
    if text.trim().is_empty() {
        return Err(FileError::new(FileErrorKind::Empty, "the file is empty"));
    }
    Ok(text)
}

/// A CSV table: its header row and its data rows, each with the row number a spreadsheet shows
/// (the header is row 1).
#[derive(Debug)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, csv::StringRecord)>,
}

/// The separator of the header line: `,`, `;` or tab, whichever is most common outside quotes.
fn sniff_delimiter(text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for byte in text.bytes() {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                for (delimiter, count) in counts.iter_mut() {
                    if byte == *delimiter {
                        *count += 1;
                    }
                }
            }
            _ => {}
        }
    }
    counts
        .iter()
        .max_by_key(|(_, count)| *count)
        .filter(|(_, count)| *count > 0)
        .map_or(b',', |(delimiter, _)| *delimiter)
}

/// Reads a CSV file (comma, semicolon or tab separated). Rows whose cells are all blank are
/// left out; short rows read as if padded with blank cells.
pub fn csv_table(bytes: &[u8]) -> Result<Table, FileError> {
    let text = text(bytes, FileErrorKind::NotCsv, "CSV")?;
    let first = text.trim_start();
    if first.starts_with('{') || first.starts_with('[') {
        return Err(FileError::new(
            FileErrorKind::NotCsv,
            "the file is JSON, not CSV; OCDS packages are imported with --format ocds",
        ));
    }
    if first.starts_with('<') {
        return Err(FileError::new(
            FileErrorKind::NotCsv,
            "the file is HTML or XML, not CSV; save the table as CSV",
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(text))
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let not_csv = |e: csv::Error| {
        let line = e.position().map(|p| p.line()).unwrap_or(1);
        FileError::new(
            FileErrorKind::NotCsv,
            format!("the file is not valid CSV (line {line}): {e}"),
        )
    };
    let headers: Vec<String> = reader
        .headers()
        .map_err(not_csv)?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if headers.len() < 2 {
        return Err(FileError::new(
            FileErrorKind::NotCsv,
            format!(
                "the file is not a CSV table: its first line has no separated columns ({:?}); \
                 the first line must be the header row",
                headers
                    .first()
                    .map(|h| h.chars().take(60).collect::<String>())
                    .unwrap_or_default()
            ),
        ));
    }
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(not_csv)?;
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        rows.push((index + 2, record));
    }
    Ok(Table { headers, rows })
}

/// Parses JSON, naming where and how it is broken (cut short, most often).
pub fn json(bytes: &[u8]) -> Result<serde_json::Value, FileError> {
    let text = text(bytes, FileErrorKind::NotJson, "JSON")?;
    serde_json::from_str(text).map_err(|e| {
        let problem = if e.is_eof() {
            "it ends early: the file is cut short (truncated), a download that did not finish?"
                .to_owned()
        } else {
            e.to_string()
        };
        FileError::new(
            FileErrorKind::NotJson,
            format!(
                "the file is not valid JSON at line {} column {}: {problem}",
                e.line(),
                e.column()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bom_and_semicolons_are_fine() {
        let table = csv_table(b"\xEF\xBB\xBFa;b\n1;2\n;\n3;4").unwrap();
        assert_eq!(table.headers, vec!["a", "b"]);
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[1].0, 4, "row numbers count the blank row");
    }

    #[test]
    fn windows_1252_is_named() {
        let error = csv_table(b"a,b\n\xA31,2\n").unwrap_err();
        assert_eq!(error.kind, FileErrorKind::WrongEncoding);
        assert!(error.message.contains("line 2"), "{}", error.message);
        assert!(error.message.contains("Windows-1252"));
    }

    #[test]
    fn binary_and_json_are_not_csv() {
        assert_eq!(
            csv_table(b"PK\x03\x04xx").unwrap_err().kind,
            FileErrorKind::NotCsv
        );
        assert_eq!(
            csv_table(b"{\"a\": 1}").unwrap_err().kind,
            FileErrorKind::NotCsv
        );
        assert_eq!(
            csv_table(b"just a line of text\n").unwrap_err().kind,
            FileErrorKind::NotCsv
        );
        assert_eq!(csv_table(b" \n").unwrap_err().kind, FileErrorKind::Empty);
    }

    #[test]
    fn truncated_json_says_so() {
        let error = json(b"{\"releases\": [{\"ocid\": \"x\"").unwrap_err();
        assert_eq!(error.kind, FileErrorKind::NotJson);
        assert!(error.message.contains("truncated"), "{}", error.message);
    }
}
