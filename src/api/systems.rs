//! `/systems`: products, each sold by one vendor and serving one or more service areas.

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::contracts::{respond_with_contracts, ContractQuery};
use super::exports::ContractListBody;
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
use crate::queries::changes::Resource;
use crate::queries::contracts::{check_areas, check_reference, Within};
use crate::queries::search_words;
use crate::queries::systems::{
    self as query, SystemCriteria, SystemRecord, SystemSortKey, SystemWrite,
};

/// A product used by boroughs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct System {
    #[schema(example = "civica-openrevenues")]
    pub id: String,
    #[schema(example = "Civica OpenRevenues")]
    pub name: String,
    /// The vendor of the product.
    #[schema(example = "civica")]
    pub supplier_id: String,
    /// The service areas the product serves.
    #[schema(example = json!(["council-tax", "business-rates", "housing-benefit"]))]
    pub service_area_ids: Vec<String>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes on every write.
    pub version: i32,
}

impl From<SystemRecord> for System {
    fn from(record: SystemRecord) -> Self {
        let s = record.system;
        System {
            id: s.id,
            name: s.name,
            supplier_id: s.supplier_id,
            service_area_ids: record.service_area_ids,
            description: s.description,
            created_at: s.created_at,
            updated_at: s.updated_at,
            version: s.version,
        }
    }
}

const CSV_COLUMNS: &[&str] = &[
    "id",
    "name",
    "supplier_id",
    "service_area_ids",
    "description",
    "created_at",
    "updated_at",
    "version",
];

list_envelope!(SystemList, System, "systems");

/// System filters, sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SystemQuery {
    /// Vendors, by id.
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "civica")]
    pub supplier: Option<CommaList<String>>,
    /// Systems serving these service areas; a group means every area under it.
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false)]
    pub service_area: Option<CommaList<String>>,
    /// Words that must each appear in the name or description.
    pub q: Option<String>,
    /// Sort key, `-` prefix for descending; ties are broken by id.
    #[param(value_type = Option<String>, pattern = r"^-?(name|id|supplier)$")]
    pub sort: Option<Sort<SystemSortKey>>,
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

/// List systems
#[utoipa::path(
    tag = "systems",
    params(SystemQuery),
    responses(
        (status = 200, description = "A page of systems, or all of them as CSV", content((SystemList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/systems")]
pub async fn list_systems(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<SystemQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let criteria = SystemCriteria {
        supplier: query
            .supplier
            .map(CommaList::into_inner)
            .unwrap_or_default(),
        service_area: query
            .service_area
            .map(CommaList::into_inner)
            .unwrap_or_default(),
        words: query.q.as_deref().map(search_words).unwrap_or_default(),
    };
    let sort = query.sort.map(|s| (s.key, s.descending));
    if respond::wants_csv(&req, query.format) {
        let (conn, filter) =
            db::run_holding(&pool, move |conn| Ok(criteria.resolve(conn)?)).await?;
        return Ok(respond::csv(
            conn,
            "systems.csv",
            CSV_COLUMNS.to_vec(),
            move |conn, sink| {
                filter.for_each(conn, sort, |row| sink.write(&System::from(row)))?;
                Ok(())
            },
        ));
    }
    let paging = Paging::new(query.page, query.per_page);
    let (rows, total) = db::run(&pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        let total = filter.count(conn)?;
        Ok((
            filter.page(conn, sort, paging.offset(), paging.limit())?,
            total,
        ))
    })
    .await?;
    let body = SystemList {
        items: rows.into_iter().map(System::from).collect(),
        meta: respond::ListMeta {
            total,
            page: paging.page,
            per_page: paging.per_page,
        },
    };
    Ok(respond::page(&req, &body, total, paging))
}

async fn find_system(pool: &DbPool, id: &str) -> Result<SystemRecord, ApiError> {
    let key = id.to_owned();
    db::run(pool, move |conn| Ok(query::find(conn, &key)?))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no system with id {id:?}")))
}

/// Get a system
#[utoipa::path(
    tag = "systems",
    params(("id" = String, Path, description = "The system's id", example = "civica-openrevenues")),
    responses(
        (status = 200, description = "The system", body = System,
         headers(("ETag" = String, description = "Changes whenever the representation changes"))),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such system", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/systems/{id}")]
pub async fn get_system(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let system = find_system(&pool, &id).await?;
    respond::single(&req, &System::from(system))
}

/// List a system's contracts
///
/// The contracts for the system, with the same filters, sort, paging and CSV as `/contracts`.
#[utoipa::path(
    tag = "systems",
    params(("id" = String, Path, description = "The system's id", example = "civica-openrevenues"), ContractQuery),
    responses(
        (status = 200, description = "A page of the system's contracts, or all of them as CSV or (`format=ocds`) as an OCDS release package", content((ContractListBody = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links: by page number `first`, `prev`, `next` and `last` (no `last` when `meta.total_exact` is false); in cursor mode `first` (`cursor=`) and `next`"))),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such system", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/systems/{id}/contracts")]
pub async fn list_system_contracts(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    query: ApiQuery<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    let system = find_system(&pool, &id).await?;
    respond_with_contracts(
        req,
        &pool,
        &caller,
        query.0,
        Some(Within::System(system.system.id)),
    )
    .await
}

/// A system as written with `POST`, `PUT` and `PATCH` (admin keys only). Read-only fields
/// (timestamps, `version`) may be sent back as read and are ignored.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "civica-openrevenues",
    "name": "Civica OpenRevenues",
    "supplier_id": "civica",
    "service_area_ids": ["council-tax", "business-rates", "housing-benefit"],
    "description": "Revenues and benefits system for council tax, business rates and housing benefit administration."
}))]
pub struct SystemInput {
    /// Slug; required when creating, and fixed afterwards.
    pub id: String,
    pub name: String,
    /// The vendor of the product.
    pub supplier_id: String,
    /// One or more service areas (areas, not groups); replaces the whole set.
    pub service_area_ids: Vec<String>,
    pub description: Option<String>,
}

merge_patch_schema!(SystemPatch, SystemInput, "a system");
replacement_schema!(SystemReplacement, SystemInput, "a system");

const READ_ONLY: &[&str] = &["created_at", "updated_at", "version"];

/// Reads and checks a system body: every failing field in one 422.
fn system_input(
    conn: &mut diesel::PgConnection,
    body: serde_json::Map<String, serde_json::Value>,
) -> Result<SystemWrite, ApiError> {
    let mut f = Fields::new(body, READ_ONLY);
    let id = f.required_slug("id");
    let name = f.required_text("name");
    let supplier_id = f.required_slug("supplier_id");
    let service_area_ids = f.slug_list("service_area_ids", true);
    let description = f.optional_text("description");
    if let Some(id) = &supplier_id {
        check_reference(
            conn,
            "suppliers",
            "supplier_id",
            "supplier",
            id,
            &mut f.errors,
        )?;
    }
    check_areas(conn, "service_area_ids", &service_area_ids, &mut f.errors)?;
    f.finish()?;
    let missing = || ApiError::Internal("a checked system field is missing".into());
    Ok(SystemWrite {
        system: models::NewSystem {
            id: id.ok_or_else(missing)?,
            name: name.ok_or_else(missing)?,
            supplier_id: supplier_id.ok_or_else(missing)?,
            description,
        },
        service_area_ids,
    })
}

/// The full representation (assessments included) that writes return and log.
pub(crate) fn current(
    conn: &mut diesel::PgConnection,
    id: &str,
) -> Result<serde_json::Value, ApiError> {
    let system = query::find(conn, id)?
        .ok_or_else(|| ApiError::NotFound(format!("no system with id {id:?}")))?;
    serde_json::to_value(System::from(system)).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Create a system
#[utoipa::path(
    tag = "systems",
    security(("bearer" = [])),
    request_body(content = SystemInput, description = "The new system", content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = System,
         headers(("ETag" = String, description = "The new representation's ETag"), ("Location" = String, description = "The system's address"))),
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
#[post("/systems")]
pub async fn create_system(
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
            resource: Resource::Systems,
            if_match: &IfMatch::default(),
        };
        write.create(conn, |conn| {
            let input = system_input(conn, body)?;
            query::insert(conn, &input)?;
            let id = input.system.id;
            let after = current(conn, &id)?;
            Ok((id, after))
        })
    })
    .await?;
    Ok(written(
        StatusCode::CREATED,
        Some(format!("/api/v1/systems/{id}")),
        &after,
    ))
}

