//! Streamed downloads: a blocking thread writes the body, a bounded channel carries it to the
//! client in chunks. Memory stays flat however many rows a download holds, and a slow client
//! holds the writer back rather than letting chunks pile up.

use std::fmt::Display;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, HttpResponseBuilder};
use diesel::PgConnection;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::db::DbConn;
use crate::error::ApiError;
use crate::export::csv::{self as csv_rows, TEXT_CSV};

/// Bytes gathered before a chunk is sent to the client.
const CHUNK: usize = 64 * 1024;
/// Chunks buffered between the writing thread and the client.
const CHUNKS_IN_FLIGHT: usize = 8;
/// How long the writer waits for a client that has stopped reading before it gives up, ends
/// the download and lets its database connection go.
const STALL: std::time::Duration = std::time::Duration::from_secs(15);

/// A response body being written: bytes are gathered into chunks and each full chunk is sent
/// to the client, waiting while the channel is full.
pub struct BodyWriter {
    buffer: Vec<u8>,
    tx: mpsc::Sender<Bytes>,
    /// The runtime the client's side of the channel lives on, to wait on it with a timeout.
    runtime: tokio::runtime::Handle,
    /// How long to wait for a client that reads nothing ([`STALL`]).
    stall: std::time::Duration,
    /// Whether a chunk could not be sent: the body is short, whatever the producer says.
    broken: bool,
}

impl BodyWriter {
    fn new(
        tx: mpsc::Sender<Bytes>,
        runtime: tokio::runtime::Handle,
        stall: std::time::Duration,
    ) -> BodyWriter {
        BodyWriter {
            buffer: Vec::with_capacity(CHUNK + 4096),
            tx,
            runtime,
            stall,
            broken: false,
        }
    }

    /// Sends the gathered bytes, waiting up to [`STALL`] for room: a client that reads nothing
    /// for that long (or has gone) ends the download.
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK + 4096));
        let sent = self
            .runtime
            .block_on(self.tx.send_timeout(Bytes::from(chunk), self.stall))
            .map_err(|error| match error {
                mpsc::error::SendTimeoutError::Timeout(_) => io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the client read nothing for {:?}", self.stall),
                ),
                mpsc::error::SendTimeoutError::Closed(_) => {
                    io::Error::new(io::ErrorKind::BrokenPipe, "the client went away")
                }
            });
        self.broken |= sent.is_err();
        sent
    }

    /// Logs why the body stops short; the client's side ([`Chunks`]) then ends the transfer
    /// with an error. Nothing is logged when the client has already gone.
    fn fail(&self, what: &str, reason: impl Display) {
        if !self.tx.is_closed() {
            log::error!("{what} stopped: {reason}");
        }
    }
}

/// The client's side of a streamed body: the chunks as they come, then an error unless the
/// writer finished. However the writer stops short (an error, a stalled client, a panic), the
/// client sees a broken transfer, never a short file that looks whole.
struct Chunks {
    /// What is being sent, for the error.
    what: &'static str,
    rx: ReceiverStream<Bytes>,
    finished: Arc<AtomicBool>,
    ended: bool,
}

impl tokio_stream::Stream for Chunks {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.rx).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(chunk)) => Poll::Ready(Some(Ok(chunk))),
            Poll::Ready(None) => {
                self.ended = true;
                if self.finished.load(Ordering::Acquire) {
                    Poll::Ready(None)
                } else {
                    let what = self.what;
                    Poll::Ready(Some(Err(io::Error::other(format!(
                        "{what} failed part way"
                    )))))
                }
            }
        }
    }
}

impl Write for BodyWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// A failure to write a streamed body, as the error a producer returns.
pub fn write_failed(error: io::Error) -> ApiError {
    ApiError::Internal(format!("writing an export: {error}"))
}

/// A 200 response of `content_type`, as a download named `filename` when there is one.
fn download(content_type: &'static str, filename: Option<&str>) -> HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)));
    if let Some(filename) = filename {
        response.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ));
    }
    response
}

/// Streams what `produce` writes on a blocking thread. An error from `produce` (logged as
/// `what` stopped) ends the body with an error once the bytes before it are sent.
fn streamed<F, E>(
    what: &'static str,
    content_type: &'static str,
    filename: Option<&str>,
    produce: F,
) -> HttpResponse
where
    F: FnOnce(&mut BodyWriter) -> Result<(), E> + Send + 'static,
    E: Display,
{
    streamed_within(STALL, what, content_type, filename, produce)
}

