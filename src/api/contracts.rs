//! `/contracts`: one borough's use of one system from one supplier.

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::exports::{self, ContractListBody};
use super::filters::contract_filter_query;
use super::input::{json_object, merge, Fields};
use super::params::{
    ApiQuery, ContractListFormat, CountMode, Cursor, CursorToken, NoQuery, PageNumber, Paging,
    PerPage, QueryMoney, Sort,
};
use super::respond::{self, list_envelope, PagePosition};
use super::writes::{
    as_object, check_body_id, merge_patch_schema, written, IfMatch, Target, Write,
};
use crate::auth::Caller;
use crate::db::{self, DbPool};
use crate::error::{ApiError, FieldError, Problem};
use crate::models::NewContract;
use crate::models::{DataAccess, Hosting, ProcurementRoute, Source};
use crate::queries::changes::Resource;
use crate::queries::contracts::{
    self as query, ContractRecord, ContractSortKey, ContractWrite, SortPosition, SortValue, Total,
};

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

/// Money as an exact string with pence: always two decimal places (`"0.00"`, never `"0"`),
/// never in exponent notation.
pub fn money(value: Option<bigdecimal::BigDecimal>) -> Option<String> {
    value.map(|v| {
        // The digits of the amount in pence; `BigDecimal`'s own Display drops the scale of zero.
        let (pence, _) = v
            .with_scale_round(2, bigdecimal::RoundingMode::HalfEven)
            .into_bigint_and_exponent();
        let sign = if pence.sign() == bigdecimal::num_bigint::Sign::Minus {
            "-"
        } else {
            ""
        };
        let digits = format!("{:0>3}", pence.magnitude());
        let (pounds, pence) = digits.split_at(digits.len() - 2);
        format!("{sign}{pounds}.{pence}")
    })
}

