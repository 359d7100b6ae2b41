//! `/service-areas`: a two-level tree of groups (such as `social-care`) and their areas.

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::input::{json_object, merge, Fields};
use super::params::{ApiQuery, CommaList, ListFormat, NoQuery, PageNumber, Paging, PerPage, Sort};
use super::respond::{self, list_envelope};
use super::writes::{
    as_object, check_body_id, merge_patch_schema, replacement_schema, written, IfMatch, Target,
    Write,
};
use crate::auth::Caller;
use crate::db::{self, DbPool};
use crate::error::{ApiError, Problem};
use crate::models;
use crate::changelog::Resource;
use crate::queries::search_words;
use crate::queries::service_areas::{self as query, Level, ServiceAreaFilter, ServiceAreaSortKey};

/// A service area, or a group of them when it has no parent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceArea {
    #[schema(example = "adult-social-care")]
    pub id: String,
    #[schema(example = "Adult social care")]
    pub name: String,
    /// The group this area belongs to; null for a group.
    #[schema(example = "social-care")]
    pub parent_id: Option<String>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes on every write.
    pub version: i32,
}

impl From<models::ServiceArea> for ServiceArea {
    fn from(a: models::ServiceArea) -> Self {
        ServiceArea {
            id: a.id,
            name: a.name,
            parent_id: a.parent_id,
            description: a.description,
            created_at: a.created_at,
            updated_at: a.updated_at,
            version: a.version,
        }
    }
}

const CSV_COLUMNS: &[&str] = &[
    "id",
    "name",
    "parent_id",
    "description",
    "created_at",
    "updated_at",
    "version",
];

list_envelope!(ServiceAreaList, ServiceArea, "service areas");

/// Service-area filters, sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ServiceAreaQuery {
    /// Only the areas under these groups.
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "social-care")]
    pub parent: Option<CommaList<String>>,
    /// `group` for groups only, `area` for areas only.
    #[param(value_type = Option<String>, pattern = "^(group|area)$")]
    pub level: Option<Level>,
    /// Words that must each appear in the name or description.
    pub q: Option<String>,
    /// Sort key, `-` prefix for descending; ties are broken by id.
    #[param(value_type = Option<String>, pattern = r"^-?(name|id)$")]
    pub sort: Option<Sort<ServiceAreaSortKey>>,
    /// Page number, from 1.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000000)]
    pub page: Option<PageNumber>,
    /// Records per page, 1 to 500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub per_page: Option<PerPage>,
    /// `csv` for every matching row as CSV (the same as `Accept: text/csv`).
    #[param(value_type = Option<ListFormat>)]
    pub format: Option<ListFormat>,
}

/// List service areas
///
/// Groups (no parent) and the areas within them.
#[utoipa::path(
    tag = "service-areas",
    params(ServiceAreaQuery),
    responses(
        (status = 200, description = "A page of service areas, or all of them as CSV", content((ServiceAreaList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/service-areas")]
pub async fn list_service_areas(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<ServiceAreaQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let filter = ServiceAreaFilter {
        parent: query.parent.map(CommaList::into_inner).unwrap_or_default(),
        level: query.level,
        words: query.q.as_deref().map(search_words).unwrap_or_default(),
    };
    let sort = query.sort.map(|s| (s.key, s.descending));
    if respond::wants_csv(&req, query.format) {
        let (conn, filter) = db::run_holding(&pool, move |conn| {
            filter.check(conn)?;
            Ok(filter)
        })
        .await?;
        return Ok(respond::csv(
            conn,
            "service-areas.csv",
            CSV_COLUMNS.to_vec(),
            move |conn, sink| {
                filter.for_each(conn, sort, |row| sink.write(&ServiceArea::from(row)))?;
                Ok(())
            },
        ));
    }
    let paging = Paging::new(query.page, query.per_page);
    let (rows, total) = db::run(&pool, move |conn| {
        filter.check(conn)?;
        let total = filter.count(conn)?;
        Ok((
            filter.page(conn, sort, paging.offset(), paging.limit())?,
            total,
        ))
    })
    .await?;
    let body = ServiceAreaList {
        items: rows.into_iter().map(ServiceArea::from).collect(),
        meta: respond::ListMeta {
            total,
            page: paging.page,
            per_page: paging.per_page,
        },
    };
    Ok(respond::page(&req, &body, total, paging))
}

/// Get a service area
#[utoipa::path(
    tag = "service-areas",
    params(("id" = String, Path, description = "The service area's or group's id", example = "adult-social-care")),
    responses(
        (status = 200, description = "The service area", body = ServiceArea,
         headers(("ETag" = String, description = "Changes whenever the representation changes"))),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service area", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/service-areas/{id}")]
pub async fn get_service_area(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = id.clone();
    let area = db::run(&pool, move |conn| Ok(query::find(conn, &key)?))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no service area with id {:?}", id.as_str())))?;
    respond::single(&req, &ServiceArea::from(area))
}

/// A service area or group as written with `POST`, `PUT` and `PATCH` (admin keys only).
/// Read-only fields (timestamps, `version`) may be sent back as read and are ignored.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "adult-social-care",
    "name": "Adult social care",
    "parent_id": "social-care-and-health",
    "description": "Case management for adult social care assessments, care planning, safeguarding and reviews."
}))]
pub struct ServiceAreaInput {
    /// Slug; required when creating, and fixed afterwards.
    pub id: String,
    pub name: String,
    /// The group the area belongs to, which must itself be a group; null or absent for a group.
    /// A group with areas under it cannot be given a parent, and an area that systems or
    /// contracts are tagged with cannot become a group.
    pub parent_id: Option<String>,
    pub description: Option<String>,
}

