//! `/contracts`: one borough's use of one system from one supplier.

use actix_web::web::Bytes;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use diesel::{PgConnection, QueryResult};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::docs::{
    ChangeId, CreateResponses, DeleteId, DeleteResponses, GetResponses, Named, ReadErrors, ReadId,
    ReplaceResponses, UpdateResponses,
};
use super::exports::{self, ContractListBody};
use super::filters::contract_filter_query;
use super::pagination::{
    check_cursor_sort, garbled_cursor, list_page, sort_name, CountMode, Cursor, CursorToken, Page,
    PageNumber, Paged, PerPage,
};
use super::params::{ApiQuery, ContractListFormat, QueryMoney, Sort};
use super::resource::{not_found, Intent, RecordRequest, Resource};
use super::respond::{self, list_envelope};
use crate::auth::{Actor, Caller};
use crate::changelog;
use crate::db::{self, DbPool};
use crate::error::{ApiError, Problem};
use crate::forms::contract::{ContractInput, ContractPatch};
use crate::forms::{self, contract as form};
use crate::queries::contracts::{
    self as query, ContractFilter, ContractRecord, ContractSortKey, ContractWrite, SortPosition,
    SortValue, Total,
};
use crate::queries::list::SortKeyName;
use crate::representations::{self as wire};
use crate::representations::{money, Contract};

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
        /// Page number, from 1; a page may start at most 10,000 records in (page deeper with
        /// `cursor`). Not with `cursor`.
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

/// How many matches to count before estimating: past the end of the page asked for, and at
/// least [`COUNTED_AT_LEAST`], plus one to tell "exactly that many" from "more".
fn count_cap(paged: &Paged, mode: Option<CountMode>) -> Option<i64> {
    let end = match paged {
        Paged::Numbered(paging) => paging.offset() + paging.limit(),
        Paged::Cursor { per_page, .. } => i64::from(*per_page),
    };
    (mode != Some(CountMode::Exact)).then_some(end.max(COUNTED_AT_LEAST) + 1)
}

/// The `sort` parameter as written, which a cursor must be made for.
fn sort_text(sort: Option<(ContractSortKey, bool)>) -> String {
    sort_name(sort.map(|(key, descending)| (key.name(), descending)))
}

/// The token continuing a list sorted by `sort` after `last`.
pub(crate) fn cursor_after(sort: Option<(ContractSortKey, bool)>, last: &ContractRecord) -> String {
    let value = match sort.map(|(key, _)| key.value_of(&last.contract)) {
        None | Some(SortValue::Null) => serde_json::Value::Null,
        Some(SortValue::Date(date)) => date.to_string().into(),
        Some(SortValue::Money(amount)) => money(Some(amount)).into(),
        Some(SortValue::Text(text)) => text.into(),
    };
    CursorToken {
        sort: sort_text(sort),
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
    check_cursor_sort(token, &sort_text(sort))?;
    let text = token.value.as_str();
    let value = match (sort.map(|(key, _)| key), &token.value) {
        (None, serde_json::Value::Null) => SortValue::Null,
        (Some(key), serde_json::Value::Null) if key.is_nullable() => SortValue::Null,
        (Some(ContractSortKey::EndDate | ContractSortKey::StartDate), _) => text
            .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .map(SortValue::Date)
            .ok_or_else(garbled_cursor)?,
        (Some(ContractSortKey::AnnualValue), _) => text
            .and_then(|text| text.parse::<QueryMoney>().ok())
            .map(|amount| SortValue::Money(amount.0))
            .ok_or_else(garbled_cursor)?,
        (Some(ContractSortKey::Borough | ContractSortKey::Supplier), _) => text
            .filter(|text| !text.contains('\0'))
            .map(|text| SortValue::Text(text.to_owned()))
            .ok_or_else(garbled_cursor)?,
        (None, _) => return Err(garbled_cursor()),
    };
    Ok(SortPosition {
        value,
        id: token.id,
    })
}

/// Where a contract page in cursor mode resumes; None for a first page or a page by number.
pub(crate) fn contract_cursor(
    paged: &Paged,
    sort: Option<(ContractSortKey, bool)>,
) -> Result<Option<SortPosition>, ApiError> {
    paged
        .cursor()
        .map(|token| cursor_position(token, sort))
        .transpose()
}

/// The contracts of one page of `filter` in `sort` order: by number, or after `after` (one more
/// than a page, to tell whether another follows).
pub(crate) fn read_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    sort: Option<(ContractSortKey, bool)>,
    paged: &Paged,
    after: Option<&SortPosition>,
) -> QueryResult<Vec<ContractRecord>> {
    match paged {
        Paged::Numbered(paging) => filter.page(conn, sort, paging.offset(), paging.limit()),
        Paged::Cursor { .. } => filter.page_after(conn, sort, after, paged.read_limit()),
    }
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
                let names = crate::queries::service_areas::names(conn)?;
                filter.for_each(conn, sort, |record| {
                    sink.write(&Contract::view(record, viewer).row(&names))
                })?;
                Ok(())
            },
        ));
    }
    let paged = Paged::of(query.page, query.per_page, query.cursor)?;
    let after = contract_cursor(&paged, sort)?;
    let cap = count_cap(&paged, query.count);
    let read = paged.clone();
    let (mut records, total) = db::run(pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        // A page from the start or by number carries its count in the same statement.
        let from = match (&read, &after) {
            (Paged::Numbered(paging), _) => Some((paging.offset(), paging.limit())),
            (Paged::Cursor { .. }, None) => Some((0, read.read_limit())),
            (Paged::Cursor { .. }, Some(_)) => None,
        };
        if let Some((offset, limit)) = from {
            return Ok(filter.page_with_total(conn, sort, offset, limit, cap)?);
        }
        let records = read_contracts(conn, &filter, sort, &read, after.as_ref())?;
        let total = match read.total_shown_by(records.len()) {
            Some(value) => Total { value, exact: true },
            None => filter.total(conn, cap)?,
        };
        Ok((records, total))
    })
    .await?;
    let end = paged.end(total.value, total.exact, &mut records, |last| {
        cursor_after(sort, last)
    });
    let body = Page {
        items: records
            .into_iter()
            .map(|r| Contract::view(r, viewer))
            .collect(),
        meta: ContractListMeta {
            total: total.value,
            total_exact: total.exact,
            page: end.page,
            per_page: end.per_page,
            next_cursor: end.next_cursor(),
        },
    };
    Ok(list_page(&req, &body, &end.position))
}

