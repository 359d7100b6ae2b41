//! `/watches` and `/feeds`: a key's saved searches, their Atom feeds and webhook deliveries.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, Utc};
use diesel::PgConnection;
use serde_json::{Map, Value};

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::FromRequest;
use utoipa::ToSchema;

use super::docs::{
    BadQuery, BodyWriteErrors, Invalid, Missing, Named, ReadErrors, ReadId, UnexpectedQuery,
    WriteErrors,
};
use super::exports::origin;
use super::filters::ContractFilters;
use super::input::json_object;
use super::params::{ApiQuery, NoQuery};
use super::tenders::TenderFilters;
use crate::auth::Caller;
use crate::db::{self, DbPool};
use crate::error::{ApiError, FieldError};
use crate::export::atom::{self, Entry, Feed};
use crate::forms::{self, watch as form};
use crate::queries::watches::{self as query, NewWatch, Watch, WatchEvent};
use crate::queries::QueryError;
use crate::representations::watch::{DeliveryList, DeliveryView, WatchList, WatchView};
use crate::watches::deliver::check_address;
use crate::watches::dispatch::catch_up;
use crate::watches::{random_token, Matcher, ReadFilters, Watched};

/// Most watches one key may have.
pub const MAX_WATCHES_PER_KEY: i64 = 100;

/// Entries in a feed: the latest events.
const FEED_ENTRIES: i64 = 100;

/// Reads a watch's filters with its list's own query-string parser and filter, so a watch
/// matches exactly what its list would show.
pub struct ListFilters;

impl ListFilters {
    /// The query string of stored filters: each parameter's values comma-separated (`q`'s
    /// words space-separated).
    fn query_string(filters: &Value) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, values) in filters.as_object().into_iter().flatten() {
            let texts: Vec<&str> = values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let joined = texts.join(if name == "q" { " " } else { "," });
            query.append_pair(name, &joined);
        }
        query.finish()
    }

    /// The watch's matcher, or every problem with its filters, each named `filters.<name>`.
    pub fn check(
        conn: &mut PgConnection,
        watched: Watched,
        filters: &Value,
        today: NaiveDate,
    ) -> Result<Matcher, ApiError> {
        let named = |errors: Vec<FieldError>| {
            ApiError::invalid_fields(
                errors
                    .into_iter()
                    .map(|e| FieldError::new(format!("filters.{}", e.field), e.message))
                    .collect(),
            )
        };
        let read = |error: ApiError| match error {
            ApiError::BadRequest { errors, .. } => named(errors),
            other => other,
        };
        let resolved = |error: QueryError| match error {
            QueryError::InvalidFilter(errors) => named(errors),
            other => other.into(),
        };
        let query = Self::query_string(filters);
        Ok(match watched {
            Watched::Contracts => {
                let parsed = ApiQuery::<ContractFilters>::parse(&query).map_err(read)?;
                Matcher::Contracts(Box::new(parsed.criteria().resolve(conn).map_err(resolved)?))
            }
            Watched::Tenders => {
                let parsed = ApiQuery::<TenderFilters>::parse(&query).map_err(read)?;
                Matcher::Tenders(Box::new(
                    parsed.criteria(today).resolve(conn).map_err(resolved)?,
                ))
            }
        })
    }
}

impl ReadFilters for ListFilters {
    fn read(
        &self,
        conn: &mut PgConnection,
        watched: Watched,
        filters: &Value,
        today: NaiveDate,
    ) -> Result<Matcher, String> {
        Self::check(conn, watched, filters, today).map_err(|e| e.to_string())
    }
}

/// Whether webhooks may reach internal addresses (`CITYTOOLS_WEBHOOK_ALLOW_PRIVATE`), as app
/// data.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookPolicy {
    pub allow_private: bool,
}

