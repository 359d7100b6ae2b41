//! `/insights`: the four uses of the data, one request each, over the contracts the standard
//! contract filters select. Per-borough assessment figures are shown only to callers with a key;
//! aggregates over three or more boroughs are public.
//!
//! The HTTP edge only: parameters, one call into the query layer, one into `crate::insights`
//! for the analysis, and the response as JSON or CSV.

use std::collections::BTreeMap;

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, Utc};
use diesel::{PgConnection, QueryResult};
use serde::{Deserialize, Serialize};

use super::boroughs::Boroughs;
use super::contracts::{contract_cursor, cursor_after, read_contracts};
use super::docs::{BadQuery, Missing, ReadErrors};
use super::filters::contract_filter_query;
use super::pagination::{self, Cursor, PageEnd, PageNumber, Paged, PerPage};
use super::params::{ApiQuery, CommaList, ListFormat};
use super::respond;
use super::stream;
use super::suppliers::Suppliers;
use crate::auth::Caller;
use crate::db::{self, DbPool};
use crate::error::{ApiError, Problem};
use crate::insights::data_access::{self as access, DataAccessInsight};
use crate::insights::estate::{self as matrix, Estate, EstateLevel, EstateMeta};
use crate::insights::expertise::{self as know_how, AskedSystem, Expertise};

/// The most systems one expertise request asks about.
const MAX_EXPERTISE_SYSTEMS: usize = 20;
use crate::insights::expiry_timeline::{self as expiry, ExpiryTimeline, Interval};
use crate::insights::footprint::Footprint;
use crate::insights::joint_procurement::{
    group_contract, Group, GroupBy, Grouper, JointProcurement, JointProcurementGroup,
    JointProcurementMeta,
};
use crate::insights::market_share::{self as shares, MarketShare};
use crate::insights::opportunities::{self as window, Opportunities, OpportunitiesMeta};
use crate::insights::params::{ConfidenceLevel, SmallCount, WindowMonths};
use crate::insights::peers::{self as peer, Peers};
use crate::insights::summary::{self as headline, Summary};
use crate::insights::vendor_satisfaction::{self as satisfaction, VendorSatisfaction};
use crate::queries::contracts::{ContractCriteria, ContractFilter, ContractSortKey, Within};
use crate::queries::insights as query;
use crate::queries::rollups::Shortcut;
use crate::representations::Contract;

/// The matching contracts counted by source, which every insight answers with.
type Sources = BTreeMap<String, i64>;

/// Resolves the contract filters and reads with `read`, off the async workers; with what was
/// read, the matching contracts counted by source when `counted` (a CSV answer has no place for
/// them, so it does not pay for the count).
async fn filtered<T: Send + 'static>(
    pool: &DbPool,
    counted: bool,
    criteria: ContractCriteria,
    read: impl FnOnce(&mut PgConnection, &ContractFilter) -> QueryResult<T> + Send + 'static,
) -> Result<(T, Sources), ApiError> {
    db::run(pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        let answer = read(conn, &filter)?;
        let sources = match counted {
            true => query::contracts_by_source(conn, &filter)?,
            false => Sources::new(),
        };
        Ok((answer, sources))
    })
    .await
}

/// `rows` as a CSV download when the caller asks for CSV (by `format` or `Accept`), else `body`.
fn csv_or_json<T: Serialize, B: Serialize>(
    req: &HttpRequest,
    format: Option<ListFormat>,
    (filename, columns): (&str, &[&str]),
    rows: &[T],
    body: &B,
) -> Result<HttpResponse, ApiError> {
    if respond::wants_csv(req, format) {
        return stream::csv_table(filename, columns, rows);
    }
    Ok(HttpResponse::Ok().json(body))
}

// ---------------------------------------------------------------------------------------------
// 1. Joint procurement

contract_filter_query! {
    /// Joint-procurement parameters and the contract filters.
    JointProcurementQuery {
        /// How far after a group's first end date a contract may end and still join it (default 12).
        #[param(value_type = Option<u32>, minimum = 1, maximum = 120)]
        window_months: Option<WindowMonths>,
        /// Groups with fewer distinct boroughs are dropped (default 2).
        #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
        min_boroughs: Option<SmallCount>,
        /// `service_area` (default), or `supplier` for one supplier within one service area.
        #[param(value_type = Option<GroupBy>)]
        group_by: Option<GroupBy>,
        /// `contracts` to list each group's contracts in it; `ended` to keep the groups whose
        /// contracts have all ended (left out by default).
        #[param(value_type = Option<Vec<GroupInclude>>, style = Form, explode = false, example = "contracts")]
        include: Option<CommaList<GroupInclude>>,
        /// Groups per page, 1 to 500 (default 50).
        #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
        per_page: Option<PerPage>,
        /// `meta.next_cursor` of the previous page; empty or absent for the first.
        #[param(value_type = Option<String>)]
        cursor: Option<Cursor<String>>,
        /// `csv` for every group (not a page) as CSV, one row each.
        #[param(value_type = Option<ListFormat>)]
        format: Option<ListFormat>,
    }
}

