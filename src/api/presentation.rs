//! How a tabular answer is presented, whatever operation made it: `bom=true` puts UTF-8's
//! byte-order mark before a CSV answer, and `format=xlsx` turns a CSV answer into an Excel
//! workbook. Both apply to every CSV the service writes, so no operation takes them itself:
//! [`take_presentation`] takes them off the query before the operation reads it, and
//! [`present`] applies them to its answer.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;

use crate::error::ApiError;
use crate::export::xlsx::{self, XlsxFailure, XLSX};

/// What the caller asked of a tabular answer's presentation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Presentation {
    /// `bom=true`.
    pub bom: bool,
    /// `format=xlsx`.
    pub xlsx: bool,
}

/// The presentation the query asks for, with the query the operation should see instead (`bom`
/// taken off, `format=xlsx` read as `format=csv`), or None when it asks for neither. A `bom`
/// other than `true` or `false` is a 400.
pub fn take_presentation(query: &str) -> Result<Option<(Presentation, String)>, ApiError> {
    let mut asked = Presentation::default();
    let mut changed = false;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match (name.as_ref(), value.as_ref()) {
            ("bom", "true" | "false") => asked.bom = value == "true",
            ("bom", other) => {
                return Err(ApiError::invalid_param(
                    "bom",
                    format!("expected true or false, got {other:?}"),
                ))
            }
            ("format", "xlsx") => {
                asked.xlsx = true;
                rest.append_pair("format", "csv");
            }
            _ => {
                rest.append_pair(&name, &value);
                continue;
            }
        }
        changed = true;
    }
    Ok(changed.then(|| (asked, rest.finish())))
}

/// `response` as the caller asked: a successful CSV answer with the byte-order mark, or as a
/// workbook; anything else as it is.
pub async fn present(
    response: ServiceResponse<BoxBody>,
    asked: Presentation,
) -> ServiceResponse<BoxBody> {
    let csv = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/csv"));
    if !csv || !response.status().is_success() {
        return response;
    }
    if asked.xlsx {
        return as_workbook(response).await;
    }
    if asked.bom {
        return response.map_body(|_, body| BoxBody::new(WithBom::new(body)));
    }
    response
}

/// A CSV answer as an Excel workbook of one sheet, named as the file was. The CSV is read as it
/// is produced, on a blocking thread that writes the sheet in constant memory.
async fn as_workbook(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let (req, res) = response.into_parts();
    let (mut head, body) = res.into_parts();
    let stem = head
        .headers()
        .get(header::CONTENT_DISPOSITION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split("filename=").nth(1))
        .map(|name| name.trim_matches('"').trim_end_matches(".csv").to_owned())
        .unwrap_or_else(|| "table".to_owned());
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let sheet: String = stem
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    let writing = tokio::task::spawn_blocking(move || xlsx::from_csv(ChunkReader::new(rx), &sheet));
    let mut body = Box::pin(body);
    let read = loop {
        match std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await {
            Some(Ok(chunk)) => {
                if tx.send(chunk).await.is_err() {
                    break Ok(());
                }
            }
            Some(Err(error)) => break Err(error.to_string()),
            None => break Ok(()),
        }
    };
    drop(tx);
    let written = writing.await;
    let failure = match (read, written) {
        (Ok(()), Ok(Ok(workbook))) => {
            let headers = head.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(XLSX));
            if let Ok(value) =
                HeaderValue::from_str(&format!("attachment; filename=\"{stem}.xlsx\""))
            {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            return ServiceResponse::new(req, head.set_body(BoxBody::new(workbook)));
        }
        (_, Ok(Err(XlsxFailure::TooManyRows))) => ApiError::invalid_param(
            "format",
            format!(
                "the answer has more than {} rows, more than an Excel sheet holds: narrow the \
                 filters, or ask for format=csv",
                xlsx::MAX_ROWS
            ),
        ),
        (Err(reason), _) => ApiError::Internal(format!("the table broke off: {reason}")),
        (_, Ok(Err(failure))) => ApiError::Internal(failure.to_string()),
        (_, Err(panicked)) => ApiError::Internal(panicked.to_string()),
    };
    let refused = actix_web::ResponseError::error_response(&failure);
    ServiceResponse::new(req, refused)
}

/// The chunks of a body, read as one stream of bytes on a blocking thread.
struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    chunk: Bytes,
}

impl ChunkReader {
    fn new(rx: tokio::sync::mpsc::Receiver<Bytes>) -> ChunkReader {
        ChunkReader {
            rx,
            chunk: Bytes::new(),
        }
    }
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.chunk = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// UTF-8's byte-order mark, which tells Excel that a CSV file is UTF-8 (without it, Excel on
/// Windows opens the file as cp1252: "CafÃ© Â£").
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A response body with UTF-8's byte-order mark before it.
pub struct WithBom {
    sent: bool,
    inner: BoxBody,
}

impl WithBom {
    pub fn new(inner: BoxBody) -> WithBom {
        WithBom { sent: false, inner }
    }
}

impl MessageBody for WithBom {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> actix_web::body::BodySize {
        match self.inner.size() {
            actix_web::body::BodySize::Sized(n) => {
                actix_web::body::BodySize::Sized(n + BOM.len() as u64)
            }
            other => other,
        }
    }

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Bytes, Self::Error>>> {
        if !self.sent {
            self.sent = true;
            return std::task::Poll::Ready(Some(Ok(Bytes::from_static(BOM))));
        }
        std::pin::Pin::new(&mut self.inner).poll_next(cx)
    }
}
