//! `/changes`: the change log as a feed, for dashboards that sync incrementally.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::docs::ReadErrors;
use super::pagination::{
    check_cursor_sort, garbled_cursor, link_header, link_to, Cursor, CursorToken, PagePosition,
    PerPage, DEFAULT_PER_PAGE,
};
use super::params::{ApiQuery, CommaList};
use crate::auth::Caller;
use crate::changelog::Resource;
use crate::db::{self, DbPool};
use crate::error::{ApiError, FieldError, Problem};
use crate::queries::changes as query;
use crate::representations::change::{Change, ChangeFeed, ChangeFeedMeta};

/// Change feed paging and filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangeQuery {
    /// Only changes with a larger id; 0 (the default) starts from the beginning.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub after: Option<ChangeId>,
    /// Only changes to these resources.
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "contracts")]
    pub resource: Option<CommaList<Resource>>,
    /// Changes per page, 1 to 500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub per_page: Option<PerPage>,
    /// Keyset paging as every list has it, instead of `after`: empty (`cursor=`) for the
    /// beginning, then each page's `meta.next_cursor`.
    #[param(value_type = Option<String>, example = "")]
    pub cursor: Option<Cursor>,
}

/// A change id, 0 or more.
#[derive(Debug, Clone, Copy)]
pub struct ChangeId(pub i64);

impl<'de> Deserialize<'de> for ChangeId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.trim().parse::<i64>() {
            Ok(id) if id >= 0 => Ok(ChangeId(id)),
            _ => Err(serde::de::Error::custom(format!(
                "expected a change id (0 or more), got {text:?}"
            ))),
        }
    }
}

/// Follow the change feed
///
/// Every write to boroughs, service areas, suppliers, systems and contracts, oldest first, with
/// the record before and after. Start with `after=0`, then pass `meta.next_after` to fetch what
/// is new. Assessment fields and who made each change are shown only to callers with a key.
#[utoipa::path(
    tag = "changes",
    security((), ("bearer" = [])),
    params(ChangeQuery),
    responses(
        (status = 200, description = "The changes after `after`", body = ChangeFeed,
         headers(("Link" = String, description = "RFC 8288 link to the next page"))),
        (status = 400, description = "An unknown parameter or a malformed value", body = Problem, content_type = "application/problem+json"),
        ReadErrors,
    )
)]
#[get("/changes")]
pub async fn list_changes(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    query: ApiQuery<ChangeQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let after = feed_start(query.after, query.cursor.as_ref())?;
    let per_page = query.per_page.map_or(DEFAULT_PER_PAGE, |p| p.0);
    let resources = query
        .resource
        .map(CommaList::into_inner)
        .unwrap_or_default();
    let rows = db::run(&pool, move |conn| {
        Ok(query::after(conn, after, &resources, i64::from(per_page))?)
    })
    .await?;
    let sees = caller.sees_assessments();
    let next_after = rows.last().map_or(after, |row| row.id);
    let full_page = rows.len() == per_page as usize;
    // A feed never ends: the cursor after the last change is given even on a short page, so a
    // reader polls with it later; `next` links only to a page that may already hold changes.
    let next = feed_cursor(next_after);
    let body = ChangeFeed {
        items: rows
            .into_iter()
            .map(|row| Change::view(row, sees))
            .collect(),
        meta: ChangeFeedMeta {
            after,
            per_page,
            next_after,
            next_cursor: query.cursor.is_some().then(|| Some(next.clone())),
        },
    };
    let mut response = HttpResponse::Ok();
    if let Some(link) = feed_link(&req, query.cursor.is_some(), full_page, next, next_after) {
        response.insert_header((header::LINK, link));
    }
    Ok(response.json(body))
}

/// The feed's `Link` header: in cursor mode `first` and, after a full page, `next` by cursor;
/// otherwise `next` by `after`, after a full page.
fn feed_link(
    req: &HttpRequest,
    cursor_mode: bool,
    full_page: bool,
    next: String,
    next_after: i64,
) -> Option<String> {
    if cursor_mode {
        let position = PagePosition::Cursor {
            next: full_page.then_some(next),
        };
        return Some(link_header(req, &position));
    }
    full_page.then(|| {
        format!(
            "{}; rel=\"next\"",
            link_to(req, "after", &next_after.to_string())
        )
    })
}

/// Where the feed starts: after `after`, or after the change a cursor names; a 400 for both.
fn feed_start(after: Option<ChangeId>, cursor: Option<&Cursor>) -> Result<i64, ApiError> {
    match (after, cursor) {
        (Some(_), Some(_)) => Err(ApiError::invalid_params(vec![
            FieldError::new(
                "after",
                "after cannot be combined with cursor; use one or the other",
            ),
            FieldError::new(
                "cursor",
                "cursor cannot be combined with after; use one or the other",
            ),
        ])),
        (after, None) => Ok(after.map_or(0, |a| a.0)),
        (None, Some(Cursor(None))) => Ok(0),
        (None, Some(Cursor(Some(token)))) => {
            check_cursor_sort(token, "id")?;
            if !token.value.is_null() || token.id < 0 {
                return Err(garbled_cursor());
            }
            Ok(token.id)
        }
    }
}

/// The cursor of the feed after change `id`.
fn feed_cursor(id: i64) -> String {
    CursorToken {
        sort: "id".into(),
        value: Value::Null,
        id,
    }
    .encode()
}
