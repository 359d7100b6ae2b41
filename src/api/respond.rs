//! Shared response building: JSON pages with `Link` headers, streamed CSV, ETags.

use std::io;

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::ToSchema;

use super::params::{ListFormat, Paging};
use crate::db::DbConn;
use crate::error::ApiError;

/// Paging facts of a list response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListMeta {
    /// Every matching record, over all pages.
    #[schema(example = 612)]
    pub total: i64,
    /// This page, from 1.
    #[schema(example = 1)]
    pub page: u32,
    /// Records per page.
    #[schema(example = 50)]
    pub per_page: u32,
}

/// Declares the JSON envelope of a list: `{"items": [...], "meta": {...}}`, with [`ListMeta`]
/// unless another meta type is named.
macro_rules! list_envelope {
    ($name:ident, $item:ty, $what:literal) => {
        $crate::api::respond::list_envelope!($name, $item, $what, $crate::api::respond::ListMeta);
    };
    ($name:ident, $item:ty, $what:literal, $meta:ty) => {
        #[doc = concat!("A page of ", $what, ".")]
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            #[doc = concat!("The ", $what, " on this page.")]
            pub items: Vec<$item>,
            pub meta: $meta,
        }
    };
}
pub(crate) use list_envelope;

/// The media type of CSV responses.
pub const TEXT_CSV: &str = "text/csv; charset=utf-8";

/// Whether the caller asked for CSV: `format=csv`, or `Accept: text/csv` without `format`.
pub fn wants_csv(req: &HttpRequest, format: Option<ListFormat>) -> bool {
    match format {
        Some(format) => format == ListFormat::Csv,
        None => req
            .headers()
            .get_all(header::ACCEPT)
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|media| media.trim().starts_with("text/csv")),
    }
}

/// Where a page sits in its list, for its `Link` header.
#[derive(Debug, Clone, PartialEq)]
pub enum PagePosition {
    /// Page `paging.page` of a list of `total` records. When `exact` is false, `total` is an
    /// estimate and more records are known to follow this page: no `last` link, and a `next`.
    Numbered {
        paging: Paging,
        total: i64,
        exact: bool,
    },
    /// A keyset page: `next` is the cursor of the following page, None on the last page.
    Cursor { next: Option<String> },
}

/// A JSON page with an RFC 8288 `Link` header (`first`, `prev`, `next`, `last`).
pub fn page<T: Serialize>(req: &HttpRequest, body: &T, total: i64, paging: Paging) -> HttpResponse {
    let position = PagePosition::Numbered {
        paging,
        total,
        exact: true,
    };
    list_page(req, body, &position)
}

/// A JSON page with an RFC 8288 `Link` header: `first`, `prev`, `next` and `last` by page
/// number (no `last` when the total is an estimate), or `first` and `next` by cursor.
pub fn list_page<T: Serialize>(
    req: &HttpRequest,
    body: &T,
    position: &PagePosition,
) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::LINK, link_header(req, position)))
        .json(body)
}

fn link_header(req: &HttpRequest, position: &PagePosition) -> String {
    let others: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(key, _)| key != "page" && key != "cursor")
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let url = |name: &str, value: &str| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(&others);
        query.append_pair(name, value);
        format!("<{}?{}>", req.path(), query.finish())
    };
    let page_url = |page: i64| url("page", &page.to_string());
    let mut links = Vec::new();
    match position {
        PagePosition::Numbered {
            paging,
            total,
            exact,
        } => {
            let page = i64::from(paging.page);
            links.push(format!("{}; rel=\"first\"", page_url(1)));
            if *exact {
                let per_page = i64::from(paging.per_page);
                let last = ((total + per_page - 1) / per_page).max(1);
                links.push(format!("{}; rel=\"last\"", page_url(last)));
                if page > 1 {
                    links.push(format!("{}; rel=\"prev\"", page_url((page - 1).min(last))));
                }
                if page < last {
                    links.push(format!("{}; rel=\"next\"", page_url(page + 1)));
                }
            } else {
                if page > 1 {
                    links.push(format!("{}; rel=\"prev\"", page_url(page - 1)));
                }
                links.push(format!("{}; rel=\"next\"", page_url(page + 1)));
            }
        }
        PagePosition::Cursor { next } => {
            links.push(format!("{}; rel=\"first\"", url("cursor", "")));
            if let Some(next) = next {
                links.push(format!("{}; rel=\"next\"", url("cursor", next)));
            }
        }
    }
    links.join(", ")
}

