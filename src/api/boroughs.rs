//! `/boroughs`: the 32 London boroughs and the City of London.

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::contracts::{respond_with_contracts, ContractQuery};
use super::exports::ContractListBody;
use super::input::{json_object, merge, Fields};
use super::params::{
    ApiQuery, CommaList, ListFormat, NoQuery, PageNumber, Paging, PerPage, QueryBool, Sort,
};
use super::respond::{self, list_envelope};
use super::writes::{
    as_object, check_body_id, merge_patch_schema, replacement_schema, written, IfMatch, Target,
    Write,
};
use crate::auth::Caller;
use crate::db::{self, DbPool};
use crate::error::{ApiError, Problem};
use crate::models::{self, BoroughKind};
use crate::queries::boroughs::{self as query, BoroughFilter, BoroughSortKey};
use crate::changelog::Resource;
use crate::queries::contracts::Within;
use crate::queries::search_words;

/// A London authority.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Borough {
    /// Slug; the GSS code is accepted wherever an id is.
    #[schema(example = "camden")]
    pub id: String,
    /// ONS Government Statistical Service code.
    #[schema(example = "E09000007")]
    pub gss_code: String,
    #[schema(example = "Camden")]
    pub name: String,
    #[schema(example = "London Borough of Camden")]
    pub official_name: String,
    #[schema(value_type = BoroughKind)]
    pub kind: String,
    /// Inner London as defined by the London Government Act 1963.
    pub inner_london_statutory: bool,
    /// Inner London as defined by the ONS for statistics.
    pub inner_london_ons: bool,
    /// Whether the borough answered the City Tools survey.
    pub surveyed: bool,
    #[schema(example = "https://www.camden.gov.uk")]
    pub website: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes on every write.
    pub version: i32,
}

impl From<models::Borough> for Borough {
    fn from(b: models::Borough) -> Self {
        Borough {
            id: b.id,
            gss_code: b.gss_code,
            name: b.name,
            official_name: b.official_name,
            kind: b.kind,
            inner_london_statutory: b.inner_london_statutory,
            inner_london_ons: b.inner_london_ons,
            surveyed: b.surveyed,
            website: b.website,
            created_at: b.created_at,
            updated_at: b.updated_at,
            version: b.version,
        }
    }
}

const CSV_COLUMNS: &[&str] = &[
    "id",
    "gss_code",
    "name",
    "official_name",
    "kind",
    "inner_london_statutory",
    "inner_london_ons",
    "surveyed",
    "website",
    "created_at",
    "updated_at",
    "version",
];

list_envelope!(BoroughList, Borough, "boroughs");

/// Borough filters, sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoroughQuery {
    /// Kinds of authority.
    #[param(value_type = Option<Vec<BoroughKind>>, style = Form, explode = false)]
    pub kind: Option<CommaList<BoroughKind>>,
    /// Inner London by the statutory (1963) definition.
    #[param(value_type = Option<bool>)]
    pub inner_london_statutory: Option<QueryBool>,
    /// Inner London by the ONS definition.
    #[param(value_type = Option<bool>)]
    pub inner_london_ons: Option<QueryBool>,
    /// Whether the borough answered the survey.
    #[param(value_type = Option<bool>)]
    pub surveyed: Option<QueryBool>,
    /// Words that must each appear in the name or official name.
    pub q: Option<String>,
    /// Sort key, `-` prefix for descending; ties are broken by id.
    #[param(value_type = Option<String>, pattern = r"^-?(name|gss_code|id)$")]
    pub sort: Option<Sort<BoroughSortKey>>,
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

