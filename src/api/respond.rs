//! Shared response building: JSON pages with `Link` headers, streamed CSV, ETags.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::params::{ListFormat, Paging};
use crate::error::ApiError;

pub use super::stream::{csv, CsvSink};
pub use crate::export::csv::{cell, TEXT_CSV};

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
