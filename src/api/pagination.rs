//! Paging, the same for every list: by page number (`page`, `per_page`) or by keyset cursor
//! (`cursor`), totals exact or estimated, and the RFC 8288 `Link` header.

use std::str::FromStr;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use diesel::PgConnection;
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::params::{deserialize_from_str, ListFormat};
use super::respond::{self, wants_csv};
use crate::db::{self, DbPool};
use crate::error::{ApiError, FieldError};
use crate::queries::list::{Keyset, ListFilter, SortKeyName, SortOrder};

/// Default page size of every list.
pub const DEFAULT_PER_PAGE: u32 = 50;
/// Largest page size of every list.
pub const MAX_PER_PAGE: u32 = 500;

/// A 1-based page number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageNumber(pub u32);

impl FromStr for PageNumber {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value.trim().parse::<u32>() {
            Ok(page) if (1..=1_000_000).contains(&page) => Ok(PageNumber(page)),
            _ => Err(format!(
                "expected a page number from 1 to 1000000, got {value:?}"
            )),
        }
    }
}
deserialize_from_str!(PageNumber);

/// A page size from 1 to [`MAX_PER_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerPage(pub u32);

impl FromStr for PerPage {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value.trim().parse::<u32>() {
            Ok(size) if (1..=MAX_PER_PAGE).contains(&size) => Ok(PerPage(size)),
            _ => Err(format!(
                "expected a page size from 1 to {MAX_PER_PAGE}, got {value:?}"
            )),
        }
    }
}
deserialize_from_str!(PerPage);

/// How a list's `meta.total` is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CountMode {
    /// Exact up to 1,000 matches (or to the end of the page asked for, if further); beyond
    /// that PostgreSQL's estimate, with `total_exact: false`.
    Auto,
    /// Every match counted, however many there are.
    Exact,
}

/// Most rows a numbered page may skip: deeper pages read and drop every row before them, so
/// they are refused in favour of the cursor.
pub const MAX_OFFSET: i64 = 10_000;

/// Longest cursor accepted, in characters; the service's own are far shorter.
pub const MAX_CURSOR_LEN: usize = 1024;

/// A keyset cursor as given: empty for the first page, else a token from `meta.next_cursor`.
/// `I` is the type of the list's ids: numbers for contracts, slugs for the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor<I = i64>(pub Option<CursorToken<I>>);

/// What a cursor token holds: the sort it was made for, and the sort value and id of the last
/// record of the page it follows. Sent as base64url (no padding) of the JSON array
/// `[sort, value, id]`; callers treat it as opaque.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorToken<I = i64> {
    /// The `sort` parameter it was made for (`-end_date`, ...); `id` for the default order.
    pub sort: String,
    /// The last record's value of the sort key (null when it has none, or in id order).
    pub value: serde_json::Value,
    /// The last record's id.
    pub id: I,
}

impl<I: Serialize + DeserializeOwned> CursorToken<I> {
    /// The token as sent in `meta.next_cursor` and `cursor=`.
    pub fn encode(&self) -> String {
        use base64::Engine;
        let json = serde_json::json!([self.sort, self.value, self.id]);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
    }

    fn decode(text: &str) -> Option<CursorToken<I>> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let (sort, value, id): (String, serde_json::Value, I) =
            serde_json::from_slice(&bytes).ok()?;
        Some(CursorToken { sort, value, id })
    }
}

impl<I: Serialize + DeserializeOwned> FromStr for Cursor<I> {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let text = value.trim();
        if text.is_empty() {
            return Ok(Cursor(None));
        }
        (text.len() <= MAX_CURSOR_LEN)
            .then(|| CursorToken::decode(text))
            .flatten()
            .map(|token| Cursor(Some(token)))
            .ok_or_else(|| {
                "not a cursor this list gave out; pass meta.next_cursor of the previous page \
                 unchanged, or an empty cursor for the first page"
                    .to_owned()
            })
    }
}

impl<'de, I: Serialize + DeserializeOwned> Deserialize<'de> for Cursor<I> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// Page number and size, with their defaults applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paging {
    pub page: u32,
    pub per_page: u32,
}

impl Paging {
    pub fn new(page: Option<PageNumber>, per_page: Option<PerPage>) -> Paging {
        Paging {
            page: page.map_or(1, |p| p.0),
            per_page: per_page.map_or(DEFAULT_PER_PAGE, |p| p.0),
        }
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }
}