/// What a joint-procurement answer may add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupInclude {
    /// Each group's contracts, in the group.
    Contracts,
    /// The groups whose contracts have all ended.
    Ended,
}

impl std::str::FromStr for GroupInclude {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value.trim() {
            "contracts" => Ok(GroupInclude::Contracts),
            "ended" => Ok(GroupInclude::Ended),
            other => Err(format!("expected contracts or ended, got {other:?}")),
        }
    }
}

/// The parameters that shape the groups rather than select contracts: left out of a group's
/// link to its contracts.
const GROUPING_PARAMS: &[&str] = &[
    "window_months",
    "min_boroughs",
    "group_by",
    "include",
    "per_page",
    "cursor",
    "format",
    "_",
];

/// A group as a CSV row.
#[derive(Debug, Serialize)]
struct GroupRow<'a> {
    service_area_id: &'a str,
    supplier_id: Option<&'a str>,
    first_end_date: NaiveDate,
    last_end_date: NaiveDate,
    borough_ids: String,
    borough_count: usize,
    contract_count: i64,
    total_annual_value_gbp: &'a str,
    contracts_url: &'a str,
}

impl GroupRow<'_> {
    fn of(group: &JointProcurementGroup) -> GroupRow<'_> {
        GroupRow {
            service_area_id: &group.service_area_id,
            supplier_id: group.supplier_id.as_deref(),
            first_end_date: group.first_end_date,
            last_end_date: group.last_end_date,
            borough_ids: group.borough_ids.join("|"),
            borough_count: group.borough_ids.len(),
            contract_count: group.contract_count,
            total_annual_value_gbp: &group.total_annual_value_gbp,
            contracts_url: &group.contracts_url,
        }
    }
}

const GROUP_COLUMNS: &[&str] = &[
    "service_area_id",
    "supplier_id",
    "first_end_date",
    "last_end_date",
    "borough_ids",
    "borough_count",
    "contract_count",
    "total_annual_value_gbp",
    "contracts_url",
];

/// The contract list that gives `group`'s contracts: the contract filters of `asked` (the
/// request's query string), with the group's service area, supplier (when grouped by supplier)
/// and end dates in place of theirs.
fn group_contracts_url(asked: &str, group: &Group) -> String {
    let mut replaced = vec!["service_area", "ends_after", "ends_before"];
    if group.supplier_id.is_some() {
        replaced.push("supplier");
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(
        form_urlencoded::parse(asked.as_bytes())
            .filter(|(key, _)| !GROUPING_PARAMS.contains(&&**key) && !replaced.contains(&&**key)),
    );
    query.append_pair("service_area", &group.service_area_id);
    if let Some(supplier) = &group.supplier_id {
        query.append_pair("supplier", supplier);
    }
    query.append_pair("ends_after", &group.first_end_date.to_string());
    query.append_pair("ends_before", &group.last_end_date.to_string());
    format!("/api/v1/contracts?{}", query.finish())
}

/// Where a page of groups resumes: after the group at this (first end date, service area,
/// supplier). The token's `sort` is the grouping, so a cursor of another grouping is refused.
fn group_cursor(group_by: GroupBy, group: &Group) -> String {
    pagination::CursorToken {
        sort: group_by_name(group_by).to_owned(),
        value: serde_json::json!([group.first_end_date, group.supplier_id]),
        id: group.service_area_id.clone(),
    }
    .encode()
}

fn group_by_name(group_by: GroupBy) -> &'static str {
    match group_by {
        GroupBy::ServiceArea => "service_area",
        GroupBy::Supplier => "supplier",
    }
}

/// The position a cursor names, checked against the grouping it must have been made for.
fn cursor_position(
    token: &pagination::CursorToken<String>,
    group_by: GroupBy,
) -> Result<(NaiveDate, String, Option<String>), ApiError> {
    pagination::check_cursor_sort(token, group_by_name(group_by))?;
    let (first, supplier): (NaiveDate, Option<String>) =
        serde_json::from_value(token.value.clone()).map_err(|_| pagination::garbled_cursor())?;
    Ok((first, token.id.clone(), supplier))
}

