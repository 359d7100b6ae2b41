//! `/suppliers`: companies that hold contracts or sell systems, with their other spellings.

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
use crate::queries::contracts::Within;
use crate::queries::search_words;
use crate::queries::suppliers::{self as query, SupplierCriteria, SupplierRecord, SupplierSortKey};

/// A supplier of software or services to boroughs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Supplier {
    #[schema(example = "civica")]
    pub id: String,
    #[schema(example = "Civica")]
    pub name: String,
    /// Other spellings seen in source data, used to match imports.
    #[schema(example = json!(["Civica UK Ltd", "Civica UK Limited"]))]
    pub aliases: Vec<String>,
    /// Companies House registration number.
    pub companies_house_number: Option<String>,
    pub website: Option<String>,
    /// Whether the supplier is a small or medium-sized enterprise.
    pub sme: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes on every write.
    pub version: i32,
}

impl From<SupplierRecord> for Supplier {
    fn from(record: SupplierRecord) -> Self {
        let s = record.supplier;
        Supplier {
            id: s.id,
            name: s.name,
            aliases: record.aliases,
            companies_house_number: s.companies_house_number,
            website: s.website,
            sme: s.sme,
            created_at: s.created_at,
            updated_at: s.updated_at,
            version: s.version,
        }
    }
}

const CSV_COLUMNS: &[&str] = &[
    "id",
    "name",
    "aliases",
    "companies_house_number",
    "website",
    "sme",
    "created_at",
    "updated_at",
    "version",
];

list_envelope!(SupplierList, Supplier, "suppliers");

/// Supplier filters, sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SupplierQuery {
    /// Whether the supplier is an SME.
    #[param(value_type = Option<bool>)]
    pub sme: Option<QueryBool>,
    /// Suppliers with a system in these service areas; a group means every area under it.
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "waste")]
    pub service_area: Option<CommaList<String>>,
    /// Words that must each appear in the name or in one alias.
    pub q: Option<String>,
    /// Sort key, `-` prefix for descending; ties are broken by id.
    #[param(value_type = Option<String>, pattern = r"^-?(name|id)$")]
    pub sort: Option<Sort<SupplierSortKey>>,
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

/// List suppliers
#[utoipa::path(
    tag = "suppliers",
    params(SupplierQuery),
    responses(
        (status = 200, description = "A page of suppliers, or all of them as CSV", content((SupplierList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/suppliers")]
pub async fn list_suppliers(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    query: ApiQuery<SupplierQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let criteria = SupplierCriteria {
        sme: query.sme.map(|b| b.0),
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
            "suppliers.csv",
            CSV_COLUMNS.to_vec(),
            move |conn, sink| {
                filter.for_each(conn, sort, |row| sink.write(&Supplier::from(row)))?;
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
    let body = SupplierList {
        items: rows.into_iter().map(Supplier::from).collect(),
        meta: respond::ListMeta {
            total,
            page: paging.page,
            per_page: paging.per_page,
        },
    };
    Ok(respond::page(&req, &body, total, paging))
}

async fn find_supplier(pool: &DbPool, id: &str) -> Result<SupplierRecord, ApiError> {
    let key = id.to_owned();
    db::run(pool, move |conn| Ok(query::find(conn, &key)?))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no supplier with id {id:?}")))
}

/// Get a supplier
#[utoipa::path(
    tag = "suppliers",
    params(("id" = String, Path, description = "The supplier's id", example = "civica")),
    responses(
        (status = 200, description = "The supplier", body = Supplier,
         headers(("ETag" = String, description = "Changes whenever the representation changes"))),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such supplier", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/suppliers/{id}")]
pub async fn get_supplier(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let supplier = find_supplier(&pool, &id).await?;
    respond::single(&req, &Supplier::from(supplier))
}

/// List a supplier's contracts
///
/// The contracts the supplier holds, with the same filters, sort, paging and CSV as `/contracts`.
#[utoipa::path(
    tag = "suppliers",
    params(("id" = String, Path, description = "The supplier's id", example = "civica"), ContractQuery),
    responses(
        (status = 200, description = "A page of the supplier's contracts, or all of them as CSV", content((ContractList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such supplier", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/suppliers/{id}/contracts")]
pub async fn list_supplier_contracts(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    query: ApiQuery<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    let supplier = find_supplier(&pool, &id).await?;
    respond_with_contracts(
        req,
        &pool,
        query.0,
        Some(Within::Supplier(supplier.supplier.id)),
    )
    .await
}