impl Contract {
    /// The contract as a caller sees it: assessment fields only for callers with a key.
    pub fn view(record: ContractRecord, sees_assessments: bool) -> Contract {
        let c = record.contract;
        let assessment = sees_assessments.then_some(Assessment {
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
    pub fn csv_columns(sees_assessments: bool) -> Vec<&'static str> {
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
            .filter(|c| sees_assessments || !ASSESSMENT_FIELDS.contains(c))
            .collect()
    }
}

/// Paging facts of a contract list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractListMeta {
    /// Every matching contract, over all pages: an exact count when `total_exact` is true,
    /// otherwise PostgreSQL's estimate, never less than the number known to match.
    #[schema(example = 612)]
    pub total: i64,
    /// Whether `total` was counted. By default up to 1,000 matches (or to the end of the page
    /// asked for, if further) are counted and a larger total is an estimate; `count=exact`
    /// always counts.
    #[schema(example = true)]
    pub total_exact: bool,
    /// This page, from 1; absent in cursor mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 1, nullable = false)]
    pub page: Option<u32>,
    /// Records per page.
    #[schema(example = 50)]
    pub per_page: u32,
    /// In cursor mode only: the `cursor` of the next page, or null on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "WyJlbmRfZGF0ZSIsIjIwMjctMDMtMzEiLDQyXQ")]
    pub next_cursor: Option<Option<String>>,
}

list_envelope!(ContractList, Contract, "contracts", ContractListMeta);

contract_filter_query! {
    /// Contract filters, sort and paging. Multi-value filters take comma-separated values.
    ContractQuery {
        /// Sort key, `-` prefix for descending; ties are broken by id.
        #[param(value_type = Option<String>, pattern = r"^-?(end_date|start_date|annual_value_gbp|borough|supplier)$")]
        sort: Option<Sort<ContractSortKey>>,
        /// Page number, from 1. Not with `cursor`.
        #[param(value_type = Option<u32>, minimum = 1, maximum = 1000000)]
        page: Option<PageNumber>,
        /// Records per page, 1 to 500 (default 50).
        #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
        per_page: Option<PerPage>,
        /// Keyset paging, for walking a long list: empty (`cursor=`) for the first page, then
        /// each page's `meta.next_cursor` (an opaque token) for the next; the `Link` header's
        /// `next` carries it too. A deep page costs about what an early one does, where `page`
        /// reads and skips every record before it. Keep the same `sort`; not with `page`; ignored by
        /// CSV and OCDS, which hold every matching record.
        #[param(value_type = Option<String>, example = "")]
        cursor: Option<Cursor>,
        /// How `meta.total` is counted: `auto` (default) counts up to 1,000 matches (or to the
        /// end of the page asked for) and estimates beyond; `exact` counts every match, which
        /// reads every matching contract (hundreds of milliseconds for a broad filter over a
        /// million).
        #[param(value_type = Option<CountMode>, inline)]
        count: Option<CountMode>,
        /// `csv` for every matching row as CSV (the same as `Accept: text/csv`); `ocds` for every
        /// matching contract as an OCDS 1.1 release package.
        #[param(value_type = Option<ContractListFormat>, inline)]
        format: Option<ContractListFormat>,
    }
}

/// Matches counted before `meta.total` becomes an estimate.
const COUNTED_AT_LEAST: i64 = 1000;

/// How a JSON contract list is paged.
#[derive(Debug, Clone)]
enum Paged {
    /// By page number.
    Numbered(Paging),
    /// By keyset cursor: the page after `after` (the first page when None).
    Cursor {
        after: Option<SortPosition>,
        per_page: u32,
    },
}

impl Paged {
    /// The paging a query asks for; a 400 for `page` with `cursor`, or a cursor that is not
    /// for this sort.
    fn of(query: &ContractQuery, sort: Option<(ContractSortKey, bool)>) -> Result<Paged, ApiError> {
        let paging = Paging::new(query.page, query.per_page);
        let Some(Cursor(token)) = &query.cursor else {
            return Ok(Paged::Numbered(paging));
        };
        if query.page.is_some() {
            return Err(ApiError::invalid_params(vec![
                FieldError::new(
                    "page",
                    "page cannot be combined with cursor; use one or the other",
                ),
                FieldError::new(
                    "cursor",
                    "cursor cannot be combined with page; use one or the other",
                ),
            ]));
        }
        let after = token
            .as_ref()
            .map(|token| cursor_position(token, sort))
            .transpose()?;
        Ok(Paged::Cursor {
            after,
            per_page: paging.per_page,
        })
    }

    /// The total, when a page of `rows` records shows it: a short page that starts the list, or
    /// any short page with records on it, ends the list.
    fn total_shown_by(&self, rows: usize) -> Option<i64> {
        let rows = rows as i64;
        match self {
            Paged::Numbered(paging) => (rows < paging.limit()
                && (rows > 0 || paging.offset() == 0))
                .then_some(paging.offset() + rows),
            Paged::Cursor {
                after: None,
                per_page,
            } => (rows <= i64::from(*per_page)).then_some(rows),
            Paged::Cursor { .. } => None,
        }
    }

    /// The meta and `Link` position of a page read with this paging; in cursor mode, drops the
    /// one record read past the page, which only tells that another page follows.
    fn describe(
        self,
        total: Total,
        records: &mut Vec<ContractRecord>,
        sort: Option<(ContractSortKey, bool)>,
    ) -> (ContractListMeta, PagePosition) {
        match self {
            Paged::Numbered(paging) => (
                ContractListMeta {
                    total: total.value,
                    total_exact: total.exact,
                    page: Some(paging.page),
                    per_page: paging.per_page,
                    next_cursor: None,
                },
                PagePosition::Numbered {
                    paging,
                    total: total.value,
                    exact: total.exact,
                },
            ),
            Paged::Cursor { per_page, .. } => {
                let more = records.len() > per_page as usize;
                records.truncate(per_page as usize);
                let next = records
                    .last()
                    .filter(|_| more)
                    .map(|last| cursor_after(sort, last));
                (
                    ContractListMeta {
                        total: total.value,
                        total_exact: total.exact,
                        page: None,
                        per_page,
                        next_cursor: Some(next.clone()),
                    },
                    PagePosition::Cursor { next },
                )
            }
        }
    }