/// Joint procurement
///
/// Which boroughs' contracts in a service area end at about the same time? Within each service
/// area (and supplier, with `group_by=supplier`), contracts are taken by end date (ties by id); a
/// group starts at the earliest contract not yet grouped and takes every later one ending at most
/// `window_months` after the group's first end date; groups with fewer than `min_boroughs`
/// distinct boroughs are dropped. A contract in several service areas counts in each.
///
/// Groups come a page at a time (`per_page`, `cursor`), ordered by first end date, then service
/// area, then supplier; each is a summary (its end dates, boroughs, contract count, total annual
/// value and `contracts_url`, the contract list that gives exactly its contracts), with the
/// contracts themselves only with `include=contracts`. Groups whose contracts have all ended
/// (last end date before today) are left out unless `include=ended`. `format=csv` gives every
/// group, one row each.
#[utoipa::path(
    tag = "insights",
    security((), ("bearer" = [])),
    params(JointProcurementQuery),
    responses(
        (status = 200, description = "A page of groups, or every group as CSV", content((JointProcurement = "application/json", example = json!({
            "items": [{
                "service_area_id": "council-tax", "supplier_id": null,
                "first_end_date": "2027-03-31", "last_end_date": "2027-11-30",
                "borough_ids": ["camden", "islington"],
                "contract_count": 2,
                "total_annual_value_gbp": "310000.00",
                "contracts_url": "/api/v1/contracts?service_area=council-tax&ends_after=2027-03-31&ends_before=2027-11-30"
            }],
            "window_months": 12, "min_boroughs": 2, "group_by": "service_area",
            "sources": {"illustrative": 2},
            "meta": {"total": 1, "per_page": 50, "next_cursor": null}
        })), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links: `first` (`cursor=`) and, when another page follows, `next`"))),
        ReadErrors, BadQuery,
    )
)]
#[get("/insights/joint-procurement")]
pub async fn joint_procurement(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<JointProcurementQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let window_months = query.window_months.map_or(12, |w| w.0);
    let min_boroughs = query.min_boroughs.map_or(2, |m| m.0);
    let group_by = query.group_by.unwrap_or_default();
    let include = |what| {
        query
            .include
            .as_ref()
            .is_some_and(|list| list.0.contains(&what))
    };
    let (with_contracts, with_ended) = (
        include(GroupInclude::Contracts),
        include(GroupInclude::Ended),
    );
    let csv = respond::wants_csv(&req, query.format);
    let per_page = query.per_page.map_or(pagination::DEFAULT_PER_PAGE, |p| p.0);
    let after = match query.cursor.as_ref().and_then(|c| c.0.as_ref()) {
        Some(token) => Some(cursor_position(token, group_by)?),
        None => None,
    };
    let today = Utc::now().date_naive();
    let criteria = query.criteria();
    let asked = req.query_string().to_owned();
    let (groups, sources) = db::run(&pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        // By service area over nothing but areas, boroughs and end dates, the groups are found
        // by index probes of the service-area rows, and only those answered are read whole;
        // otherwise every matching (area, contract) pair is read in order.
        let spans = match group_by {
            GroupBy::ServiceArea => Shortcut::AreaEndDates.narrowing(&filter),
            GroupBy::Supplier => None,
        };
        let mut groups = match &spans {
            Some(narrowing) => {
                let mut groups: Vec<Group> =
                    query::group_spans(conn, narrowing, window_months, min_boroughs)?
                        .into_iter()
                        .map(Group::spanning)
                        .collect();
                groups.sort_by(|a, b| a.position().cmp(&b.position()));
                groups
            }
            None => {
                let mut grouper = Grouper::new(window_months, min_boroughs as usize);
                let by_supplier = group_by == GroupBy::Supplier;
                query::area_contracts(conn, &filter, by_supplier, |row| {
                    grouper.push_row(&row, group_by);
                    true
                })?;
                grouper.finish()
            }
        };
        if !with_ended {
            groups.retain(|group| group.last_end_date >= today);
        }
        let fill = |conn: &mut PgConnection, groups: &mut [Group]| -> QueryResult<()> {
            let Some(narrowing) = &spans else {
                return Ok(());
            };
            let read: Vec<_> = groups.iter().map(Group::span).collect();
            for totals in query::span_totals(conn, narrowing, &read)? {
                if let Some(group) = usize::try_from(totals.ord - 1)
                    .ok()
                    .and_then(|i| groups.get_mut(i))
                {
                    group.fill(totals);
                }
            }
            Ok(())
        };
        if csv {
            fill(conn, &mut groups)?;
            let answers: Vec<JointProcurementGroup> = groups
                .into_iter()
                .map(|group| {
                    let url = group_contracts_url(&asked, &group);
                    group.answer(url, None)
                })
                .collect();
            return Ok((Err(answers), Sources::new()));
        }
        let total = groups.len() as i64;
        let start = match &after {
            None => 0,
            Some((first, area, supplier)) => {
                let position = (*first, area.as_str(), supplier.as_deref());
                groups.partition_point(|group| group.position() <= position)
            }
        };
        let mut page: Vec<Group> = groups
            .into_iter()
            .skip(start)
            .take(per_page as usize + 1)
            .collect();
        let more = page.len() > per_page as usize;
        page.truncate(per_page as usize);
        fill(conn, &mut page)?;
        let next_cursor = more.then(|| group_cursor(group_by, page.last().expect("a full page")));
        let items = page
            .into_iter()
            .map(|group| {
                let contracts = match with_contracts {
                    true => Some(
                        query::group_members(
                            conn,
                            &filter,
                            &group.service_area_id,
                            group.supplier_id.as_deref(),
                            (group.first_end_date, group.last_end_date),
                        )?
                        .into_iter()
                        .map(group_contract)
                        .collect(),
                    ),
                    false => None,
                };
                let url = group_contracts_url(&asked, &group);
                Ok(group.answer(url, contracts))
            })
            .collect::<QueryResult<Vec<_>>>()?;
        let sources = query::contracts_by_source(conn, &filter)?;
        Ok((Ok((items, total, next_cursor)), sources))
    })
    .await?;
    let (items, total, next_cursor) = match groups {
        Ok(page) => page,
        Err(every) => {
            let rows: Vec<GroupRow> = every.iter().map(GroupRow::of).collect();
            return stream::csv_table("joint-procurement.csv", GROUP_COLUMNS, &rows);
        }
    };
    let body = JointProcurement {
        items,
        window_months,
        min_boroughs,
        group_by,
        sources,
        meta: JointProcurementMeta {
            total,
            per_page,
            next_cursor: next_cursor.clone(),
        },
    };
    let mut response = HttpResponse::Ok();
    let mut links = vec![format!(
        "{}; rel=\"first\"",
        pagination::link_to(&req, "cursor", "")
    )];
    if let Some(cursor) = &next_cursor {
        links.push(format!(
            "{}; rel=\"next\"",
            pagination::link_to(&req, "cursor", cursor)
        ));
    }
    response.insert_header((actix_web::http::header::LINK, links.join(", ")));
    Ok(response.json(body))
}