/// Lists the contracts within the record of `R` (a borough, supplier or system) that the path's
/// `id` names, with the same filters as `/contracts`: 404 when there is no such record.
pub(crate) async fn respond_within<R: Resource>(
    req: HttpRequest,
    pool: &DbPool,
    caller: &Caller,
    query: ContractQuery,
    within: fn(String) -> query::Within,
) -> Result<HttpResponse, ApiError> {
    let id = req.match_info().query("id").to_owned();
    let key = db::run(pool, move |conn| {
        let key = R::key(conn, &id)?;
        R::current(conn, &key)?;
        Ok(key)
    })
    .await?;
    respond_with_contracts(req, pool, caller, query, Some(within(key))).await
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
        (status = 400, description = "An unknown parameter or a malformed or unknown value; `page` with `cursor`; a cursor from another sort", body = Problem, content_type = "application/problem+json"),
        ReadErrors,
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
///
/// One contract by id, with its borough, supplier, system and service areas named, its dates and
/// values, and where it came from (`source`, `source_url`). Callers with a key also see the
/// borough's assessment (satisfaction, value for money, confidence, notes). The `ETag` answers
/// `If-None-Match` with 304, and is the `If-Match` a change needs.
#[utoipa::path(
    tag = "contracts",
    params(ReadId<Contracts>),
    responses(
        GetResponses<Contracts>,
    )
)]
#[get("/contracts/{id}")]
pub async fn get_contract(record: RecordRequest) -> Result<HttpResponse, ApiError> {
    record.get::<Contracts>().await
}

/// Contracts, as the resource flow writes them: admin keys for any borough, borough keys for
/// their own.
pub struct Contracts;

impl Named for Contracts {
    const WHAT: &'static str = "contract";
    const ID: &'static str = "The contract's id";
    const ID_EXAMPLE: Option<&'static str> = None;
    const NUMERIC_ID: bool = true;

    fn schema_name() -> String {
        Contract::name().into_owned()
    }
}

/// A contract's key: its id, which the flow carries as text.
fn numeric(key: &str) -> Result<i64, ApiError> {
    key.parse().map_err(|_| not_found::<Contracts>(key))
}

impl Resource for Contracts {
    const TABLE: &'static str = "contracts";
    const PATH: &'static str = "/api/v1/contracts";
    const LOG: changelog::Resource = changelog::Resource::Contracts;
    type Write = ContractWrite;