    /// How many matches to count before estimating: past the end of this page, and at least
    /// [`COUNTED_AT_LEAST`], plus one to tell "exactly that many" from "more".
    fn count_cap(&self, mode: Option<CountMode>) -> Option<i64> {
        let end = match self {
            Paged::Numbered(paging) => paging.offset() + paging.limit(),
            Paged::Cursor { per_page, .. } => i64::from(*per_page),
        };
        (mode != Some(CountMode::Exact)).then_some(end.max(COUNTED_AT_LEAST) + 1)
    }
}

/// The `sort` a cursor is made for, as the caller wrote it; `id` for the default order.
fn sort_name(sort: Option<(ContractSortKey, bool)>) -> String {
    match sort {
        None => "id".to_owned(),
        Some((key, false)) => key.name().to_owned(),
        Some((key, true)) => format!("-{}", key.name()),
    }
}

/// The token continuing a list sorted by `sort` after `last`.
fn cursor_after(sort: Option<(ContractSortKey, bool)>, last: &ContractRecord) -> String {
    let value = match sort.map(|(key, _)| key.value_of(&last.contract)) {
        None | Some(SortValue::Null) => serde_json::Value::Null,
        Some(SortValue::Date(date)) => date.to_string().into(),
        Some(SortValue::Money(amount)) => money(Some(amount)).into(),
        Some(SortValue::Text(text)) => text.into(),
    };
    CursorToken {
        sort: sort_name(sort),
        value,
        id: last.contract.id,
    }
    .encode()
}

/// Where a cursor resumes a list sorted by `sort`; a 400 naming `cursor` when it was made for
/// another sort or holds a value that sort cannot have.
fn cursor_position(
    token: &CursorToken,
    sort: Option<(ContractSortKey, bool)>,
) -> Result<SortPosition, ApiError> {
    let expected = sort_name(sort);
    if token.sort != expected {
        let made_for = |name: &str| match name {
            "id" => "the default order (no sort)".to_owned(),
            name => format!("sort={name}"),
        };
        return Err(ApiError::invalid_param(
            "cursor",
            format!(
                "this cursor was made for {}, not {}; keep the sort of the page it came from, \
                 or start again with an empty cursor",
                made_for(&token.sort),
                made_for(&expected)
            ),
        ));
    }
    let garbled = || {
        ApiError::invalid_param(
            "cursor",
            "not a cursor this list gave out; pass meta.next_cursor of the previous page \
             unchanged, or an empty cursor for the first page",
        )
    };
    let text = token.value.as_str();
    let value = match (sort.map(|(key, _)| key), &token.value) {
        (None, serde_json::Value::Null) => SortValue::Null,
        (Some(key), serde_json::Value::Null) if key.is_nullable() => SortValue::Null,
        (Some(ContractSortKey::EndDate | ContractSortKey::StartDate), _) => text
            .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .map(SortValue::Date)
            .ok_or_else(garbled)?,
        (Some(ContractSortKey::AnnualValue), _) => text
            .and_then(|text| text.parse::<QueryMoney>().ok())
            .map(|amount| SortValue::Money(amount.0))
            .ok_or_else(garbled)?,
        (Some(ContractSortKey::Borough | ContractSortKey::Supplier), _) => text
            .map(|text| SortValue::Text(text.to_owned()))
            .ok_or_else(garbled)?,
        (None, _) => return Err(garbled()),
    };
    Ok(SortPosition {
        value,
        id: token.id,
    })
}

/// Lists contracts matching `query`, within `within` (a borough, supplier or system) when nested.
pub(crate) async fn respond_with_contracts(
    req: HttpRequest,
    pool: &DbPool,
    caller: &Caller,
    query: ContractQuery,
    within: Option<query::Within>,
) -> Result<HttpResponse, ApiError> {
    let viewer = caller.sees_assessments();
    let mut criteria = query.criteria();
    criteria.within = within;
    let sort = query.sort.map(|s| (s.key, s.descending));
    if query.format == Some(ContractListFormat::Ocds) {
        return exports::ocds_package(&req, pool, criteria, sort).await;
    }
    let format = query.format.and_then(ContractListFormat::as_list_format);
    if respond::wants_csv(&req, format) {
        let (conn, filter) = db::run_holding(pool, move |conn| Ok(criteria.resolve(conn)?)).await?;
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
    let paged = Paged::of(&query, sort)?;
    let cap = paged.count_cap(query.count);
    let read = paged.clone();
    let (mut records, total) = db::run(pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        let records = match &read {
            Paged::Numbered(paging) => filter.page(conn, sort, paging.offset(), paging.limit())?,
            // One more than a page, to know whether another follows.
            Paged::Cursor { after, per_page } => {
                filter.page_after(conn, sort, after.as_ref(), i64::from(*per_page) + 1)?
            }
        };
        let total = match read.total_shown_by(records.len()) {
            Some(value) => Total { value, exact: true },
            None => filter.total(conn, cap)?,
        };
        Ok((records, total))
    })
    .await?;
    let (meta, position) = paged.describe(total, &mut records, sort);
    let body = ContractList {
        items: records
            .into_iter()
            .map(|r| Contract::view(r, viewer))
            .collect(),
        meta,
    };
    Ok(respond::list_page(&req, &body, &position))
}

/// List contracts
///
/// Every filter of the API design; JSON pages, or every matching row as CSV or as an OCDS
/// release package.
#[utoipa::path(
    tag = "contracts",
    params(ContractQuery),
    responses(
        (status = 200, description = "A page of contracts, or all of them as CSV or (`format=ocds`) as an OCDS release package", content((ContractListBody = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links: by page number `first`, `prev`, `next` and `last` (no `last` when `meta.total_exact` is false); in cursor mode `first` (`cursor=`) and `next`"))),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "An unknown parameter or a malformed or unknown value; `page` with `cursor`; a cursor from another sort", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts")]
pub async fn list_contracts(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    query: ApiQuery<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    respond_with_contracts(req, &pool, &caller, query.0, None).await
}

/// Get a contract
#[utoipa::path(
    tag = "contracts",
    params(("id" = i64, Path, description = "The contract's id")),
    responses(
        (status = 200, description = "The contract", body = Contract,
         headers(("ETag" = String, description = "Changes whenever the representation changes"))),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{id}")]
pub async fn get_contract(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("no contract with id {:?}", id.as_str()));
    let numeric: i64 = id.parse().map_err(|_| not_found())?;
    let record = db::run(&pool, move |conn| Ok(query::find(conn, numeric)?)).await?;
    let record = record.ok_or_else(not_found)?;
    respond::single(&req, &Contract::view(record, caller.sees_assessments()))
}

/// A contract as written with `POST`, `PUT` and `PATCH`. Read-only fields (`id`, names,
/// timestamps, `version`) may be sent back as read and are ignored; any other field is an error.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "borough_id": "camden",
    "supplier_id": "civica",
    "system_id": "civica-openrevenues",
    "service_area_ids": ["council-tax", "business-rates"],
    "title": "Revenues and benefits system licence, support and maintenance",
    "start_date": "2024-04-01",
    "end_date": "2029-03-31",
    "max_end_date": "2031-03-31",
    "annual_value_gbp": "185000.00",
    "total_value_gbp": "925000.00",
    "hosting": "supplier_hosted",
    "procurement_route": "framework",
    "framework_name": "G-Cloud 14",
    "data_access": "included",
    "source": "manual",
    "satisfaction": 4,
    "value_for_money": 3,
    "support_confidence": 4,
    "development_confidence": 2,
    "notes": "Renewal under review with neighbouring boroughs."
}))]
pub struct ContractInput {
    /// The borough, by slug or GSS code. A borough key writes its own borough's contracts only.
    pub borough_id: String,
    /// The supplier holding the contract.
    pub supplier_id: String,
    pub system_id: Option<String>,
    /// One or more service areas (areas, not groups).
    pub service_area_ids: Vec<String>,
    pub title: String,
    pub start_date: Option<NaiveDate>,
    /// On or after start_date.
    pub end_date: Option<NaiveDate>,
    /// On or after end_date.
    pub max_end_date: Option<NaiveDate>,
    /// Pounds, at most two decimal places, not negative: "185000.00" or 185000.
    #[schema(value_type = Option<MoneyInput>, example = "185000.00")]
    pub annual_value_gbp: Option<String>,
    /// Pounds over the whole contract, as annual_value_gbp.
    #[schema(value_type = Option<MoneyInput>, example = "925000.00")]
    pub total_value_gbp: Option<String>,
    /// Default `unknown`.
    pub hosting: Option<Hosting>,
    /// Default `unknown`.
    pub procurement_route: Option<ProcurementRoute>,
    pub framework_name: Option<String>,
    /// Default `unknown`.
    pub data_access: Option<DataAccess>,
    /// Default `manual`.
    pub source: Option<Source>,
    pub source_reference: Option<String>,
    /// An http or https URL.
    pub source_url: Option<String>,
    #[schema(minimum = 1, maximum = 5)]
    pub satisfaction: Option<i16>,
    #[schema(minimum = 1, maximum = 5)]
    pub value_for_money: Option<i16>,
    #[schema(minimum = 1, maximum = 5)]
    pub support_confidence: Option<i16>,
    #[schema(minimum = 1, maximum = 5)]
    pub development_confidence: Option<i16>,
    pub notes: Option<String>,
}

