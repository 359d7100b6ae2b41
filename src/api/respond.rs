//! What responses share: the choice of CSV, the list envelope, ETags and `If-None-Match`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::params::ListFormat;
use crate::error::ApiError;

pub use super::stream::{csv, CsvSink};
pub use crate::export::csv::{cell, TEXT_CSV};

/// Declares the JSON envelope of a list: `{"items": [...], "meta": {...}}`, with [`ListMeta`]
/// unless another meta type is named.
macro_rules! list_envelope {
    ($name:ident, $item:ty, $what:literal) => {
        $crate::api::respond::list_envelope!(
            $name,
            $item,
            $what,
            $crate::api::pagination::ListMeta
        );
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

/// UTF-8's byte-order mark, which tells Excel that a CSV file is UTF-8 (without it, Excel on
/// Windows opens the file as cp1252: "CafÃ© Â£").
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether `bom` in the query string asks for the byte-order mark, and the query string without
/// it (no operation takes `bom` as its own parameter: it applies to any CSV answer). A value
/// other than `true` or `false` is a 400.
pub fn take_bom(query: &str) -> Result<Option<(bool, String)>, ApiError> {
    let mut asked = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != "bom" {
            rest.append_pair(&name, &value);
            continue;
        }
        asked = Some(match value.as_ref() {
            "true" => true,
            "false" => false,
            other => {
                return Err(ApiError::invalid_param(
                    "bom",
                    format!("expected true or false, got {other:?}"),
                ))
            }
        });
    }
    Ok(asked.map(|bom| (bom, rest.finish())))
}

/// A response body with UTF-8's byte-order mark before it.
pub struct WithBom {
    sent: bool,
    inner: actix_web::body::BoxBody,
}

impl WithBom {
    pub fn new(inner: actix_web::body::BoxBody) -> WithBom {
        WithBom { sent: false, inner }
    }
}

impl actix_web::body::MessageBody for WithBom {
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
    ) -> std::task::Poll<Option<Result<actix_web::web::Bytes, Self::Error>>> {
        if !self.sent {
            self.sent = true;
            return std::task::Poll::Ready(Some(Ok(actix_web::web::Bytes::from_static(BOM))));
        }
        std::pin::Pin::new(&mut self.inner).poll_next(cx)
    }
}