    fn writer(caller: &Caller) -> Result<Actor, ApiError> {
        caller.require_contract_writer()
    }

    fn may_change(caller: &Caller, current: &Value) -> Result<(), ApiError> {
        caller.check_borough(current["borough_id"].as_str().unwrap_or_default())
    }

    fn parse_id(id: &str) -> Result<String, ApiError> {
        numeric(id).map(|id| id.to_string())
    }

    fn stored(conn: &mut PgConnection, key: &str) -> Result<Option<Value>, ApiError> {
        Ok(wire::contract::current(conn, numeric(key)?)?)
    }

    fn view(
        conn: &mut PgConnection,
        key: &str,
        caller: &Caller,
    ) -> Result<Option<Value>, ApiError> {
        let record = query::find(conn, numeric(key)?)?;
        Ok(record.map(|record| wire::to_json(&Contract::view(record, caller.sees_assessments()))))
    }

    fn check(
        conn: &mut PgConnection,
        caller: &Caller,
        body: Map<String, Value>,
        _: &Intent,
    ) -> Result<ContractWrite, ApiError> {
        let input = form::check(conn, forms::read(body)?)?;
        caller.check_borough(&input.contract.borough_id)?;
        Ok(input)
    }

    fn insert(conn: &mut PgConnection, write: &ContractWrite) -> Result<String, ApiError> {
        Ok(query::insert(conn, write)?.to_string())
    }

    fn update(conn: &mut PgConnection, key: &str, write: &ContractWrite) -> Result<(), ApiError> {
        Ok(query::update(conn, numeric(key)?, write)?)
    }

    fn delete(conn: &mut PgConnection, key: &str) -> Result<(), ApiError> {
        Ok(query::delete(conn, numeric(key)?)?)
    }
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
        (status = 403, description = "A reader key, or another borough's key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A contract of this borough with this source and source_reference exists", body = Problem, content_type = "application/problem+json"),
        CreateResponses<Contracts>,
    )
)]
#[post("/contracts")]
pub async fn create_contract(record: RecordRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    record.create::<Contracts>(body).await
}

/// Replace a contract
///
/// Every field is replaced: a field left out becomes null or its default. Send `If-Match` with
/// the ETag you read to refuse the write if someone else changed the contract meanwhile.
#[utoipa::path(
    tag = "contracts",
    security(("bearer" = [])),
    params(ChangeId<Contracts>),
    request_body(content = ContractInput, description = "The whole contract", content_type = "application/json"),
    responses(
        (status = 403, description = "A reader key, or a key of another borough (including moving the contract to one)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A contract of this borough with this source and source_reference exists", body = Problem, content_type = "application/problem+json"),
        ReplaceResponses<Contracts>,
    )
)]
#[put("/contracts/{id}")]
pub async fn replace_contract(
    record: RecordRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    record.change::<Contracts>(body, false).await
}

/// Update a contract
///
/// A JSON merge patch: the fields sent replace the stored ones (null clears one); the rest stay.
#[utoipa::path(
    tag = "contracts",
    security(("bearer" = [])),
    params(ChangeId<Contracts>),
    request_body(content = ContractPatch, description = "The fields to change", content_type = "application/merge-patch+json",
                 example = json!({"end_date": "2030-03-31", "satisfaction": 3})),
    responses(
        (status = 403, description = "A reader key, or a key of another borough (including moving the contract to one)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A contract of this borough with this source and source_reference exists", body = Problem, content_type = "application/problem+json"),
        UpdateResponses<Contracts>,
    )
)]
#[patch("/contracts/{id}")]
pub async fn update_contract(record: RecordRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    record.change::<Contracts>(body, true).await
}

/// Delete a contract
///
/// Removes a contract (an admin key, or the key of the contract's borough), with the `ETag` of the
/// version being deleted as `If-Match` (428 without it, 412 when it is stale). Answers 204; the
/// deletion is logged in the change feed, so watches and synced copies hear of it.
#[utoipa::path(
    tag = "contracts",
    security(("bearer" = [])),
    params(DeleteId<Contracts>),
    responses(
        (status = 403, description = "A reader key, or a key of another borough", body = Problem, content_type = "application/problem+json"),
        DeleteResponses<Contracts>,
    )
)]
#[delete("/contracts/{id}")]
pub async fn delete_contract(record: RecordRequest) -> Result<HttpResponse, ApiError> {
    record.delete::<Contracts>().await
}