// ---------------------------------------------------------------------------------------------
// 2. Expertise and peers

contract_filter_query! {
    /// The system to find expertise in, and the contract filters.
    ExpertiseQuery {
        /// `csv` for the boroughs as CSV.
        #[param(value_type = Option<ListFormat>)]
        format: Option<ListFormat>,
    }
}

/// Expertise in a system
///
/// Which boroughs use a system, and how confident are they supporting and developing it? Needs
/// `system`: one system, or up to 20 separated by commas (the boroughs then come by system, in
/// the order asked, each item naming its system); the other contract filters narrow the
/// contracts considered.
#[utoipa::path(
    tag = "insights",
    security((), ("bearer" = [])),
    params(ExpertiseQuery),
    responses(
        (status = 200, description = "The boroughs using the system (or each of the systems)", body = Expertise, example = json!({
            "system_id": "civica-openrevenues", "system_name": "Civica OpenRevenues",
            "systems": [{"system_id": "civica-openrevenues", "system_name": "Civica OpenRevenues"}],
            "items": [{"borough_id": "camden", "borough_name": "Camden", "system_id": "civica-openrevenues", "system_name": "Civica OpenRevenues", "contracts": 1, "support_confidence": 5, "development_confidence": 4}],
            "sources": {"illustrative": 1}
        })),
        (status = 400, description = "No system, or an unknown parameter or value", body = Problem, content_type = "application/problem+json"),
        ReadErrors,
    )
)]
#[get("/insights/expertise")]
pub async fn expertise(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    query: ApiQuery<ExpertiseQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let criteria = query.criteria();
    let asked = criteria.system.clone();
    if asked.is_empty() {
        return Err(ApiError::invalid_param(
            "system",
            "is required: the id of a system, or several separated by commas",
        ));
    }
    if asked.len() > MAX_EXPERTISE_SYSTEMS {
        return Err(ApiError::invalid_param(
            "system",
            format!(
                "names {} systems; ask about at most {MAX_EXPERTISE_SYSTEMS} at once",
                asked.len()
            ),
        ));
    }
    let ids = asked.clone();
    let ((systems, rows), sources) = filtered(
        &pool,
        !respond::wants_csv(&req, query.format),
        criteria,
        move |conn, filter| {
            let rows = query::confidence_by_borough(conn, filter)?;
            let mut systems = Vec::with_capacity(ids.len());
            for id in &ids {
                let named = rows.iter().find(|row| row.system_id == *id);
                let system_name = match named {
                    Some(row) => row.system_name.clone(),
                    None => crate::queries::systems::find(conn, id)?
                        .map(|s| s.system.name)
                        .unwrap_or_default(),
                };
                systems.push(AskedSystem {
                    system_id: id.clone(),
                    system_name,
                });
            }
            Ok((systems, rows))
        },
    )
    .await?;
    let items = know_how::system_users(rows, &asked, caller.sees_assessments());
    let one = (systems.len() == 1).then(|| systems[0].clone());
    let body = Expertise {
        system_id: one.as_ref().map(|s| s.system_id.clone()),
        system_name: one.map(|s| s.system_name),
        systems,
        items,
        sources,
    };
    let csv = ("expertise.csv", know_how::CSV_COLUMNS);
    csv_or_json(&req, query.format, csv, &body.items, &body)
}

/// The minimum confidence for peers.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeersQuery {
    /// Peers need a support or development confidence of at least this, 1 to 5 (default 4).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 5)]
    pub min_confidence: Option<ConfidenceLevel>,
}

