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
        Some(format) => matches!(format, ListFormat::Csv | ListFormat::Xlsx),
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
