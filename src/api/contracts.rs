//! `/contracts`: one borough's use of one system from one supplier.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::params::{
    ApiQuery, CommaList, ListFormat, NoQuery, PageNumber, Paging, PerPage, QueryDate, QueryMoney,
    Sort,
};
use super::respond::{self, list_envelope};
use super::Viewer;
use crate::db::{self, DbPool};
use crate::error::{ApiError, Problem};
use crate::models::{DataAccess, Hosting, ProcurementRoute, Source};
use crate::queries::contracts::{self as query, ContractCriteria, ContractRecord, ContractSortKey};
use crate::queries::search_words;

/// A borough's own view of a contract, from the survey. Shown only to callers with an API key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assessment {
    /// Satisfaction with the system, 1 (very poor) to 5 (very good).
    #[schema(minimum = 1, maximum = 5, example = 4)]
    pub satisfaction: Option<i16>,
    /// Value for money, 1 to 5.
    #[schema(minimum = 1, maximum = 5, example = 3)]
    pub value_for_money: Option<i16>,
    /// Confidence in supporting the system in house, 1 to 5.
    #[schema(minimum = 1, maximum = 5, example = 4)]
    pub support_confidence: Option<i16>,
    /// Confidence in developing the system in house, 1 to 5.
    #[schema(minimum = 1, maximum = 5, example = 2)]
    pub development_confidence: Option<i16>,
    /// Free-text remarks from the borough.
    pub notes: Option<String>,
}

/// Fields that only callers with an API key see.
pub const ASSESSMENT_FIELDS: &[&str] = &[
    "satisfaction",
    "value_for_money",
    "support_confidence",
    "development_confidence",
    "notes",
];

/// A contract: one borough's use of one system (or service) from one supplier.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contract {
    #[schema(example = 42)]
    pub id: i64,
    #[schema(example = "camden")]
    pub borough_id: String,
    #[schema(example = "Camden")]
    pub borough_name: String,
    /// Who holds the contract: may be a reseller, not the system's vendor.
    #[schema(example = "civica")]
    pub supplier_id: String,
    #[schema(example = "Civica")]
    pub supplier_name: String,
    #[schema(example = "civica-openrevenues")]
    pub system_id: Option<String>,
    #[schema(example = "Civica OpenRevenues")]
    pub system_name: Option<String>,
    /// The service areas the contract covers (never groups).
    #[schema(example = json!(["council-tax", "business-rates"]))]
    pub service_area_ids: Vec<String>,
    #[schema(example = "Revenues and benefits system licence, support and maintenance")]
    pub title: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// The end date with every extension option taken (OCDS `maxExtentDate`).
    pub max_end_date: Option<NaiveDate>,
    /// Pounds and pence per year, as an exact decimal string.
    #[schema(example = "125000.00", pattern = r"^\d+\.\d{2}$")]
    pub annual_value_gbp: Option<String>,
    /// Pounds and pence over the whole contract, as an exact decimal string.
    #[schema(example = "625000.00", pattern = r"^\d+\.\d{2}$")]
    pub total_value_gbp: Option<String>,
    #[schema(value_type = Hosting)]
    pub hosting: String,
    #[schema(value_type = ProcurementRoute)]
    pub procurement_route: String,
    /// The framework used, when procurement_route is `framework`.
    #[schema(example = "G-Cloud 14")]
    pub framework_name: Option<String>,
    #[schema(value_type = DataAccess)]
    pub data_access: String,
    #[schema(value_type = Source)]
    pub source: String,
    /// The record's identifier in its source.
    #[schema(example = "ILL-0042")]
    pub source_reference: Option<String>,
    pub source_url: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<Assessment>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes on every write.
    #[schema(example = 1)]
    pub version: i32,
}

/// Money as an exact string with pence.
pub fn money(value: Option<bigdecimal::BigDecimal>) -> Option<String> {
    value.map(|v| {
        v.with_scale_round(2, bigdecimal::RoundingMode::HalfEven)
            .to_string()
    })
}