/// Peers of a borough
///
/// For each system the borough uses, the other boroughs using it whose support or development
/// confidence is at least `min_confidence`, most confident first. Needs an API key: it is built
/// from per-borough assessments.
#[utoipa::path(
    tag = "boroughs",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Slug or GSS code", example = "camden"), PeersQuery),
    responses(
        (status = 200, description = "Peers by system", body = Peers),
        (status = 400, description = "An unknown parameter or a malformed value", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
        Missing<Boroughs>,
    )
)]
#[get("/boroughs/{id}/peers")]
pub async fn list_borough_peers(
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    query: ApiQuery<PeersQuery>,
) -> Result<HttpResponse, ApiError> {
    if !caller.sees_assessments() {
        return Err(ApiError::Unauthorized(
            "peers are built from boroughs' assessments: send `Authorization: Bearer <key>`".into(),
        ));
    }
    let min_confidence = query.0.min_confidence.map_or(4, |m| m.0);
    let id = id.into_inner();
    let (borough_id, rows, sources) = db::run(&pool, move |conn| {
        let borough = crate::queries::boroughs::find(conn, &id)?
            .ok_or_else(|| ApiError::NotFound(format!("no borough with id or GSS code {id:?}")))?;
        let systems = query::systems_of_borough(conn, &borough.id)?;
        if systems.is_empty() {
            return Ok((borough.id, Vec::new(), Sources::new()));
        }
        let criteria = ContractCriteria {
            system: systems,
            ..Default::default()
        };
        let filter = criteria.resolve(conn)?;
        Ok((
            borough.id,
            query::confidence_by_borough(conn, &filter)?,
            query::contracts_by_source(conn, &filter)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Peers {
        items: peer::peers(rows, &borough_id, min_confidence),
        borough_id,
        min_confidence,
        sources,
    }))
}

// ---------------------------------------------------------------------------------------------
// 3. Opportunities, market share, footprint

contract_filter_query! {
    /// The contract filters; `ends_after` defaults to today and `ends_before` to 18 months on.
    OpportunitiesQuery {
        /// Page number, from 1; a page may start at most 10,000 records in (page deeper with
        /// `cursor`).
        #[param(value_type = Option<u32>, minimum = 1, maximum = 1000000)]
        page: Option<PageNumber>,
        /// Contracts per page, 1 to 500 (default 50).
        #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
        per_page: Option<PerPage>,
        /// Keyset paging: empty (`cursor=`) for the first page, then each page's
        /// `meta.next_cursor`; not with `page`; ignored by CSV.
        #[param(value_type = Option<String>, example = "")]
        cursor: Option<Cursor>,
        /// `csv` for every contract in the window as CSV.
        #[param(value_type = Option<ListFormat>)]
        format: Option<ListFormat>,
    }
}

/// The meta of a page of opportunities: its paging and the window searched.
fn opportunities_meta(
    total: i64,
    end: &PageEnd,
    (ends_after, ends_before): (NaiveDate, NaiveDate),
) -> OpportunitiesMeta {
    OpportunitiesMeta {
        total,
        page: end.page,
        per_page: end.per_page,
        next_cursor: end.next_cursor(),
        ends_after,
        ends_before,
    }
}

/// Opportunities
///
/// Which contracts end soon, where, and who holds them? Contracts ending between `ends_after`
/// (default today) and `ends_before` (default 18 months on), soonest first, paged, with totals
/// by service area over the whole window.
#[utoipa::path(
    tag = "insights",
    security((), ("bearer" = [])),
    params(OpportunitiesQuery),
    responses(
        (status = 200, description = "Contracts ending in the window", content(
            (Opportunities = "application/json", example = json!({
                "items": [], "by_service_area": [{"service_area_id": "parking", "contracts": 9, "boroughs": 8, "annual_value_gbp": "812000.00"}],
                "meta": {"total": 9, "page": 1, "per_page": 50, "ends_after": "2026-11-27", "ends_before": "2028-05-27"},
                "sources": {"illustrative": 9}
            })),
            (String = "text/csv"))),
        ReadErrors, BadQuery,
    )
)]
#[get("/insights/opportunities")]
pub async fn opportunities(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    query: ApiQuery<OpportunitiesQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let mut criteria = query.criteria();
    let (ends_after, ends_before) = window::window(
        Utc::now().date_naive(),
        criteria.ends_after,
        criteria.ends_before,
    );
    (criteria.ends_after, criteria.ends_before) = (Some(ends_after), Some(ends_before));
    let sees = caller.sees_assessments();
    if respond::wants_csv(&req, query.format) {
        return opportunities_csv(&pool, criteria, sees).await;
    }
    let paged = Paged::of(query.page, query.per_page, query.cursor)?;
    let after = contract_cursor(&paged, SOONEST_FIRST)?;
    let read = paged.clone();
    let ((mut records, total, areas), sources) =
        filtered(&pool, true, criteria, move |conn, filter| {
            let records = read_contracts(conn, filter, SOONEST_FIRST, &read, after.as_ref())?;
            let areas = query::totals_by_area(conn, filter)?;
            Ok((records, filter.count(conn)?, areas))
        })
        .await?;
    let end = paged.end(total, true, &mut records, |last| {
        cursor_after(SOONEST_FIRST, last)
    });
    let body = Opportunities {
        items: records
            .into_iter()
            .map(|r| Contract::view(r, sees))
            .collect(),
        by_service_area: window::area_totals(areas),
        meta: opportunities_meta(total, &end, (ends_after, ends_before)),
        sources,
    };
    Ok(pagination::list_page(&req, &body, &end.position))
}