/// Make a watch
///
/// Saves a search over contracts or tenders for the calling key (any role). Its `feed_url` is an
/// Atom feed of each matching record created or changed from now on (and, for contracts, of
/// each that enters its decision window); with a `webhook_url`, each event is also POSTed there,
/// signed with the `webhook_secret` shown in this answer only. Filters are the list's query
/// parameters, checked as the list checks them. A key may have 100 watches.
#[utoipa::path(
    tag = "watches",
    security(("bearer" = [])),
    request_body(content = forms::watch::WatchInput, content_type = "application/json"),
    responses(
        (status = 201, description = "The watch, with its secret", body = WatchView,
         headers(("Location" = String, description = "The watch's address"))),
        (status = 409, description = "The key has 100 watches already", body = crate::error::Problem, content_type = "application/problem+json"),
        BodyWriteErrors, Invalid, UnexpectedQuery,
    )
)]
#[post("/watches")]
pub async fn create_watch(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    policy: web::Data<WebhookPolicy>,
    caller: Caller,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let key_id = caller.require_key()?.key_id;
    let form = form::check(forms::read(json_object(&body)?)?)?;
    let allow_private = policy.allow_private;
    let origin = origin(&req);
    let watch = db::run(&pool, move |conn| {
        let watched = Watched::parse(&form.resource).expect("the form checked the resource");
        let filters = Value::Object(form.filters.clone());
        ListFilters::check(conn, watched, &filters, Utc::now().date_naive())?;
        if let Some(url) = &form.webhook_url {
            check_address(url, allow_private).map_err(|why| {
                ApiError::invalid_fields(vec![FieldError::new("webhook_url", why)])
            })?;
        }
        if query::count_of_key(conn, key_id)? >= MAX_WATCHES_PER_KEY {
            return Err(ApiError::Conflict(format!(
                "this key has {MAX_WATCHES_PER_KEY} watches, the most one key may have; delete one first"
            )));
        }
        let secret = form.webhook_url.as_ref().map(|_| random_token());
        let from_change_id = query::latest_change_id(conn)?;
        Ok(query::insert(
            conn,
            &NewWatch {
                key_id,
                name: form.name,
                resource: watched.as_str().to_owned(),
                filters,
                feed_token: random_token(),
                webhook_url: form.webhook_url,
                webhook_secret: secret,
                from_change_id,
            },
        )?)
    })
    .await?;
    log::info!("key {key_id} made watch {} ({})", watch.id, watch.resource);
    let location = format!("/api/v1/watches/{}", watch.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(WatchView::of(watch, &origin, true)))
}

/// List the key's watches
///
/// The watches made with the calling key, oldest first: each with its filters, `feed_url` and,
/// when it has one, its webhook (never its secret, which is shown once, when the watch is made).
#[utoipa::path(
    tag = "watches",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The calling key's watches, oldest first", body = WatchList),
        ReadErrors, UnexpectedQuery,
    )
)]
#[get("/watches")]
pub async fn list_watches(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let key_id = caller.require_key()?.key_id;
    let origin = origin(&req);
    let watches = db::run(&pool, move |conn| Ok(query::of_key(conn, key_id)?)).await?;
    let items = watches
        .into_iter()
        .map(|w| WatchView::of(w, &origin, false))
        .collect();
    Ok(HttpResponse::Ok().json(WatchList { items }))
}

/// The watch at this request's `{id}` if the calling key made it; 404 otherwise (another key's
/// watch is not shown to exist). The request takes no query parameters.
pub struct OwnWatch(pub Watch);

impl FromRequest for OwnWatch {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<OwnWatch, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let caller = Caller::from_request(&req, payload);
        Box::pin(async move {
            let key_id = caller.await?.require_key()?.key_id;
            ApiQuery::<NoQuery>::parse(req.query_string())?;
            let pool = req
                .app_data::<web::Data<DbPool>>()
                .ok_or_else(|| ApiError::Internal("no database pool registered".into()))?
                .clone();
            let text = req.match_info().get("id").unwrap_or_default().to_owned();
            let missing = || ApiError::NotFound(format!("this key has no watch with id {text:?}"));
            let id: i64 = text.parse().map_err(|_| missing())?;
            db::run(&pool, move |conn| Ok(query::find_own(conn, key_id, id)?))
                .await?
                .map(OwnWatch)
                .ok_or_else(missing)
        })
    }
}