impl Contract {
    pub fn view(record: ContractRecord, viewer: Viewer) -> Contract {
        let c = record.contract;
        let assessment = viewer.sees_assessments().then_some(Assessment {
            satisfaction: c.satisfaction,
            value_for_money: c.value_for_money,
            support_confidence: c.support_confidence,
            development_confidence: c.development_confidence,
            notes: c.notes,
        });
        Contract {
            id: c.id,
            borough_id: c.borough_id,
            borough_name: record.borough_name,
            supplier_id: c.supplier_id,
            supplier_name: record.supplier_name,
            system_id: c.system_id,
            system_name: record.system_name,
            service_area_ids: record.service_area_ids,
            title: c.title,
            start_date: c.start_date,
            end_date: c.end_date,
            max_end_date: c.max_end_date,
            annual_value_gbp: money(c.annual_value_gbp),
            total_value_gbp: money(c.total_value_gbp),
            hosting: c.hosting,
            procurement_route: c.procurement_route,
            framework_name: c.framework_name,
            data_access: c.data_access,
            source: c.source,
            source_reference: c.source_reference,
            source_url: c.source_url,
            assessment,
            created_at: c.created_at,
            updated_at: c.updated_at,
            version: c.version,
        }
    }

    /// CSV columns, in order, for a caller who may or may not see assessments.
    pub fn csv_columns(viewer: Viewer) -> Vec<&'static str> {
        const COLUMNS: &[&str] = &[
            "id",
            "borough_id",
            "borough_name",
            "supplier_id",
            "supplier_name",
            "system_id",
            "system_name",
            "service_area_ids",
            "title",
            "start_date",
            "end_date",
            "max_end_date",
            "annual_value_gbp",
            "total_value_gbp",
            "hosting",
            "procurement_route",
            "framework_name",
            "data_access",
            "source",
            "source_reference",
            "source_url",
            "satisfaction",
            "value_for_money",
            "support_confidence",
            "development_confidence",
            "notes",
            "created_at",
            "updated_at",
            "version",
        ];
        COLUMNS
            .iter()
            .copied()
            .filter(|c| viewer.sees_assessments() || !ASSESSMENT_FIELDS.contains(c))
            .collect()
    }
}

list_envelope!(ContractList, Contract, "contracts");

/// Contract filters, sort and paging. Multi-value filters take comma-separated values.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContractQuery {
    /// Boroughs, by slug or GSS code.
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "camden,E09000019")]
    pub borough: Option<CommaList<String>>,
    /// Suppliers holding the contract, by id.
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "civica")]
    pub supplier: Option<CommaList<String>>,
    /// Systems, by id.
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false)]
    pub system: Option<CommaList<String>>,
    /// Service areas by id; a group matches every area under it.
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "revenues-and-benefits")]
    pub service_area: Option<CommaList<String>>,
    /// Contracts whose end_date is on or after this date.
    #[param(value_type = Option<NaiveDate>, example = "2026-01-01")]
    pub ends_after: Option<QueryDate>,
    /// Contracts whose end_date is on or before this date.
    #[param(value_type = Option<NaiveDate>, example = "2027-12-31")]
    pub ends_before: Option<QueryDate>,
    /// Contracts running on this date (start_date <= date <= end_date).
    #[param(value_type = Option<NaiveDate>)]
    pub active_on: Option<QueryDate>,
    /// Where the system runs.
    #[param(value_type = Option<Vec<Hosting>>, style = Form, explode = false)]
    pub hosting: Option<CommaList<Hosting>>,
    /// How the contract was procured.
    #[param(value_type = Option<Vec<ProcurementRoute>>, style = Form, explode = false)]
    pub procurement_route: Option<CommaList<ProcurementRoute>>,
    /// Whether the borough can get its own data out without paying extra.
    #[param(value_type = Option<Vec<DataAccess>>, style = Form, explode = false)]
    pub data_access: Option<CommaList<DataAccess>>,
    /// Where the record came from.
    #[param(value_type = Option<Vec<Source>>, style = Form, explode = false)]
    pub source: Option<CommaList<Source>>,
    /// Smallest annual value in pounds.
    #[param(value_type = Option<String>, pattern = r"^\d+(\.\d+)?$", example = "10000")]
    pub min_annual_value: Option<QueryMoney>,
    /// Largest annual value in pounds.
    #[param(value_type = Option<String>, pattern = r"^\d+(\.\d+)?$")]
    pub max_annual_value: Option<QueryMoney>,
    /// Words that must each appear in the title, the system's name or the supplier's name.
    #[param(example = "revenues")]
    pub q: Option<String>,
    /// Sort key, `-` prefix for descending; ties are broken by id.
    #[param(value_type = Option<String>, pattern = r"^-?(end_date|start_date|annual_value_gbp|borough|supplier)$")]
    pub sort: Option<Sort<ContractSortKey>>,
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