merge_patch_schema!(ServiceAreaPatch, ServiceAreaInput, "a service area");
replacement_schema!(
    ServiceAreaReplacement,
    ServiceAreaInput,
    "a service area or group"
);

const READ_ONLY: &[&str] = &["created_at", "updated_at", "version"];

/// Reads and checks a service-area body: every failing field in one 422. `existing` when the
/// body replaces a stored record, whose areas under it and tags are then checked too.
fn service_area_input(
    conn: &mut diesel::PgConnection,
    body: serde_json::Map<String, serde_json::Value>,
    existing: bool,
) -> Result<models::NewServiceArea, ApiError> {
    let mut f = Fields::new(body, READ_ONLY);
    let id = f.required_slug("id");
    let name = f.required_text("name");
    let parent_id = f.optional_slug("parent_id");
    let description = f.optional_text("description");

    if let Some(parent) = &parent_id {
        if id.as_ref() == Some(parent) {
            f.error("parent_id", "a service area cannot be its own parent");
        } else {
            match query::find(conn, parent)? {
                None => f.error("parent_id", format!("unknown service area {parent:?}")),
                Some(found) if found.parent_id.is_some() => f.error(
                    "parent_id",
                    format!("{parent:?} is an area, not a group; an area's parent must be a group"),
                ),
                Some(_) => {}
            }
        }
    }
    let parent_ok = !f.errors.iter().any(|e| e.field == "parent_id");
    if let (true, true, Some(id)) = (existing, parent_ok, &id) {
        if parent_id.is_some() {
            let under = query::children(conn, id)?;
            if under > 0 {
                f.error(
                    "parent_id",
                    format!("{id:?} is a group with {under} service areas under it and cannot have a parent"),
                );
            }
        } else {
            let (systems, contracts) = query::tagged(conn, id)?;
            if systems + contracts > 0 {
                f.error(
                    "parent_id",
                    format!(
                        "{id:?} cannot become a group while {systems} systems and {contracts} \
                         contracts are tagged with it; tag them with other areas first"
                    ),
                );
            }
        }
    }
    f.finish()?;
    let missing = || ApiError::Internal("a checked service area field is missing".into());
    Ok(models::NewServiceArea {
        id: id.ok_or_else(missing)?,
        name: name.ok_or_else(missing)?,
        parent_id,
        description,
    })
}

