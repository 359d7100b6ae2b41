//! `/systems`: products, each sold by one vendor and serving one or more service areas.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::contracts::{respond_with_contracts, ContractList, ContractQuery};
use super::params::{ApiQuery, CommaList, ListFormat, NoQuery, PageNumber, Paging, PerPage, Sort};
use super::respond::{self, list_envelope};
use crate::db::{self, DbPool};
use crate::error::{ApiError, Problem};
use crate::queries::contracts::Within;
use crate::queries::search_words;
use crate::queries::systems::{self as query, SystemCriteria, SystemRecord, SystemSortKey};

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
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/systems")]
pub async fn list_systems(
    req: HttpRequest,
    pool: web::Data<DbPool>,
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
        let (conn, filter) = db::run_holding(&pool, move |conn| criteria.resolve(conn)).await?;
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
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such system", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/systems/{id}")]
pub async fn get_system(
    req: HttpRequest,
    pool: web::Data<DbPool>,
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
        (status = 200, description = "A page of the system's contracts, or all of them as CSV", content((ContractList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such system", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/systems/{id}/contracts")]
pub async fn list_system_contracts(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    query: ApiQuery<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    let system = find_system(&pool, &id).await?;
    respond_with_contracts(req, &pool, query.0, Some(Within::System(system.system.id))).await
}