/// Watches, as the documentation names them.
pub struct Watches;

impl Named for Watches {
    const WHAT: &'static str = "watch of the calling key";
    const ID: &'static str = "The watch's id";
    const ID_EXAMPLE: Option<&'static str> = None;
    const NUMERIC_ID: bool = true;

    fn schema_name() -> String {
        WatchView::name().into_owned()
    }
}

/// Get a watch
///
/// One of the calling key's watches (404 for another key's): its filters, `feed_url` and
/// webhook. Its webhook deliveries are at `/watches/{id}/deliveries`.
#[utoipa::path(
    tag = "watches",
    security(("bearer" = [])),
    params(ReadId<Watches>),
    responses(
        (status = 200, description = "The watch (its secret is not shown again)", body = WatchView),
        Missing<Watches>, ReadErrors, UnexpectedQuery,
    )
)]
#[get("/watches/{id}")]
pub async fn get_watch(req: HttpRequest, watch: OwnWatch) -> HttpResponse {
    HttpResponse::Ok().json(WatchView::of(watch.0, &origin(&req), false))
}

/// Delete a watch
///
/// Its feed and pending deliveries go with it.
#[utoipa::path(
    tag = "watches",
    security(("bearer" = [])),
    params(ReadId<Watches>),
    responses(
        (status = 204, description = "Deleted"),
        Missing<Watches>, WriteErrors, UnexpectedQuery,
    )
)]
#[delete("/watches/{id}")]
pub async fn delete_watch(
    pool: web::Data<DbPool>,
    watch: OwnWatch,
) -> Result<HttpResponse, ApiError> {
    let (key_id, id) = (watch.0.key_id, watch.0.id);
    db::run(&pool, move |conn| Ok(query::delete_own(conn, key_id, id)?)).await?;
    log::info!("key {key_id} deleted watch {id}");
    Ok(HttpResponse::NoContent().finish())
}

/// List a watch's webhook deliveries
///
/// The latest 100 events sent (or being sent) to the watch's webhook, newest first, each with
/// every try: when, the receiver's status, the error, how long it took.
#[utoipa::path(
    tag = "watches",
    security(("bearer" = [])),
    params(ReadId<Watches>),
    responses(
        (status = 200, description = "The deliveries", body = DeliveryList),
        Missing<Watches>, ReadErrors, UnexpectedQuery,
    )
)]
#[get("/watches/{id}/deliveries")]
pub async fn list_deliveries(
    pool: web::Data<DbPool>,
    watch: OwnWatch,
) -> Result<HttpResponse, ApiError> {
    let id = watch.0.id;
    let rows = db::run(&pool, move |conn| Ok(query::deliveries(conn, id, 100)?)).await?;
    Ok(HttpResponse::Ok().json(DeliveryList {
        items: rows.into_iter().map(DeliveryView::of).collect(),
    }))
}

/// What a feed looks like, for the OpenAPI document.
const FEED_EXAMPLE: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>
<feed xmlns=\"http://www.w3.org/2005/Atom\">
  <id>urn:citytools:watch:7</id>
  <title>Revenues contracts ending in Camden</title>
  <updated>2026-11-30T09:00:00Z</updated>
  <link rel=\"self\" type=\"application/atom+xml\" href=\"https://citytools.example/api/v1/feeds/4Xf...\"/>
  <author><name>City Tools API</name></author>
  <generator>City Tools API</generator>
  <entry>
    <id>urn:citytools:event:118</id>
    <title>contract.updated: Revenues and benefits system</title>
    <updated>2026-11-30T09:00:00Z</updated>
    <link rel=\"alternate\" type=\"application/json\" href=\"https://citytools.example/api/v1/contracts/42\"/>
    <category term=\"contract.updated\"/>
    <summary type=\"text\">Camden: Civica, Civica OpenRevenues, ends 2027-03-31</summary>
  </entry>
