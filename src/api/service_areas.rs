//! `/service-areas`: a two-level tree of groups (such as `social-care`) and their areas.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::params::{ApiQuery, CommaList, ListFormat, NoQuery, PageNumber, Paging, PerPage, Sort};
use super::respond::{self, list_envelope};
use crate::db::{self, DbPool};
use crate::error::{ApiError, Problem};
use crate::models;
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
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/service-areas")]
pub async fn list_service_areas(
    req: HttpRequest,
    pool: web::Data<DbPool>,
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
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service area", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/service-areas/{id}")]
pub async fn get_service_area(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = id.clone();
    let area = db::run(&pool, move |conn| Ok(query::find(conn, &key)?))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no service area with id {:?}", id.as_str())))?;
    respond::single(&req, &ServiceArea::from(area))
}