merge_patch_schema!(ContractPatch, ContractInput, "a contract");

/// An amount of money as written: a string of pounds with at most two decimal places
/// (`"185000.00"`, `"185000"`), or a JSON number (`185000`); never negative.
pub struct MoneyInput;

impl utoipa::PartialSchema for MoneyInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(r"^\d+(\.\d{1,2})?$"))
                    .examples([serde_json::json!("185000.00")]),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .minimum(Some(0))
                    .maximum(Some(999_999_999_999.99)),
            )
            .description(Some(
                "Pounds: a string with at most two decimal places, or a number; not negative, \
                 at most 999999999999.99.",
            ))
            .into()
    }
}

impl ToSchema for MoneyInput {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("MoneyInput")
    }
}

const READ_ONLY: &[&str] = &[
    "id",
    "borough_name",
    "supplier_name",
    "system_name",
    "created_at",
    "updated_at",
    "version",
];

/// Reads and checks a contract body: every failing field in one 422.
fn contract_input(
    conn: &mut diesel::PgConnection,
    body: serde_json::Map<String, serde_json::Value>,
) -> Result<ContractWrite, ApiError> {
    let mut f = Fields::new(body, READ_ONLY);
    let borough = f.required_text("borough_id");
    let supplier_id = f.required_slug("supplier_id");
    let system_id = f.optional_slug("system_id");
    let service_area_ids = f.slug_list("service_area_ids", true);
    let title = f.required_text("title");
    let start_date = f.optional_date("start_date");
    let end_date = f.optional_date("end_date");
    let max_end_date = f.optional_date("max_end_date");
    let annual_value_gbp = f.optional_money("annual_value_gbp");
    let total_value_gbp = f.optional_money("total_value_gbp");
    let hosting = f.choice("hosting", Some(Hosting::Unknown));
    let procurement_route = f.choice("procurement_route", Some(ProcurementRoute::Unknown));
    let framework_name = f.optional_text("framework_name");
    let data_access = f.choice("data_access", Some(DataAccess::Unknown));
    let source = f.choice("source", Some(Source::Manual));
    let source_reference = f.optional_text("source_reference");
    let source_url = f.optional_url("source_url");
    let satisfaction = f.optional_rating("satisfaction");
    let value_for_money = f.optional_rating("value_for_money");
    let support_confidence = f.optional_rating("support_confidence");
    let development_confidence = f.optional_rating("development_confidence");
    let notes = f.optional_text("notes");

    if let (Some(start), Some(end)) = (start_date, end_date) {
        if end < start {
            f.error("end_date", format!("{end} is before start_date {start}"));
        }
    }
    if let (Some(end), Some(max_end)) = (end_date, max_end_date) {
        if max_end < end {
            f.error(
                "max_end_date",
                format!("{max_end} is before end_date {end}"),
            );
        }
    } else if let (Some(start), Some(max_end)) = (start_date, max_end_date) {
        if max_end < start {
            f.error(
                "max_end_date",
                format!("{max_end} is before start_date {start}"),
            );
        }
    }
    let borough_id = match &borough {
        Some(given) => {
            let slug = query::borough_slug(conn, given)?;
            if slug.is_none() {
                f.error("borough_id", format!("unknown borough {given:?}"));
            }
            slug
        }
        None => None,
    };
    if let Some(id) = &supplier_id {
        query::check_reference(
            conn,
            "suppliers",
            "supplier_id",
            "supplier",
            id,
            &mut f.errors,
        )?;
    }
    if let Some(id) = &system_id {
        query::check_reference(conn, "systems", "system_id", "system", id, &mut f.errors)?;
    }
    query::check_areas(conn, "service_area_ids", &service_area_ids, &mut f.errors)?;
    f.finish()?;

    // Every field parsed when finish() found no error.
    let missing = || ApiError::Internal("a checked contract field is missing".into());
    Ok(ContractWrite {
        contract: NewContract {
            borough_id: borough_id.ok_or_else(missing)?,
            supplier_id: supplier_id.ok_or_else(missing)?,
            system_id,
            title: title.ok_or_else(missing)?,
            start_date,
            end_date,
            max_end_date,
            annual_value_gbp,
            total_value_gbp,
            hosting: hosting.ok_or_else(missing)?.as_str().to_owned(),
            procurement_route: procurement_route.ok_or_else(missing)?.as_str().to_owned(),
            framework_name,
            data_access: data_access.ok_or_else(missing)?.as_str().to_owned(),
            source: source.ok_or_else(missing)?.as_str().to_owned(),
            source_reference,
            source_url,
            satisfaction,
            value_for_money,
            support_confidence,
            development_confidence,
            notes,
        },
        service_area_ids,
    })
}

