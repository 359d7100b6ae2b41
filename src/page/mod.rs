//! The dashboard at `/`: a page for people who will not script, built on the API alone.
//!
//! Its files are compiled into the binary (no build tool, nothing from another origin); a debug
//! build reads them from `src/page/assets/` at each request instead, so that a change to the
//! page shows on reload without a rebuild.

use actix_web::http::header::{self, CacheControl, CacheDirective, ContentType};
use std::borrow::Cow;
use std::sync::OnceLock;

use actix_web::{get, web, HttpRequest, HttpResponse};

use crate::error::ApiError;

/// One file of the page: its name under `/assets/` (or `index.html`), its media type and
/// its contents as compiled in.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    compiled: &'static [u8],
}

macro_rules! assets {
    ($(($name:literal, $media:literal)),* $(,)?) => {
        &[$(Asset {
            name: $name,
            media_type: $media,
            compiled: include_bytes!(concat!("assets/", $name)),
        }),*]
    };
}

/// Every file of the page.
const ASSETS: &[Asset] = assets![
    ("index.html", "text/html; charset=utf-8"),
    ("app.css", "text/css; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("charts.js", "text/javascript; charset=utf-8"),
    ("tiles.js", "text/javascript; charset=utf-8"),
    ("favicon.svg", "image/svg+xml"),
];

/// The contents of `asset` and their ETag: from the source tree in a debug build (read at each
/// request, so a change shows on reload), else as compiled in, hashed once.
fn contents(asset: &'static Asset) -> (Cow<'static, [u8]>, String) {
    if cfg!(debug_assertions) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/page/assets/");
        if let Ok(bytes) = std::fs::read(format!("{path}{}", asset.name)) {
            let etag = etag_of(&bytes);
            return (Cow::Owned(bytes), etag);
        }
    }
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    let etags = ETAGS.get_or_init(|| ASSETS.iter().map(|a| etag_of(a.compiled)).collect());
    let at = ASSETS
        .iter()
        .position(|a| a.name == asset.name)
        .unwrap_or_default();
    (Cow::Borrowed(asset.compiled), etags[at].clone())
}

/// A validator for the page's files: changes with their contents.
fn etag_of(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("\"{}\"", hex::encode(&Sha256::digest(bytes)[..12]))
}

fn answer(req: &HttpRequest, asset: &'static Asset) -> HttpResponse {
    let (bytes, etag) = contents(asset);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header(header::ContentType(
            asset
                .media_type
                .parse()
                .unwrap_or(ContentType::octet_stream().0),
        ))
        .insert_header((header::ETAG, etag))
        .insert_header(CacheControl(vec![CacheDirective::NoCache]));
    match (fresh, bytes) {
        (true, _) => response.finish(),
        (false, Cow::Borrowed(compiled)) => response.body(compiled),
        (false, Cow::Owned(read)) => response.body(read),
    }
}

/// The dashboard.
#[get("/")]
pub async fn index(req: HttpRequest) -> HttpResponse {
    answer(&req, &ASSETS[0])
}

/// One of the page's files, or 404.
#[get("/assets/{name}")]
pub async fn file(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    match ASSETS[1..].iter().find(|asset| asset.name == name.as_str()) {
        Some(asset) => Ok(answer(&req, asset)),
        None => Err(ApiError::NotFound(format!(
            "the page has no file {name:?}; its files are {}",
            ASSETS[1..]
                .iter()
                .map(|asset| asset.name)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}