/// List boroughs
///
/// The 32 London boroughs and the City of London, with their GSS codes.
#[utoipa::path(
    tag = "boroughs",
    params(BoroughQuery),
    responses(
        (status = 200, description = "A page of boroughs, or all of them as CSV", content((BoroughList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "An unknown parameter or a malformed value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/boroughs")]
pub async fn list_boroughs(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<BoroughQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let filter = BoroughFilter {
        kind: query.kind.map(CommaList::into_inner).unwrap_or_default(),
        inner_london_statutory: query.inner_london_statutory.map(|b| b.0),
        inner_london_ons: query.inner_london_ons.map(|b| b.0),
        surveyed: query.surveyed.map(|b| b.0),
        words: query.q.as_deref().map(search_words).unwrap_or_default(),
    };
    let sort = query.sort.map(|s| (s.key, s.descending));
    if respond::wants_csv(&req, query.format) {
        let (conn, ()) = db::run_holding(&pool, |_| Ok(())).await?;
        return Ok(respond::csv(
            conn,
            "boroughs.csv",
            CSV_COLUMNS.to_vec(),
            move |conn, sink| {
                filter.for_each(conn, sort, |row| sink.write(&Borough::from(row)))?;
                Ok(())
            },
        ));
    }
    let paging = Paging::new(query.page, query.per_page);
    let (rows, total) = db::run(&pool, move |conn| {
        let total = filter.count(conn)?;
        Ok((
            filter.page(conn, sort, paging.offset(), paging.limit())?,
            total,
        ))
    })
    .await?;
    let body = BoroughList {
        items: rows.into_iter().map(Borough::from).collect(),
        meta: respond::ListMeta {
            total,
            page: paging.page,
            per_page: paging.per_page,
        },
    };
    Ok(respond::page(&req, &body, total, paging))
}

async fn find_borough(pool: &DbPool, id: &str) -> Result<models::Borough, ApiError> {
    let key = id.to_owned();
    db::run(pool, move |conn| Ok(query::find(conn, &key)?))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no borough with id or GSS code {id:?}")))
}

/// Get a borough
///
/// By slug (`camden`) or GSS code (`E09000007`).
#[utoipa::path(
    tag = "boroughs",
    params(("id" = String, Path, description = "Slug or GSS code", example = "camden")),
    responses(
        (status = 200, description = "The borough", body = Borough,
         headers(("ETag" = String, description = "Changes whenever the representation changes"))),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such borough", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/boroughs/{id}")]
pub async fn get_borough(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let borough = find_borough(&pool, &id).await?;
    respond::single(&req, &Borough::from(borough))
}

/// List a borough's contracts
///
/// The same filters, sort, paging and CSV as `/contracts`, within one borough.
#[utoipa::path(
    tag = "boroughs",
    params(("id" = String, Path, description = "Slug or GSS code", example = "camden"), ContractQuery),
    responses(
        (status = 200, description = "A page of the borough's contracts, or all of them as CSV or (`format=ocds`) as an OCDS release package", content((ContractListBody = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links: by page number `first`, `prev`, `next` and `last` (no `last` when `meta.total_exact` is false); in cursor mode `first` (`cursor=`) and `next`"))),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such borough", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/boroughs/{id}/contracts")]
pub async fn list_borough_contracts(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    query: ApiQuery<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    let borough = find_borough(&pool, &id).await?;
    respond_with_contracts(
        req,
        &pool,
        &caller,
        query.0,
        Some(Within::Borough(borough.id)),
    )
    .await
}

/// A borough as written with `POST`, `PUT` and `PATCH` (admin keys only). Read-only fields
/// (timestamps, `version`) may be sent back as read and are ignored.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "camden",
    "gss_code": "E09000007",
    "name": "Camden",
    "official_name": "London Borough of Camden",
    "kind": "london_borough",
    "inner_london_statutory": true,
    "inner_london_ons": true,
    "surveyed": true,
    "website": "https://www.camden.gov.uk"
}))]
pub struct BoroughInput {
    /// Slug; required when creating, and fixed afterwards.
    pub id: String,
    /// Unique ONS GSS code, such as E09000007.
    pub gss_code: String,
    pub name: String,
    pub official_name: String,
    pub kind: BoroughKind,
    pub inner_london_statutory: bool,
    pub inner_london_ons: bool,
    /// Default false.
    pub surveyed: Option<bool>,
    /// An http or https URL.
    pub website: Option<String>,
}

merge_patch_schema!(BoroughPatch, BoroughInput, "a borough");
replacement_schema!(BoroughReplacement, BoroughInput, "a borough");

const READ_ONLY: &[&str] = &["created_at", "updated_at", "version"];

fn borough_input(
    body: serde_json::Map<String, serde_json::Value>,
) -> Result<models::NewBorough, ApiError> {
    let mut f = Fields::new(body, READ_ONLY);
    let id = f.required_slug("id");
    let gss_code = f.required_text("gss_code").map(|code| code.to_uppercase());
    if let Some(code) = &gss_code {
        let valid = code.len() == 9
            && code.starts_with(['E', 'N', 'S', 'W'])
            && code[1..].bytes().all(|b| b.is_ascii_digit());
        if !valid {
            f.error(
                "gss_code",
                format!("{code:?} is not a GSS code such as E09000007"),
            );
        }
    }
    let name = f.required_text("name");
    let official_name = f.required_text("official_name");
    let kind = f.choice::<BoroughKind>("kind", None);
    let inner_london_statutory = f.required_bool("inner_london_statutory");
    let inner_london_ons = f.required_bool("inner_london_ons");
    let surveyed = f.optional_bool("surveyed").unwrap_or(false);
    let website = f.optional_url("website");
    f.finish()?;
    let missing = || ApiError::Internal("a checked borough field is missing".into());
    Ok(models::NewBorough {
        id: id.ok_or_else(missing)?,
        gss_code: gss_code.ok_or_else(missing)?,
        name: name.ok_or_else(missing)?,
        official_name: official_name.ok_or_else(missing)?,
        kind: kind.ok_or_else(missing)?.as_str().to_owned(),
        inner_london_statutory: inner_london_statutory.ok_or_else(missing)?,
        inner_london_ons: inner_london_ons.ok_or_else(missing)?,
        surveyed,
        website,
    })
}

/// The full representation (assessments included) that writes return and log.
pub(crate) fn current(
    conn: &mut diesel::PgConnection,
    id: &str,
) -> Result<serde_json::Value, ApiError> {
    let borough = query::find(conn, id)?
        .ok_or_else(|| ApiError::NotFound(format!("no borough with id {id:?}")))?;
    serde_json::to_value(Borough::from(borough)).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Create a borough
#[utoipa::path(
    tag = "boroughs",
    security(("bearer" = [])),
    request_body(content = BoroughInput, description = "The new borough", content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Borough,
         headers(("ETag" = String, description = "The new representation's ETag"), ("Location" = String, description = "The borough's address"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The id or GSS code is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/boroughs")]
pub async fn create_borough(
    pool: web::Data<DbPool>,
    caller: Caller,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.require_admin()?;
    let input = borough_input(json_object(&body)?)?;
    let (id, after) = db::run(&pool, move |conn| {
        let write = Write {
            actor: &actor,
            resource: Resource::Boroughs,
            if_match: &IfMatch::default(),
        };
        write.create(conn, |conn| {
            query::insert(conn, &input)?;
            Ok((input.id.clone(), current(conn, &input.id)?))
        })
    })
    .await?;
    Ok(written(
        StatusCode::CREATED,
        Some(format!("/api/v1/boroughs/{id}")),
        &after,
    ))
}

async fn change_borough(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: String,
    body: Bytes,
    partial: bool,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.require_admin()?;
    let body = json_object(&body)?;
    let if_match = IfMatch::from_request(&req);
    let after = db::run(&pool, move |conn| {
        // The URL may name the borough by GSS code; the row is keyed by slug.
        let slug = query::find(conn, &id)?
            .map(|b| b.id)
            .ok_or_else(|| ApiError::NotFound(format!("no borough with id or GSS code {id:?}")))?;
        check_body_id(&body, &slug)?;
        let write = Write {
            actor: &actor,
            resource: Resource::Boroughs,
            if_match: &if_match,
        };
        let target = Target {
            table: "boroughs",
            what: "borough",
            id: &slug,
        };
        write.modify(
            conn,
            target,
            |conn| current(conn, &slug),
            |_| Ok(()),
            |conn, before| {
                let mut fields = if partial {
                    merge(as_object(before.clone()), body)
                } else {
                    body
                };
                fields.insert("id".into(), slug.clone().into());
                let input = borough_input(fields)?;
                query::update(conn, &slug, &input)?;
                Ok(Some(current(conn, &slug)?))
            },
        )
    })
    .await?;
    let after = after.ok_or_else(|| ApiError::Internal("an update returned nothing".into()))?;
    Ok(written(StatusCode::OK, None, &after))
}

/// Replace a borough
///
/// Every field is replaced; the id cannot change.
#[utoipa::path(
    tag = "boroughs",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Slug or GSS code", example = "camden"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; 412 when it is no longer current"),
    ),
    request_body(content = BoroughReplacement, description = "The whole borough", content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced", body = Borough, headers(("ETag" = String, description = "The new representation's ETag"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such borough", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The GSS code is taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/boroughs/{id}")]
pub async fn replace_borough(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    change_borough(req, pool, caller, id.into_inner(), body, false).await
}

/// Update a borough
///
/// A JSON merge patch: the fields sent replace the stored ones; the rest stay.
#[utoipa::path(
    tag = "boroughs",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Slug or GSS code", example = "camden"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; 412 when it is no longer current"),
    ),
    request_body(content = BoroughPatch, description = "The fields to change", content_type = "application/merge-patch+json",
                 example = json!({"surveyed": true})),
    responses(
        (status = 200, description = "Updated", body = Borough, headers(("ETag" = String, description = "The new representation's ETag"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such borough", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The GSS code is taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/boroughs/{id}")]
pub async fn update_borough(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    change_borough(req, pool, caller, id.into_inner(), body, true).await
}

/// Delete a borough
///
/// Only a borough nothing refers to: 409 names the contracts and keys that still do.
#[utoipa::path(
    tag = "boroughs",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Slug or GSS code", example = "camden"),
        ("If-Match" = Option<String>, Header, description = "The ETag the deletion is based on; 412 when it is no longer current"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such borough", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Contracts or keys still refer to the borough", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/boroughs/{id}")]
pub async fn delete_borough(
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
        let slug = query::find(conn, &id)?
            .map(|b| b.id)
            .ok_or_else(|| ApiError::NotFound(format!("no borough with id or GSS code {id:?}")))?;
        let write = Write {
            actor: &actor,
            resource: Resource::Boroughs,
            if_match: &if_match,
        };
        let target = Target {
            table: "boroughs",
            what: "borough",
            id: &slug,
        };
        write.modify(
            conn,
            target,
            |conn| current(conn, &slug),
            |_| Ok(()),
            |conn, _| {
                if let Some(detail) = query::references(conn, &slug)? {
                    return Err(ApiError::Conflict(detail));
                }
                query::delete(conn, &slug)?;
                Ok(None)
            },
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