/// Opportunities are listed soonest first.
const SOONEST_FIRST: Option<(ContractSortKey, bool)> = Some((ContractSortKey::EndDate, false));

/// Every contract in the window as CSV, streamed.
async fn opportunities_csv(
    pool: &DbPool,
    criteria: ContractCriteria,
    sees: bool,
) -> Result<HttpResponse, ApiError> {
    let (conn, filter) = db::run_holding(pool, move |conn| Ok(criteria.resolve(conn)?)).await?;
    let columns = Contract::csv_columns(sees);
    Ok(respond::csv(
        conn,
        "opportunities.csv",
        columns,
        move |conn, sink| {
            let names = crate::queries::service_areas::names(conn)?;
            filter.for_each(conn, SOONEST_FIRST, |record| {
                sink.write(&Contract::view(record, sees).row(&names))
            })?;
            Ok(())
        },
    ))
}

contract_filter_query! {
    /// The contract filters.
    MarketShareQuery {
        /// `csv` for one row per service area and supplier.
        #[param(value_type = Option<ListFormat>)]
        format: Option<ListFormat>,
    }
}

/// Market share
///
/// Who holds each service area? Per service area, each supplier's boroughs, contracts and share
/// of the area's contracts, and the area's Herfindahl-Hirschman index (above 2,500 is usually
/// read as highly concentrated).
#[utoipa::path(
    tag = "insights",
    security((), ("bearer" = [])),
    params(MarketShareQuery),
    responses(
        (status = 200, description = "Suppliers' shares by service area", content(
            (MarketShare = "application/json", example = json!({"items": [{
                "service_area_id": "waste-and-recycling", "contracts": 24, "hhi": 2847.2,
                "suppliers": [{"supplier_id": "bartec", "supplier_name": "Bartec Municipal Technologies", "boroughs": 10, "contracts": 10, "share": 0.4167}]
            }], "sources": {"illustrative": 24}})),
            (String = "text/csv"))),
        ReadErrors, BadQuery,
    )
)]
#[get("/insights/market-share")]
pub async fn market_share(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<MarketShareQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let (rows, sources) = filtered(
        &pool,
        !respond::wants_csv(&req, query.format),
        query.criteria(),
        query::suppliers_by_area,
    )
    .await?;
    let body = MarketShare {
        items: shares::markets(rows),
        sources,
    };
    let csv = ("market-share.csv", shares::CSV_COLUMNS);
    csv_or_json(
        &req,
        query.format,
        csv,
        &shares::csv_rows(&body.items),
        &body,
    )
}

contract_filter_query! {
    /// The matrix's columns and the contract filters.
    EstateQuery {
        /// `group` (default) for the ten groups of service areas as columns, `area` for the
        /// service areas themselves.
        #[param(value_type = Option<EstateLevel>)]
        level: Option<EstateLevel>,
        /// The page of boroughs (rows), by name, from 1.
        #[param(value_type = Option<u32>, minimum = 1, maximum = 1000000)]
        page: Option<PageNumber>,
        /// Boroughs (rows) per page, 1 to 500 (default 50).
        #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
        per_page: Option<PerPage>,
        /// `csv` for one row per cell.
        #[param(value_type = Option<ListFormat>)]
        format: Option<ListFormat>,
    }
}

