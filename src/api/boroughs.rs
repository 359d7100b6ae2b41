//! `/boroughs`: the 32 London boroughs and the City of London.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::contracts::{respond_with_contracts, ContractList, ContractQuery};
use super::params::{
    ApiQuery, CommaList, ListFormat, NoQuery, PageNumber, Paging, PerPage, QueryBool, Sort,
};
use super::respond::{self, list_envelope};
use crate::db::{self, DbPool};
use crate::error::{ApiError, Problem};
use crate::models::{self, BoroughKind};
use crate::queries::boroughs::{self as query, BoroughFilter, BoroughSortKey};
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
        (status = 400, description = "An unknown parameter or a malformed value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/boroughs")]
pub async fn list_boroughs(
    req: HttpRequest,
    pool: web::Data<DbPool>,
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
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such borough", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/boroughs/{id}")]
pub async fn get_borough(
    req: HttpRequest,
    pool: web::Data<DbPool>,
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
        (status = 200, description = "A page of the borough's contracts, or all of them as CSV", content((ContractList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such borough", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/boroughs/{id}/contracts")]
pub async fn list_borough_contracts(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    query: ApiQuery<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    let borough = find_borough(&pool, &id).await?;
    respond_with_contracts(req, &pool, query.0, Some(Within::Borough(borough.id))).await
}