/// [`streamed`], giving up on a client that reads nothing for `stall`.
fn streamed_within<F, E>(
    stall: std::time::Duration,
    what: &'static str,
    content_type: &'static str,
    filename: Option<&str>,
    produce: F,
) -> HttpResponse
where
    F: FnOnce(&mut BodyWriter) -> Result<(), E> + Send + 'static,
    E: Display,
{
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let runtime = tokio::runtime::Handle::current();
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = BodyWriter::new(tx, runtime, stall);
        if let Err(reason) = produce(&mut out) {
            out.fail(what, reason);
        } else if let Err(reason) = out.flush() {
            out.fail(what, reason);
        } else if out.broken {
            out.fail(what, "a chunk could not be sent");
        } else {
            done.store(true, Ordering::Release);
        }
    });
    download(content_type, filename).streaming(Chunks {
        what,
        rx: ReceiverStream::new(rx),
        finished,
        ended: false,
    })
}

/// Streams what `produce` writes from the database connection `conn`, as a download named
/// `filename` when there is one. A failure part way ends the stream with an error, so the
/// client sees a broken transfer rather than a short file.
pub fn stream<F>(
    conn: DbConn,
    content_type: &'static str,
    filename: Option<&str>,
    produce: F,
) -> HttpResponse
where
    F: FnOnce(&mut PgConnection, &mut BodyWriter) -> Result<(), ApiError> + Send + 'static,
{
    let mut conn = conn;
    streamed("export", content_type, filename, move |out| {
        produce(&mut conn, out)
    })
}

/// Writes records as CSV rows, named by their JSON field names, to a streamed response.
pub struct CsvSink<'a> {
    columns: Vec<&'static str>,
    writer: csv::Writer<&'a mut BodyWriter>,
    failure: Option<String>,
}

impl CsvSink<'_> {
    /// Writes one record; false once the client has gone away or the stream has failed.
    pub fn write<T: Serialize>(&mut self, record: &T) -> bool {
        if self.failure.is_some() {
            return false;
        }
        match csv_rows::write_row(&mut self.writer, &self.columns, record) {
            Ok(()) => true,
            Err(reason) => {
                self.failure = Some(reason);
                false
            }
        }
    }
}