/// Estate
///
/// Which systems, from which suppliers, does each borough use in each service area? The
/// borough × service-area matrix: per cell, the matching contracts and the three systems with
/// the most of them (a contract that names no system counts under its supplier), with how many
/// other systems there are. The rows are the boroughs with matching contracts, by name, a page
/// at a time (`page`, `per_page`; `meta.total` counts them); `format=csv` gives the page's cells.
#[utoipa::path(
    tag = "insights",
    security((), ("bearer" = [])),
    params(EstateQuery),
    responses(
        (status = 200, description = "The matrix's columns and non-empty cells", content(
            (Estate = "application/json", example = json!({"level": "group",
                "service_areas": [{"id": "revenues-and-benefits", "name": "Revenues and benefits", "parent_id": null}],
                "items": [{"borough_id": "camden", "borough_name": "Camden", "service_area_id": "revenues-and-benefits",
                    "service_area_name": "Revenues and benefits", "contracts": 4,
                    "systems": [{"system_id": "civica-openrevenues", "system_name": "Civica OpenRevenues",
                        "supplier_id": "civica", "supplier_name": "Civica", "contracts": 3}],
                    "other_systems": 1}],
                "meta": {"total": 33, "page": 1, "per_page": 50},
                "sources": {"illustrative": 4}})),
            (String = "text/csv"))),
        ReadErrors, BadQuery,
    )
)]
#[get("/insights/estate")]
pub async fn estate(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<EstateQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let level = query.level.unwrap_or_default();
    let page = query.page.map_or(1, |page| page.0);
    let per_page = query
        .per_page
        .map_or(pagination::DEFAULT_PER_PAGE, |size| size.0);
    let ((service_areas, items, total), sources) = filtered(
        &pool,
        !respond::wants_csv(&req, query.format),
        query.criteria(),
        move |conn, filter| {
            let boroughs = query::estate_boroughs(conn, filter)?;
            let shown: Vec<String> = boroughs
                .iter()
                .skip((page as usize - 1) * per_page as usize)
                .take(per_page as usize)
                .cloned()
                .collect();
            let rows = query::estate(conn, filter, &shown, level == EstateLevel::Group)?;
            let names = query::names(conn, matrix::ids_to_name(&rows))?;
            let (columns, cells) = matrix::matrix(rows, names);
            Ok((columns, cells, boroughs.len()))
        },
    )
    .await?;
    let body = Estate {
        level,
        service_areas,
        items,
        meta: EstateMeta {
            total,
            page,
            per_page,
        },
        sources,
    };
    let csv = ("estate.csv", matrix::CSV_COLUMNS);
    csv_or_json(
        &req,
        query.format,
        csv,
        &matrix::csv_rows(&body.items),
        &body,
    )
}

contract_filter_query! {
    /// The contract filters, within the supplier's contracts.
    FootprintQuery {
        /// `csv` for the boroughs as CSV.
        #[param(value_type = Option<ListFormat>)]
        format: Option<ListFormat>,
    }
}

/// A supplier's footprint
///
/// Where does a supplier hold contracts? The boroughs, with the service areas and systems in
/// each. The contract filters narrow the contracts considered.
#[utoipa::path(
    tag = "suppliers",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The supplier's id", example = "civica"), FootprintQuery),
    responses(
        (status = 200, description = "The boroughs where the supplier holds contracts, or (`format=csv`) the boroughs as CSV", content((Footprint = "application/json"), (String = "text/csv"))),
        ReadErrors, BadQuery, Missing<Suppliers>,
    )
)]
#[get("/suppliers/{id}/footprint")]
pub async fn get_supplier_footprint(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    id: web::Path<String>,
    query: ApiQuery<FootprintQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = query.0.format;
    let counted = !respond::wants_csv(&req, format);
    let mut criteria = query.0.criteria();
    let id = id.into_inner();
    let body = db::run(&pool, move |conn| {
        let supplier = crate::queries::suppliers::find(conn, &id)?
            .ok_or_else(|| ApiError::NotFound(format!("no supplier with id {id:?}")))?;
        criteria.within = Some(Within::Supplier(supplier.supplier.id.clone()));
        let filter = criteria.resolve(conn)?;
        let sources = match counted {
            true => query::contracts_by_source(conn, &filter)?,
            false => Sources::new(),
        };
        Ok(Footprint {
            items: query::footprint(conn, &filter)?,
            supplier_id: supplier.supplier.id,
            sources,
        })
    })
    .await?;
    let csv = ("footprint.csv", crate::insights::footprint::CSV_COLUMNS);
    csv_or_json(&req, format, csv, &body.items, &body)
}

// ---------------------------------------------------------------------------------------------
// 4. Vendor satisfaction

contract_filter_query! {
    /// The contract filters.
    VendorSatisfactionQuery {
        /// `csv` for the boroughs as CSV.
        #[param(value_type = Option<ListFormat>)]
        format: Option<ListFormat>,
    }
}

/// Vendor satisfaction
///
/// Do boroughs with fewer suppliers rate value for money worse? Per borough: distinct suppliers,
/// contracts, mean satisfaction and mean value for money; and Pearson's r of supplier count
/// against each mean over the boroughs with ratings. Per-borough means need a key; the
/// correlation over three or more boroughs is public.
#[utoipa::path(
    tag = "insights",
    security((), ("bearer" = [])),
    params(VendorSatisfactionQuery),
    responses(
        (status = 200, description = "Boroughs and the correlation", content(
            (VendorSatisfaction = "application/json", example = json!({
                "items": [{"borough_id": "camden", "borough_name": "Camden", "suppliers": 14, "contracts": 21, "mean_satisfaction": 3.62, "mean_value_for_money": 3.24}],
                "correlation": {"suppliers_vs_satisfaction": 0.12, "suppliers_vs_value_for_money": 0.53, "n": 22},
                "sources": {"illustrative": 709}
            })),
            (String = "text/csv"))),
        ReadErrors, BadQuery,
    )
)]
#[get("/insights/vendor-satisfaction")]
pub async fn vendor_satisfaction(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    query: ApiQuery<VendorSatisfactionQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let (rows, sources) = filtered(
        &pool,
        !respond::wants_csv(&req, query.format),
        query.criteria(),
        query::ratings_by_borough,
    )
    .await?;
    let sees = caller.sees_assessments();
    let body = satisfaction::vendor_satisfaction(rows, sees, sources);
    let columns = satisfaction::csv_columns(sees);
    let csv = ("vendor-satisfaction.csv", columns.as_slice());
    csv_or_json(&req, query.format, csv, &body.items, &body)
}