/// The full representation (assessments included) that writes return and log.
pub(crate) fn current(
    conn: &mut diesel::PgConnection,
    id: i64,
) -> Result<serde_json::Value, ApiError> {
    let record = query::find(conn, id)?
        .ok_or_else(|| ApiError::NotFound(format!("no contract with id {id}")))?;
    serde_json::to_value(Contract::view(record, true))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn contract_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("no contract with id {id:?}")))
}

/// Create a contract
///
/// With an admin key, for any borough; with a borough key, for that borough only. Returns the
/// contract with its `ETag`, and its address in `Location`.
#[utoipa::path(
    tag = "contracts",
    security(("bearer" = [])),
    request_body(content = ContractInput, description = "The new contract", content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Contract,
         headers(("ETag" = String, description = "The new representation's ETag"), ("Location" = String, description = "The contract's address"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A reader key, or another borough's key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A contract with this source and source_reference exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/contracts")]
pub async fn create_contract(
    pool: web::Data<DbPool>,
    caller: Caller,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.require_contract_writer()?;
    let body = json_object(&body)?;
    let (id, after) = db::run(&pool, move |conn| {
        let write = Write {
            actor: &actor,
            resource: Resource::Contracts,
            if_match: &IfMatch::default(),
        };
        write.create(conn, |conn| {
            let input = contract_input(conn, body)?;
            caller.check_borough(&input.contract.borough_id)?;
            let id = query::insert(conn, &input)?;
            Ok((id.to_string(), current(conn, id)?))
        })
    })
    .await?;
    Ok(written(
        StatusCode::CREATED,
        Some(format!("/api/v1/contracts/{id}")),
        &after,
    ))
}

async fn change_contract(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: String,
    body: Bytes,
    partial: bool,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.require_contract_writer()?;
    let numeric = contract_id(&id)?;
    let body = json_object(&body)?;
    check_body_id(&body, &id)?;
    let if_match = IfMatch::from_request(&req);
    let after = db::run(&pool, move |conn| {
        let write = Write {
            actor: &actor,
            resource: Resource::Contracts,
            if_match: &if_match,
        };
        let target = Target {
            table: "contracts",
            what: "contract",
            id: &id,
        };
        write.modify(
            conn,
            target,
            |conn| current(conn, numeric),
            |before| caller.check_borough(before["borough_id"].as_str().unwrap_or_default()),
            |conn, before| {
                let fields = if partial {
                    merge(as_object(before.clone()), body)
                } else {
                    body
                };
                let input = contract_input(conn, fields)?;
                caller.check_borough(&input.contract.borough_id)?;
                query::update(conn, numeric, &input)?;
                Ok(Some(current(conn, numeric)?))
            },
        )
    })
    .await?;
    let after = after.ok_or_else(|| ApiError::Internal("an update returned nothing".into()))?;
    Ok(written(StatusCode::OK, None, &after))
}

/// Replace a contract
///
/// Every field is replaced: a field left out becomes null or its default. Send `If-Match` with
/// the ETag you read to refuse the write if someone else changed the contract meanwhile.
#[utoipa::path(
    tag = "contracts",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The contract's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; 412 when it is no longer current"),
    ),
    request_body(content = ContractInput, description = "The whole contract", content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced", body = Contract,
         headers(("ETag" = String, description = "The new representation's ETag"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A reader key, or a key of another borough (including moving the contract to one)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A contract with this source and source_reference exists", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/contracts/{id}")]
pub async fn replace_contract(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    change_contract(req, pool, caller, id.into_inner(), body, false).await
}

/// Update a contract
///
/// A JSON merge patch: the fields sent replace the stored ones (null clears one); the rest stay.
#[utoipa::path(
    tag = "contracts",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The contract's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; 412 when it is no longer current"),
    ),
    request_body(content = ContractPatch, description = "The fields to change", content_type = "application/merge-patch+json",
                 example = json!({"end_date": "2030-03-31", "satisfaction": 3})),
    responses(
        (status = 200, description = "Updated", body = Contract,
         headers(("ETag" = String, description = "The new representation's ETag"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A reader key, or a key of another borough (including moving the contract to one)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A contract with this source and source_reference exists", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/contracts/{id}")]
pub async fn update_contract(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    change_contract(req, pool, caller, id.into_inner(), body, true).await
}

/// Delete a contract
#[utoipa::path(
    tag = "contracts",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The contract's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the deletion is based on; 412 when it is no longer current"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A reader key, or a key of another borough", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/contracts/{id}")]
pub async fn delete_contract(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.require_contract_writer()?;
    let id = id.into_inner();
    let numeric = contract_id(&id)?;
    let if_match = IfMatch::from_request(&req);
    db::run(&pool, move |conn| {
        let write = Write {
            actor: &actor,
            resource: Resource::Contracts,
            if_match: &if_match,
        };
        let target = Target {
            table: "contracts",
            what: "contract",
            id: &id,
        };
        write.modify(
            conn,
            target,
            |conn| current(conn, numeric),
            |before| caller.check_borough(before["borough_id"].as_str().unwrap_or_default()),
            |conn, _| {
                query::delete(conn, numeric)?;
                Ok(None)
            },
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn shown(text: &str) -> String {
        money(Some(bigdecimal::BigDecimal::from_str(text).unwrap())).unwrap()
    }

    #[test]
    fn money_always_has_pence() {
        assert_eq!(shown("0"), "0.00");
        assert_eq!(shown("0.00"), "0.00");
        assert_eq!(shown("0.5"), "0.50");
        assert_eq!(shown("0.01"), "0.01");
        assert_eq!(shown("7"), "7.00");
        assert_eq!(shown("125000"), "125000.00");
        assert_eq!(shown("1234.565"), "1234.56");
        assert_eq!(shown("999999999999.99"), "999999999999.99");
        assert_eq!(shown("100000000000000000000"), "100000000000000000000.00");
        assert_eq!(shown("-12.3"), "-12.30");
        assert_eq!(money(None), None);
    }
}