/// The full representation (assessments included) that writes return and log.
pub(crate) fn current(
    conn: &mut diesel::PgConnection,
    id: &str,
) -> Result<serde_json::Value, ApiError> {
    let area = query::find(conn, id)?
        .ok_or_else(|| ApiError::NotFound(format!("no service area with id {id:?}")))?;
    serde_json::to_value(ServiceArea::from(area)).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Create a service area
///
/// A group when `parent_id` is null or absent; otherwise an area within that group.
#[utoipa::path(
    tag = "service-areas",
    security(("bearer" = [])),
    request_body(content = ServiceAreaInput, description = "The new service area or group", content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = ServiceArea,
         headers(("ETag" = String, description = "The new representation's ETag"), ("Location" = String, description = "The service area's address"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The id is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/service-areas")]
pub async fn create_service_area(
    pool: web::Data<DbPool>,
    caller: Caller,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.require_admin()?;
    let body = json_object(&body)?;
    let (id, after) = db::run(&pool, move |conn| {
        let write = Write {
            actor: &actor,
            resource: Resource::ServiceAreas,
            if_match: &IfMatch::default(),
        };
        write.create(conn, |conn| {
            let input = service_area_input(conn, body, false)?;
            query::insert(conn, &input)?;
            Ok((input.id.clone(), current(conn, &input.id)?))
        })
    })
    .await?;
    Ok(written(
        StatusCode::CREATED,
        Some(format!("/api/v1/service-areas/{id}")),
        &after,
    ))
}

async fn change_service_area(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: String,
    body: Bytes,
    partial: bool,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.require_admin()?;
    let body = json_object(&body)?;
    check_body_id(&body, &id)?;
    let if_match = IfMatch::from_request(&req);
    let after = db::run(&pool, move |conn| {
        let write = Write {
            actor: &actor,
            resource: Resource::ServiceAreas,
            if_match: &if_match,
        };
        let target = Target {
            table: "service_areas",
            what: "service area",
            id: &id,
        };
        write.modify(
            conn,
            target,
            |conn| current(conn, &id),
            |_| Ok(()),
            |conn, before| {
                let mut fields = if partial {
                    merge(as_object(before.clone()), body)
                } else {
                    body
                };
                fields.insert("id".into(), id.clone().into());
                let input = service_area_input(conn, fields, true)?;
                query::update(conn, &id, &input)?;
                Ok(Some(current(conn, &id)?))
            },
        )
    })
    .await?;
    let after = after.ok_or_else(|| ApiError::Internal("an update returned nothing".into()))?;
    Ok(written(StatusCode::OK, None, &after))
}

/// Replace a service area
///
/// Every field is replaced; the id cannot change.
#[utoipa::path(
    tag = "service-areas",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The service area's or group's id", example = "adult-social-care"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; 412 when it is no longer current"),
    ),
    request_body(content = ServiceAreaReplacement, description = "The whole service area or group", content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced", body = ServiceArea, headers(("ETag" = String, description = "The new representation's ETag"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service area", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/service-areas/{id}")]
pub async fn replace_service_area(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    change_service_area(req, pool, caller, id.into_inner(), body, false).await
}

/// Update a service area
///
/// A JSON merge patch: the fields sent replace the stored ones (null clears one); the rest stay.
#[utoipa::path(
    tag = "service-areas",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The service area's or group's id", example = "adult-social-care"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; 412 when it is no longer current"),
    ),
    request_body(content = ServiceAreaPatch, description = "The fields to change", content_type = "application/merge-patch+json",
                 example = json!({"description": "Assessments, care planning, safeguarding and reviews for adults."})),
    responses(
        (status = 200, description = "Updated", body = ServiceArea, headers(("ETag" = String, description = "The new representation's ETag"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service area", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/service-areas/{id}")]
pub async fn update_service_area(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    change_service_area(req, pool, caller, id.into_inner(), body, true).await
}

/// Delete a service area
///
/// Only a service area nothing refers to: 409 names the areas under it, systems and contracts
/// that still do.
#[utoipa::path(
    tag = "service-areas",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The service area's or group's id", example = "adult-social-care"),
        ("If-Match" = Option<String>, Header, description = "The ETag the deletion is based on; 412 when it is no longer current"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service area", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Service areas under it, systems or contracts still refer to it", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/service-areas/{id}")]
pub async fn delete_service_area(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.require_admin()?;
    let id = id.into_inner();
    let if_match = IfMatch::from_request(&req);
    db::run(&pool, move |conn| {
        let write = Write {
            actor: &actor,
            resource: Resource::ServiceAreas,
            if_match: &if_match,
        };
        let target = Target {
            table: "service_areas",
            what: "service area",
            id: &id,
        };
        write.modify(
            conn,
            target,
            |conn| current(conn, &id),
            |_| Ok(()),
            |conn, _| {
                if let Some(detail) = query::references(conn, &id)? {
                    return Err(ApiError::Conflict(detail));
                }
                query::delete(conn, &id)?;
                Ok(None)
            },
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
