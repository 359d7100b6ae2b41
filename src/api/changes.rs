//! `/changes`: the change log as a feed, for dashboards that sync incrementally.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

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
use crate::queries::changes::{self as query, Change as ChangeRow};
use crate::representations::ASSESSMENT_FIELDS;

/// Who made a change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeActor {
    /// `api_key`, `cli` or `import`.
    #[schema(example = "api_key")]
    pub kind: String,
    /// The key's id, for writes made with one; shown to callers with a key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<i64>,
    /// The key's name or the command; shown to callers with a key.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Camden digital team")]
    pub name: Option<String>,
}

/// One write: what changed, when, by whom, and the record before and after.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Change {
    /// Increases with every change; pass the last one seen as `after` to continue.
    #[schema(example = 1042)]
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: ChangeActor,
    /// `boroughs`, `service_areas`, `suppliers`, `systems` or `contracts`.
    #[schema(example = "contracts")]
    pub resource: String,
    /// The record's id (contract ids as decimal strings).
    #[schema(example = "710")]
    pub resource_id: String,
    /// `create`, `update` or `delete`.
    #[schema(example = "update")]
    pub action: String,
    /// The record as it was (null for a create), as the API shows it to this caller.
    pub before: Option<Value>,
    /// The record as it is now (null for a delete), as the API shows it to this caller.
    pub after: Option<Value>,
}

/// A page of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeFeed {
    /// Changes in the order they were made.
    pub items: Vec<Change>,
    pub meta: ChangeFeedMeta,
}

/// Where this page of the feed ends.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeFeedMeta {
    /// The `after` this page was read from.
    pub after: i64,
    pub per_page: u32,
    /// Pass as `after` for the next page; equal to `after` when there is nothing new.
    pub next_after: i64,
    /// In cursor mode only: the `cursor` that continues after this page, also when it is the
    /// last for now (poll with it later).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<Option<String>>,
}

fn strip_assessments(value: Option<Value>) -> Option<Value> {
    value.map(|mut value| {
        if let Value::Object(map) = &mut value {
            for field in ASSESSMENT_FIELDS {
                map.remove(*field);
            }
        }
        value
    })
}

impl Change {
    fn view(row: ChangeRow, sees_assessments: bool) -> Change {
        let (before, after) = if sees_assessments {
            (row.before, row.after)
        } else {
            (strip_assessments(row.before), strip_assessments(row.after))
        };
        Change {
            id: row.id,
            at: row.at,
            actor: ChangeActor {
                kind: row.actor_kind,
                key_id: row.actor_key_id.filter(|_| sees_assessments),
                name: sees_assessments.then_some(row.actor_name),
            },
            resource: row.resource,
            resource_id: row.resource_id,
            action: row.action,
            before,
            after,
        }
    }
}

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
    if query.cursor.is_some() {
        let position = PagePosition::Cursor {
            next: full_page.then_some(next),
        };
        response.insert_header((header::LINK, link_header(&req, &position)));
    } else if full_page {
        let link = format!(
            "{}; rel=\"next\"",
            link_to(&req, "after", &next_after.to_string())
        );
        response.insert_header((header::LINK, link));
    }
    Ok(response.json(body))
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