impl ContractQuery {
    fn criteria(&self) -> ContractCriteria {
        let list = |v: &Option<CommaList<String>>| {
            v.clone().map(CommaList::into_inner).unwrap_or_default()
        };
        fn values<T: Clone>(v: &Option<CommaList<T>>) -> Vec<T> {
            v.as_ref().map(|l| l.0.clone()).unwrap_or_default()
        }
        ContractCriteria {
            borough: list(&self.borough),
            supplier: list(&self.supplier),
            system: list(&self.system),
            service_area: list(&self.service_area),
            ends_after: self.ends_after.map(|d| d.0),
            ends_before: self.ends_before.map(|d| d.0),
            active_on: self.active_on.map(|d| d.0),
            hosting: values(&self.hosting),
            procurement_route: values(&self.procurement_route),
            data_access: values(&self.data_access),
            source: values(&self.source),
            min_annual_value: self.min_annual_value.clone().map(|m| m.0),
            max_annual_value: self.max_annual_value.clone().map(|m| m.0),
            words: self.q.as_deref().map(search_words).unwrap_or_default(),
            within: None,
        }
    }
}

/// Lists contracts matching `query`, within `within` (a borough, supplier or system) when nested.
pub(crate) async fn respond_with_contracts(
    req: HttpRequest,
    pool: &DbPool,
    query: ContractQuery,
    within: Option<query::Within>,
) -> Result<HttpResponse, ApiError> {
    let viewer = Viewer::Anonymous;
    let mut criteria = query.criteria();
    criteria.within = within;
    let sort = query.sort.map(|s| (s.key, s.descending));
    if respond::wants_csv(&req, query.format) {
        let (conn, filter) = db::run_holding(pool, move |conn| criteria.resolve(conn)).await?;
        return Ok(respond::csv(
            conn,
            "contracts.csv",
            Contract::csv_columns(viewer),
            move |conn, sink| {
                filter.for_each(conn, sort, |record| {
                    sink.write(&Contract::view(record, viewer))
                })?;
                Ok(())
            },
        ));
    }
    let paging = Paging::new(query.page, query.per_page);
    let (records, total) = db::run(pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        let total = filter.count(conn)?;
        let records = filter.page(conn, sort, paging.offset(), paging.limit())?;
        Ok((records, total))
    })
    .await?;
    let body = ContractList {
        items: records
            .into_iter()
            .map(|r| Contract::view(r, viewer))
            .collect(),
        meta: respond::ListMeta {
            total,
            page: paging.page,
            per_page: paging.per_page,
        },
    };
    Ok(respond::page(&req, &body, total, paging))
}

/// List contracts
///
/// Every filter of the API design; JSON pages, or every matching row as CSV.
#[utoipa::path(
    tag = "contracts",
    params(ContractQuery),
    responses(
        (status = 200, description = "A page of contracts, or all of them as CSV", content((ContractList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts")]
pub async fn list_contracts(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    query: ApiQuery<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    respond_with_contracts(req, &pool, query.0, None).await
}

/// Get a contract
#[utoipa::path(
    tag = "contracts",
    params(("id" = i64, Path, description = "The contract's id")),
    responses(
        (status = 200, description = "The contract", body = Contract,
         headers(("ETag" = String, description = "Changes whenever the representation changes"))),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{id}")]
pub async fn get_contract(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("no contract with id {:?}", id.as_str()));
    let numeric: i64 = id.parse().map_err(|_| not_found())?;
    let record = db::run(&pool, move |conn| Ok(query::find(conn, numeric)?)).await?;
    let record = record.ok_or_else(not_found)?;
    respond::single(&req, &Contract::view(record, Viewer::Anonymous))
}