/// Paging facts of a list response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListMeta {
    /// Every matching record, over all pages.
    #[schema(example = 612)]
    pub total: i64,
    /// This page, from 1; absent in cursor mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 1, nullable = false)]
    pub page: Option<u32>,
    /// Records per page.
    #[schema(example = 50)]
    pub per_page: u32,
    /// In cursor mode only: the `cursor` of the next page, or null on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "WyJuYW1lIiwiQ2l2aWNhIiwiY2l2aWNhIl0")]
    pub next_cursor: Option<Option<String>>,
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

/// `<path?query>` of this request with `name` set to `value`, and no `page` or `cursor`.
pub fn link_to(req: &HttpRequest, name: &str, value: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(
        form_urlencoded::parse(req.query_string().as_bytes())
            .filter(|(key, _)| key != "page" && key != "cursor" && key != name),
    );
    query.append_pair(name, value);
    format!("<{}?{}>", req.path(), query.finish())
}

pub fn link_header(req: &HttpRequest, position: &PagePosition) -> String {
    let url = |name: &str, value: &str| link_to(req, name, value);
    let page_url = |page: i64| url("page", &page.to_string());
    let mut links = Vec::new();
    match position {
        PagePosition::Numbered {
            paging,
            total,
            exact,
        } => {
            let page = i64::from(paging.page);
            let per_page = i64::from(paging.per_page);
            // Only pages a number can reach (see [`MAX_OFFSET`]) are linked.
            let reachable = |page: i64| (page - 1) * per_page <= MAX_OFFSET;
            links.push(format!("{}; rel=\"first\"", page_url(1)));
            if *exact {
                let last = ((total + per_page - 1) / per_page).max(1);
                if reachable(last) {
                    links.push(format!("{}; rel=\"last\"", page_url(last)));
                }
                if page > 1 {
                    links.push(format!("{}; rel=\"prev\"", page_url((page - 1).min(last))));
                }
                if page < last && reachable(page + 1) {
                    links.push(format!("{}; rel=\"next\"", page_url(page + 1)));
                }
            } else {
                if page > 1 {
                    links.push(format!("{}; rel=\"prev\"", page_url(page - 1)));
                }
                if reachable(page + 1) {
                    links.push(format!("{}; rel=\"next\"", page_url(page + 1)));
                }
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

/// A page of a list as JSON: `{"items": [...], "meta": {...}}`.
#[derive(Debug, Serialize)]
pub struct Page<T, M = ListMeta> {
    pub items: Vec<T>,
    pub meta: M,
}

/// How a JSON list is paged.
#[derive(Debug, Clone)]
pub enum Paged<I = i64> {
    /// By page number.
    Numbered(Paging),
    /// By keyset cursor: the page after `after` (the first page when None).
    Cursor {
        after: Option<CursorToken<I>>,
        per_page: u32,
    },
}

/// Where a page ends, as its meta and `Link` header show it.
#[derive(Debug, Clone)]
pub struct PageEnd {
    /// The page number; None in cursor mode.
    pub page: Option<u32>,
    pub per_page: u32,
    pub position: PagePosition,
}

impl PageEnd {
    /// In cursor mode, the next page's cursor (None on the last page); None by page number.
    pub fn next_cursor(&self) -> Option<Option<String>> {
        match &self.position {
            PagePosition::Cursor { next } => Some(next.clone()),
            PagePosition::Numbered { .. } => None,
        }
    }
}

impl<I> Paged<I> {
    /// The paging a list request asks for: a 400 for `page` together with `cursor`.
    pub fn of(
        page: Option<PageNumber>,
        per_page: Option<PerPage>,
        cursor: Option<Cursor<I>>,
    ) -> Result<Paged<I>, ApiError> {
        let paging = Paging::new(page, per_page);
        let Some(Cursor(after)) = cursor else {
            if paging.offset() > MAX_OFFSET {
                return Err(ApiError::invalid_param(
                    "page",
                    format!(
                        "page {} of {} starts after row {}, beyond the {MAX_OFFSET} rows that \
                         numbered pages reach; page deeper with `cursor=` (each page's \
                         `meta.next_cursor`), which costs the same at any depth",
                        paging.page,
                        paging.per_page,
                        paging.offset()
                    ),
                ));
            }
            return Ok(Paged::Numbered(paging));
        };
        if page.is_some() {
            return Err(ApiError::invalid_params(vec![
                FieldError::new(
                    "page",
                    "page cannot be combined with cursor; use one or the other",
                ),
                FieldError::new(
                    "cursor",
                    "cursor cannot be combined with page; use one or the other",
                ),
            ]));
        }
        Ok(Paged::Cursor {
            after,
            per_page: paging.per_page,
        })
    }

    /// The cursor a page in cursor mode continues from; None for the first page or by number.
    pub fn cursor(&self) -> Option<&CursorToken<I>> {
        match self {
            Paged::Cursor { after, .. } => after.as_ref(),
            Paged::Numbered(_) => None,
        }
    }

    /// How many records to read: in cursor mode one more than a page, to know whether another
    /// follows.
    pub fn read_limit(&self) -> i64 {
        match self {
            Paged::Numbered(paging) => paging.limit(),
            Paged::Cursor { per_page, .. } => i64::from(*per_page) + 1,
        }
    }

    /// The total, when a page of `rows` records shows it: a short page that starts the list, or
    /// any short page with records on it, ends the list.
    pub fn total_shown_by(&self, rows: usize) -> Option<i64> {
        let rows = rows as i64;
        match self {
            Paged::Numbered(paging) => (rows < paging.limit()
                && (rows > 0 || paging.offset() == 0))
                .then_some(paging.offset() + rows),
            Paged::Cursor {
                after: None,
                per_page,
            } => (rows <= i64::from(*per_page)).then_some(rows),
            Paged::Cursor { .. } => None,
        }
    }

    /// Where a page read with this paging ends; in cursor mode, drops the one record read past
    /// the page, which only tells that another page follows, and makes the next cursor from the
    /// page's last record with `cursor_after`.
    pub fn end<R>(
        self,
        total: i64,
        exact: bool,
        rows: &mut Vec<R>,
        cursor_after: impl Fn(&R) -> String,
    ) -> PageEnd {
        match self {
            Paged::Numbered(paging) => PageEnd {
                page: Some(paging.page),
                per_page: paging.per_page,
                position: PagePosition::Numbered {
                    paging,
                    total,
                    exact,
                },
            },
            Paged::Cursor { per_page, .. } => {
                let more = rows.len() > per_page as usize;
                rows.truncate(per_page as usize);
                let next = rows.last().filter(|_| more).map(cursor_after);
                PageEnd {
                    page: None,
                    per_page,
                    position: PagePosition::Cursor { next },
                }
            }
        }
    }
}

/// The `sort` a cursor is made for, as the caller wrote it; `id` for the default order.
pub fn sort_name(sort: Option<(&'static str, bool)>) -> String {
    match sort {
        None => "id".to_owned(),
        Some((name, false)) => name.to_owned(),
        Some((name, true)) => format!("-{name}"),
    }
}

/// A 400 naming `cursor` unless `token` was made for the sort named `expected`.
pub fn check_cursor_sort<I>(token: &CursorToken<I>, expected: &str) -> Result<(), ApiError> {
    if token.sort == expected {
        return Ok(());
    }
    let made_for = |name: &str| match name {
        "id" => "the default order (no sort)".to_owned(),
        name => format!("sort={name}"),
    };
    Err(ApiError::invalid_param(
        "cursor",
        format!(
            "this cursor was made for {}, not {}; keep the sort of the page it came from, \
             or start again with an empty cursor",
            made_for(&token.sort),
            made_for(expected)
        ),
    ))
}

/// The 400 of a cursor whose contents this list cannot have made.
pub fn garbled_cursor() -> ApiError {
    ApiError::invalid_param(
        "cursor",
        "not a cursor this list gave out; pass meta.next_cursor of the previous page \
         unchanged, or an empty cursor for the first page",
    )
}

/// The paging parameters of a catalogue list, as its query gives them.
pub struct ListRequest<K> {
    pub sort: SortOrder<K>,
    pub page: Option<PageNumber>,
    pub per_page: Option<PerPage>,
    pub cursor: Option<Cursor<String>>,
    pub format: Option<ListFormat>,
}

/// How a catalogue list is named in its CSV download.
pub struct CsvFile {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

/// Answers a catalogue list: every matching record as CSV, or a JSON page by number or by
/// cursor, with its `Link` header. `resolve` turns the request's filters into the query's.
pub async fn respond_list<F, W>(
    req: &HttpRequest,
    pool: &DbPool,
    request: ListRequest<F::SortKey>,
    csv: CsvFile,
    resolve: impl FnOnce(&mut PgConnection) -> Result<F, ApiError> + Send + 'static,
) -> Result<HttpResponse, ApiError>
where
    F: ListFilter,
    W: From<F::Row> + Serialize + 'static,
{
    let sort = request.sort;
    if wants_csv(req, request.format) {
        let (conn, filter) = db::run_holding(pool, resolve).await?;
        return Ok(respond::csv(
            conn,
            csv.name,
            csv.columns.to_vec(),
            move |conn, sink| {
                filter.for_each(conn, sort, &mut |row| sink.write(&W::from(row)))?;
                Ok(())
            },
        ));
    }
    let paged = Paged::of(request.page, request.per_page, request.cursor)?;
    let name = sort_name(sort.map(|(key, descending)| (key.name(), descending)));
    let after = match &paged {
        Paged::Cursor {
            after: Some(token), ..
        } => {
            let keyset = keyset_of(token, &name)?;
            if !F::accepts(&keyset, sort) {
                return Err(garbled_cursor());
            }
            Some(keyset)
        }
        _ => None,
    };
    let read = paged.clone();
    let (mut rows, total) = db::run(pool, move |conn| {
        let filter = resolve(conn)?;
        let rows = match &read {
            Paged::Numbered(paging) => filter.page(conn, sort, paging.offset(), paging.limit())?,
            Paged::Cursor { .. } => {
                filter.page_after(conn, sort, after.as_ref(), read.read_limit())?
            }
        };
        Ok((rows, filter.count(conn)?))
    })
    .await?;
    let end = paged.end(total, true, &mut rows, |last| {
        let keyset = F::keyset(last, sort);
        CursorToken {
            sort: name.clone(),
            value: keyset.value.into(),
            id: keyset.id,
        }
        .encode()
    });
    let body = Page {
        items: rows.into_iter().map(W::from).collect(),
        meta: ListMeta {
            total,
            page: end.page,
            per_page: end.per_page,
            next_cursor: end.next_cursor(),
        },
    };
    Ok(list_page(req, &body, &end.position))
}

/// Where a catalogue cursor resumes: its sort must be `sort`, its value and id text.
fn keyset_of(token: &CursorToken<String>, sort: &str) -> Result<Keyset, ApiError> {
    check_cursor_sort(token, sort)?;
    match &token.value {
        // PostgreSQL text cannot hold NUL, and no record's value or id has one.
        _ if token.id.contains('\0') => Err(garbled_cursor()),
        serde_json::Value::String(value) if value.contains('\0') => Err(garbled_cursor()),
        serde_json::Value::String(value) => Ok(Keyset {
            value: value.clone(),
            id: token.id.clone(),
        }),
        _ => Err(garbled_cursor()),
    }
}

/// Declares a catalogue list's query parameters: its own filters, then `sort` (by `$key`, as
/// `$pattern` documents it), `page`, `per_page`, `cursor` and `format`, with `list_request()`
/// giving the paging part to [`respond_list`].
macro_rules! catalogue_query {
    (
        $(#[$meta:meta])*
        $name:ident sorted by $key:ty, $pattern:tt {
            $( $(#[$field_meta:meta])* $field:ident : $type:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $type, )*
            /// Sort key, `-` prefix for descending; ties are broken by id.
            #[param(value_type = Option<String>, pattern = $pattern)]
            pub sort: Option<$crate::api::params::Sort<$key>>,
            /// Page number, from 1; a page may start at most 10,000 records in (page deeper with
        /// `cursor`).
            #[param(value_type = Option<u32>, minimum = 1, maximum = 1000000)]
            pub page: Option<$crate::api::pagination::PageNumber>,
            /// Records per page, 1 to 500 (default 50).
            #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
            pub per_page: Option<$crate::api::pagination::PerPage>,
            /// Keyset paging: empty (`cursor=`) for the first page, then each page's `meta.next_cursor`
            /// (an opaque token; the `Link` header's `next` carries it too). Keep the same `sort`; not
            /// with `page`; ignored by CSV, which holds every matching record.
            #[param(value_type = Option<String>, example = "")]
            pub cursor: Option<$crate::api::pagination::Cursor<String>>,
            /// `csv` for every matching row as CSV (the same as `Accept: text/csv`).
            #[param(value_type = Option<$crate::api::params::ListFormat>)]
            pub format: Option<$crate::api::params::ListFormat>,
        }

        impl $name {
            /// The sort, paging and format this query asks for.
            pub fn list_request(&mut self) -> $crate::api::pagination::ListRequest<$key> {
                $crate::api::pagination::ListRequest {
                    sort: self.sort.take().map(|s| (s.key, s.descending)),
                    page: self.page.take(),
                    per_page: self.per_page.take(),
                    cursor: self.cursor.take(),
                    format: self.format.take(),
                }
            }
        }
    };
}
pub(crate) use catalogue_query;