// ---------------------------------------------------------------------------------------------
// Also: expiry timeline, summary, data access

contract_filter_query! {
    /// The period length and the contract filters.
    ExpiryTimelineQuery {
        /// `quarter` (default; periods such as 2026-Q1) or `year`.
        #[param(value_type = Option<Interval>)]
        interval: Option<Interval>,
        /// `csv` for the periods as CSV.
        #[param(value_type = Option<ListFormat>)]
        format: Option<ListFormat>,
    }
}

/// Expiry timeline
///
/// When do contracts end? Contracts, boroughs and annual value ending in each quarter or year.
#[utoipa::path(
    tag = "insights",
    security((), ("bearer" = [])),
    params(ExpiryTimelineQuery),
    responses(
        (status = 200, description = "Periods in order", content(
            (ExpiryTimeline = "application/json", example = json!({"interval": "quarter", "items": [
                {"period": "2027-Q2", "start_date": "2027-04-01", "contracts": 24, "boroughs": 17, "annual_value_gbp": "2310000.00"}],
                "sources": {"illustrative": 709}})),
            (String = "text/csv"))),
        ReadErrors, BadQuery,
    )
)]
#[get("/insights/expiry-timeline")]
pub async fn expiry_timeline(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<ExpiryTimelineQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let interval = query.interval.unwrap_or_default();
    let (rows, sources) = filtered(
        &pool,
        !respond::wants_csv(&req, query.format),
        query.criteria(),
        move |conn, filter| query::expiry_timeline(conn, filter, interval.unit()),
    )
    .await?;
    let body = expiry::timeline(rows, interval, sources);
    let csv = ("expiry-timeline.csv", expiry::CSV_COLUMNS);
    csv_or_json(&req, query.format, csv, &body.items, &body)
}

contract_filter_query! {
    /// How many top suppliers, and the contract filters.
    SummaryQuery {
        /// How many suppliers to list, 1 to 100 (default 15).
        #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
        top: Option<SmallCount>,
    }
}

/// Summary
///
/// The headline counts and how concentrated the market is: the share of contracts held by the
/// top `top` suppliers (the 2019 report's "15 suppliers hold 90%").
#[utoipa::path(
    tag = "insights",
    security((), ("bearer" = [])),
    params(SummaryQuery),
    responses(
        (status = 200, description = "Headline figures", body = Summary, example = json!({
            "authorities": 33, "suppliers": 58, "systems": 104, "contracts": 709,
            "top": [{"supplier_id": "civica", "supplier_name": "Civica", "contracts": 154, "share": 0.2172}],
            "top_share": 0.836,
            "sources": {"illustrative": 709}
        })),
        ReadErrors, BadQuery,
    )
)]
#[get("/insights/summary")]
pub async fn summary(
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<SummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    let top = query.0.top.map_or(15, |t| t.0);
    let ((counts, top_suppliers), sources) =
        filtered(&pool, true, query.0.criteria(), move |conn, filter| {
            Ok((
                query::counts(conn, filter)?,
                query::top_suppliers(conn, filter, i64::from(top))?,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(headline::summary(counts, top_suppliers, sources)))
}

contract_filter_query! {
    /// The contract filters.
    DataAccessQuery {
        /// `csv` for the suppliers as CSV.
        #[param(value_type = Option<ListFormat>)]
        format: Option<ListFormat>,
    }
}

/// Data access
///
/// Which suppliers charge boroughs for their own data, or withhold it? Per supplier, contracts
/// by `data_access` value and the share charged or unavailable.
#[utoipa::path(
    tag = "insights",
    security((), ("bearer" = [])),
    params(DataAccessQuery),
    responses(
        (status = 200, description = "Suppliers by data access", content(
            (DataAccessInsight = "application/json", example = json!({"items": [{
                "supplier_id": "capita", "supplier_name": "Capita", "contracts": 66, "included": 30,
                "charged": 20, "unavailable": 4, "unknown": 12, "share_charged_or_unavailable": 0.3636}],
                "sources": {"illustrative": 709}})),
            (String = "text/csv"))),
        ReadErrors, BadQuery,
    )
)]
#[get("/insights/data-access")]
pub async fn data_access(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<DataAccessQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let (rows, sources) = filtered(
        &pool,
        !respond::wants_csv(&req, query.format),
        query.criteria(),
        query::data_access_by_supplier,
    )
    .await?;
    let body = DataAccessInsight {
        items: access::by_supplier(rows),
        sources,
    };
    let csv = ("data-access.csv", access::CSV_COLUMNS);
    csv_or_json(&req, query.format, csv, &body.items, &body)
}