/// The strong ETag of a representation: a hash of its JSON. Field order is the struct's, both
/// for typed values and for `serde_json::Value` (serde_json's `preserve_order`).
pub fn etag_of<T: Serialize>(body: &T) -> String {
    etag_of_bytes(&serde_json::to_vec(body).unwrap_or_default())
}

fn etag_of_bytes(json: &[u8]) -> String {
    format!("\"{}\"", hex::encode(&Sha256::digest(json)[..16]))
}

/// One resource with a strong `ETag`; `304 Not Modified` when `If-None-Match` holds it.
pub fn single<T: Serialize>(req: &HttpRequest, body: &T) -> Result<HttpResponse, ApiError> {
    let json = serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.to_string()))?;
    let etag = etag_of_bytes(&json);
    let matches = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*");
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    Ok(if matches {
        response.finish()
    } else {
        response.content_type("application/json").body(json)
    })
}

/// Bytes of CSV gathered before a chunk is sent to the client.
const CSV_CHUNK: usize = 64 * 1024;
/// Chunks buffered between the database thread and the client.
const CSV_CHUNKS_IN_FLIGHT: usize = 8;

/// Collects CSV bytes and hands them to the response stream in chunks.
struct ChunkWriter {
    buffer: Vec<u8>,
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CSV_CHUNK + 4096));
        self.tx
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl io::Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CSV_CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Writes records as CSV rows, named by their JSON field names, to a streamed response.
pub struct CsvSink {
    columns: Vec<&'static str>,
    writer: csv::Writer<ChunkWriter>,
}

impl CsvSink {
    /// Writes one record; false once the client has gone away or the stream has failed.
    pub fn write<T: Serialize>(&mut self, record: &T) -> bool {
        let value = match serde_json::to_value(record) {
            Ok(Value::Object(map)) => map,
            _ => return self.fail("a record did not serialise to an object"),
        };
        let row = self
            .columns
            .iter()
            .map(|column| cell(value.get(*column).unwrap_or(&Value::Null)));
        match self.writer.write_record(row) {
            Ok(()) => true,
            Err(e) => self.fail(&e.to_string()),
        }
    }

    /// Ends the stream with an error, so the client sees a broken transfer, not a short file.
    fn fail(&mut self, reason: &str) -> bool {
        let tx = &self.writer.get_ref().tx;
        if !tx.is_closed() {
            log::error!("CSV export stopped: {reason}");
            let _ = tx.blocking_send(Err(io::Error::other("CSV export failed")));
        }
        false
    }
}

/// One CSV cell: null is empty, lists are joined with `|`, everything else as in JSON.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join("|"),
        other => other.to_string(),
    }
}

/// Streams every row `produce` writes as a CSV download named `filename`, with a header row of
/// `columns`. Rows are read from the database one at a time, so memory stays flat however many
/// match.
pub fn csv<F>(conn: DbConn, filename: &str, columns: Vec<&'static str>, produce: F) -> HttpResponse
where
    F: FnOnce(&mut DbConn, &mut CsvSink) -> Result<(), ApiError> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(CSV_CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut conn = conn;
        let chunks = ChunkWriter {
            buffer: Vec::with_capacity(CSV_CHUNK + 4096),
            tx,
        };
        let mut sink = CsvSink {
            writer: csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(chunks),
            columns,
        };
        if let Err(e) = sink.writer.write_record(&sink.columns) {
            sink.fail(&e.to_string());
            return;
        }
        let outcome = produce(&mut conn, &mut sink).map_err(|e| e.to_string());
        if let Err(reason) = outcome.and_then(|()| sink.writer.flush().map_err(|e| e.to_string())) {
            sink.fail(&reason);
        }
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(TEXT_CSV)))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(ReceiverStream::new(rx))
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
}