</feed>
";

/// A watch's Atom feed
///
/// The latest 100 events of the watch whose feed this is, newest first, each linking to its
/// record in the API. No key is needed: the address is the secret. `ETag` and `If-None-Match`
/// let a reader poll cheaply. A revoked key's watches have no feed (404).
#[utoipa::path(
    tag = "watches",
    params(("token" = String, Path, description = "The feed's token, from the watch's `feed_url`")),
    responses(
        (status = 200, description = "The Atom 1.0 feed", content_type = "application/atom+xml", body = String,
         headers(("ETag" = String, description = "Changes with each new event")),
         example = json!(FEED_EXAMPLE)),
        (status = 304, description = "`If-None-Match` holds the current ETag"),
        (status = 404, description = "No feed at this address", body = crate::error::Problem, content_type = "application/problem+json"),
        ReadErrors, BadQuery,
    )
)]
#[get("/feeds/{token}")]
pub async fn get_feed(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let token = req.match_info().get("token").unwrap_or_default().to_owned();
    let missing = || ApiError::NotFound("no feed at this address".into());
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(missing());
    }
    let (watch, events) = db::run(&pool, move |conn| {
        // The feed is as current as the change log: make any events not made yet.
        if let Err(error) = catch_up(conn, &ListFilters) {
            log::warn!("could not match the latest changes for a feed: {error}");
        }
        let Some(watch) = query::by_feed_token(conn, &token)? else {
            return Ok(None);
        };
        let events = query::events(conn, watch.id, FEED_ENTRIES)?;
        Ok(Some((watch, events)))
    })
    .await?
    .ok_or_else(missing)?;
    let etag = format!("\"w{}-e{}\"", watch.id, events.first().map_or(0, |e| e.id));
    let matches = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim().trim_start_matches("W/") == etag);
    if matches {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let origin = origin(&req);
    let self_url = format!("{origin}{}", req.path());
    let entries: Vec<Entry> = events.iter().map(|e| entry(e, &watch, &origin)).collect();
    let xml = atom::write(
        &Feed {
            id: &format!("urn:citytools:watch:{}", watch.id),
            title: &format!("City Tools watch: {}", watch.name),
            self_url: &self_url,
            updated: events.first().map_or(watch.created_at, |e| e.at),
        },
        &entries,
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .content_type(atom::APPLICATION_ATOM)
        .body(xml))
}

/// One feed entry: the event, the record's title and where it is.
fn entry(event: &WatchEvent, watch: &Watch, origin: &str) -> Entry {
    let record: &Map<String, Value> = match event.record.as_object() {
        Some(record) => record,
        None => &Map::new(),
    };
    let text = |field: &str| record.get(field).and_then(Value::as_str).unwrap_or("");
    let summary = match watch.resource.as_str() {
        "tenders" => format!(
            "{}: {} tender, closing {}, status {}",
            text("borough_name"),
            text("title"),
            record
                .get("closing_date")
                .and_then(Value::as_str)
                .unwrap_or("(no date)"),
            text("status"),
        ),
        _ => format!(
            "{}: {} held by {}, ending {}",
            text("borough_name"),
            text("title"),
            text("supplier_name"),
            record
                .get("end_date")
                .and_then(Value::as_str)
                .unwrap_or("(no date)"),
        ),
    };
    Entry {
        id: format!("urn:citytools:watch:{}:event:{}", watch.id, event.id),
        title: format!("{}: {}", event.event, text("title")),
        link: format!("{origin}/api/v1/{}/{}", watch.resource, event.resource_id),
        updated: event.at,
        summary,
        category: event.event.clone(),
    }
}