async fn change_system(
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
            resource: Resource::Systems,
            if_match: &if_match,
        };
        let target = Target {
            table: "systems",
            what: "system",
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
                let input = system_input(conn, fields)?;
                query::update(conn, &id, &input)?;
                Ok(Some(current(conn, &id)?))
            },
        )
    })
    .await?;
    let after = after.ok_or_else(|| ApiError::Internal("an update returned nothing".into()))?;
    Ok(written(StatusCode::OK, None, &after))
}

/// Replace a system
///
/// Every field is replaced, service areas included; the id cannot change.
#[utoipa::path(
    tag = "systems",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The system's id", example = "civica-openrevenues"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; 412 when it is no longer current"),
    ),
    request_body(content = SystemReplacement, description = "The whole system", content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced", body = System, headers(("ETag" = String, description = "The new representation's ETag"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such system", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/systems/{id}")]
pub async fn replace_system(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    change_system(req, pool, caller, id.into_inner(), body, false).await
}

/// Update a system
///
/// A JSON merge patch: the fields sent replace the stored ones (null clears one); the rest stay.
/// `service_area_ids`, when sent, replaces the whole set.
#[utoipa::path(
    tag = "systems",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The system's id", example = "civica-openrevenues"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; 412 when it is no longer current"),
    ),
    request_body(content = SystemPatch, description = "The fields to change", content_type = "application/merge-patch+json",
                 example = json!({"service_area_ids": ["council-tax", "business-rates"]})),
    responses(
        (status = 200, description = "Updated", body = System, headers(("ETag" = String, description = "The new representation's ETag"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such system", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/systems/{id}")]
pub async fn update_system(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    change_system(req, pool, caller, id.into_inner(), body, true).await
}

/// Delete a system
///
/// Only a system no contract refers to: 409 names the contracts that still do. Its service-area
/// links go with it.
#[utoipa::path(
    tag = "systems",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The system's id", example = "civica-openrevenues"),
        ("If-Match" = Option<String>, Header, description = "The ETag the deletion is based on; 412 when it is no longer current"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such system", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Contracts still refer to the system", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/systems/{id}")]
pub async fn delete_system(
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
            resource: Resource::Systems,
            if_match: &if_match,
        };
        let target = Target {
            table: "systems",
            what: "system",
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