/// Writes the header row of `columns`, then whatever `produce` writes, as CSV to `out`.
fn write_csv<F>(out: &mut BodyWriter, columns: Vec<&'static str>, produce: F) -> Result<(), String>
where
    F: FnOnce(&mut CsvSink) -> Result<(), ApiError>,
{
    let mut sink = CsvSink {
        writer: csv_rows::writer(out),
        columns,
        failure: None,
    };
    sink.writer
        .write_record(&sink.columns)
        .map_err(|e| e.to_string())?;
    produce(&mut sink).map_err(|e| e.to_string())?;
    if let Some(reason) = sink.failure.take() {
        return Err(reason);
    }
    sink.writer.flush().map_err(|e| e.to_string())
}

/// Streams every row `produce` writes as a CSV download named `filename`, with a header row of
/// `columns`. Rows are read from the database one at a time, so memory stays flat however many
/// match.
pub fn csv<F>(conn: DbConn, filename: &str, columns: Vec<&'static str>, produce: F) -> HttpResponse
where
    F: FnOnce(&mut DbConn, &mut CsvSink) -> Result<(), ApiError> + Send + 'static,
{
    let mut conn = conn;
    streamed("CSV export", TEXT_CSV, Some(filename), move |out| {
        write_csv(out, columns, |sink| produce(&mut conn, sink))
    })
}

/// A small table, already in memory, as a CSV download named `filename`: a header row of
/// `columns`, then a row per record.
pub fn csv_table<T: Serialize>(
    filename: &str,
    columns: &[&str],
    rows: &[T],
) -> Result<HttpResponse, ApiError> {
    let body = csv_rows::table(columns, rows).map_err(ApiError::Internal)?;
    Ok(download(TEXT_CSV, Some(filename)).body(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::{self, MessageBody};
    use serde_json::json;

    fn header(response: &HttpResponse, name: header::HeaderName) -> Option<&str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    async fn body_of(response: HttpResponse) -> Result<Bytes, String> {
        body::to_bytes(response.into_body())
            .await
            .map_err(|e| e.to_string())
    }

    #[actix_web::test]
    async fn a_streamed_body_arrives_whole_in_chunks() {
        let row = "x".repeat(1000) + "\n";
        let rows = row.clone();
        let response = streamed("export", "text/plain", None, move |out| {
            (0..200).try_for_each(|_| out.write_all(rows.as_bytes()))
        });
        assert_eq!(header(&response, header::CONTENT_TYPE), Some("text/plain"));
        assert_eq!(header(&response, header::CONTENT_DISPOSITION), None);
        let bytes = body_of(response).await.unwrap();
        assert_eq!(bytes, row.repeat(200).as_bytes());
    }

    #[actix_web::test]
    async fn a_failure_part_way_breaks_the_transfer() {
        let response = streamed("export", "text/plain", Some("a.txt"), |out| {
            out.write_all(&[b'x'; CHUNK * 2])
                .map_err(|e| e.to_string())?;
            Err("the database went away".to_owned())
        });
        assert_eq!(
            header(&response, header::CONTENT_DISPOSITION),
            Some("attachment; filename=\"a.txt\"")
        );
        let error = body_of(response).await.unwrap_err();
        assert!(error.contains("export failed"), "{error}");
    }

    #[actix_web::test]
    async fn a_client_that_stops_reading_ends_the_download() {
        let (gave_up, seen) = std::sync::mpsc::channel();
        let stall = std::time::Duration::from_millis(300);
        let response = streamed_within(stall, "export", "text/plain", None, move |out| {
            // Far more than the chunks in flight: the writer must wait for the client.
            let written = (0..CHUNKS_IN_FLIGHT * 4).try_for_each(|_| out.write_all(&[b'x'; CHUNK]));
            gave_up.send(written.map_err(|e| e.kind())).unwrap();
            Ok::<(), String>(())
        });
        // The client holds the response and reads nothing.
        let outcome = tokio::task::spawn_blocking(move || {
            seen.recv_timeout(std::time::Duration::from_secs(10))
        })
        .await
        .unwrap()
        .expect("the writer never gave up on a client that reads nothing");
        assert_eq!(outcome, Err(io::ErrorKind::TimedOut));
        // What it then reads is the chunks in flight and an error, not a short file.
        assert!(body_of(response).await.is_err());
    }

    #[actix_web::test]
    async fn csv_rows_follow_their_header() {
        let response = streamed("CSV export", TEXT_CSV, Some("t.csv"), |out| {
            write_csv(out, vec!["id", "tags"], |sink| {
                assert!(sink.write(&json!({"id": 1, "tags": ["a", "b"]})));
                assert!(sink.write(&json!({"id": 2, "other": true})));
                Ok(())
            })
        });
        assert_eq!(header(&response, header::CONTENT_TYPE), Some(TEXT_CSV));
        let bytes = body_of(response).await.unwrap();
        assert_eq!(bytes, "id,tags\r\n1,a|b\r\n2,\r\n".as_bytes());
    }

    #[actix_web::test]
    async fn a_record_csv_cannot_write_breaks_the_transfer() {
        let response = streamed("CSV export", TEXT_CSV, Some("t.csv"), |out| {
            write_csv(out, vec!["id"], |sink| {
                assert!(sink.write(&json!({"id": 1})));
                assert!(!sink.write(&json!(["not", "an", "object"])));
                assert!(!sink.write(&json!({"id": 3})), "nothing after a failure");
                Ok(())
            })
        });
        let error = body_of(response).await.unwrap_err();
        assert!(error.contains("CSV export failed"), "{error}");
    }

    #[actix_web::test]
    async fn a_small_table_is_one_csv_download() {
        let rows = [json!({"borough": "camden", "count": 3})];
        let response = csv_table("peers.csv", &["borough", "count"], &rows).unwrap();
        assert_eq!(header(&response, header::CONTENT_TYPE), Some(TEXT_CSV));
        assert_eq!(
            header(&response, header::CONTENT_DISPOSITION),
            Some("attachment; filename=\"peers.csv\"")
        );
        let bytes = response.into_body().try_into_bytes().unwrap();
        assert_eq!(bytes, "borough,count\r\ncamden,3\r\n".as_bytes());
    }
}
