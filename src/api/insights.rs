//! `/insights`: the four uses of the data, one request each, over the contracts the standard
//! contract filters select. Per-borough assessment figures are shown only to callers with a key;
//! aggregates over three or more boroughs are public.

use std::collections::BTreeMap;
use std::io::Write;

use bigdecimal::BigDecimal;

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::contracts::{money, Contract};
use super::exports::{self, write_failed};
use super::filters::contract_filter_query;
use super::params::{ApiQuery, ListFormat, PageNumber, Paging, PerPage};
use super::respond;
use crate::auth::Caller;
use crate::db::{self, DbPool};
use crate::error::{ApiError, Problem};
use crate::insights::joint_procurement::Grouper;
use crate::insights::stats::{hhi, pearson, period_label, round};
use crate::queries::contracts::{ContractSortKey, Within};
use crate::queries::insights as query;

/// Aggregates over fewer boroughs than this are shown only to callers with a key.
const PUBLIC_AGGREGATE_MIN_BOROUGHS: usize = 3;

/// A small table as a CSV download (for insights, whose results are already aggregated).
fn csv_table<T: Serialize>(
    filename: &str,
    columns: &[&str],
    rows: &[T],
) -> Result<HttpResponse, ApiError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::Internal(e.to_string());
    writer.write_record(columns).map_err(internal)?;
    for row in rows {
        let value = serde_json::to_value(row).map_err(|e| ApiError::Internal(e.to_string()))?;
        writer
            .write_record(
                columns
                    .iter()
                    .map(|c| respond::cell(value.get(*c).unwrap_or(&serde_json::Value::Null))),
            )
            .map_err(internal)?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, respond::TEXT_CSV))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body))
}

// ---------------------------------------------------------------------------------------------
// 1. Joint procurement

/// How joint-procurement groups are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One service area.
    #[default]
    ServiceArea,
    /// One service area and one supplier.
    Supplier,
}

/// A window length in months, 1 to 120.
#[derive(Debug, Clone, Copy)]
pub struct WindowMonths(pub u32);

impl<'de> Deserialize<'de> for WindowMonths {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.trim().parse::<u32>() {
            Ok(months) if (1..=120).contains(&months) => Ok(WindowMonths(months)),
            _ => Err(serde::de::Error::custom(format!(
                "expected a number of months from 1 to 120, got {text:?}"
            ))),
        }
    }
}

/// A small count, 1 to 100 (boroughs, suppliers...).
#[derive(Debug, Clone, Copy)]
pub struct SmallCount(pub u32);

impl<'de> Deserialize<'de> for SmallCount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.trim().parse::<u32>() {
            Ok(count) if (1..=100).contains(&count) => Ok(SmallCount(count)),
            _ => Err(serde::de::Error::custom(format!(
                "expected a whole number from 1 to 100, got {text:?}"
            ))),
        }
    }
}

/// A confidence level, 1 to 5, as the assessments rate it.
#[derive(Debug, Clone, Copy)]
pub struct ConfidenceLevel(pub u32);

impl<'de> Deserialize<'de> for ConfidenceLevel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.trim().parse::<u32>() {
            Ok(level) if (1..=5).contains(&level) => Ok(ConfidenceLevel(level)),
            _ => Err(serde::de::Error::custom(format!(
                "expected a confidence level from 1 to 5, got {text:?}"
            ))),
        }
    }
}

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
    }
}

/// A contract in a joint-procurement group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupContract {
    pub id: i64,
    pub borough_id: String,
    pub supplier_id: String,
    pub system_id: Option<String>,
    pub end_date: NaiveDate,
    #[schema(example = "125000.00")]
    pub annual_value_gbp: Option<String>,
}

/// Contracts in one service area (and with one supplier, when grouped so) ending close together.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JointProcurementGroup {
    #[schema(example = "council-tax")]
    pub service_area_id: String,
    /// Null unless grouped by supplier.
    pub supplier_id: Option<String>,
    pub first_end_date: NaiveDate,
    pub last_end_date: NaiveDate,
    #[schema(example = json!(["camden", "islington"]))]
    pub borough_ids: Vec<String>,
    pub contracts: Vec<GroupContract>,
    /// The sum of the known annual values.
    #[schema(example = "310000.00")]
    pub total_annual_value_gbp: String,
}

/// Joint-procurement groups, ordered by first end date then service area.
#[derive(Debug, Serialize, ToSchema)]
pub struct JointProcurement {
    pub items: Vec<JointProcurementGroup>,
    pub window_months: u32,
    pub min_boroughs: u32,
    pub group_by: GroupBy,
}

/// Joint procurement
///
/// Which boroughs' contracts in a service area end at about the same time? Within each service
/// area (and supplier, with `group_by=supplier`), contracts are taken by end date (ties by id); a
/// group starts at the earliest contract not yet grouped and takes every later one ending at most
/// `window_months` after the group's first end date; groups with fewer than `min_boroughs`
/// distinct boroughs are dropped. A contract in several service areas counts in each.
#[utoipa::path(
    tag = "insights",
    security((), ("bearer" = [])),
    params(JointProcurementQuery),
    responses(
        (status = 200, description = "The groups", body = JointProcurement, example = json!({
            "items": [{
                "service_area_id": "council-tax", "supplier_id": null,
                "first_end_date": "2027-03-31", "last_end_date": "2027-11-30",
                "borough_ids": ["camden", "islington"],
                "contracts": [
                    {"id": 118, "borough_id": "camden", "supplier_id": "civica", "system_id": "civica-openrevenues", "end_date": "2027-03-31", "annual_value_gbp": "185000.00"},
                    {"id": 402, "borough_id": "islington", "supplier_id": "capita", "system_id": "capita-academy", "end_date": "2027-11-30", "annual_value_gbp": "125000.00"}
                ],
                "total_annual_value_gbp": "310000.00"
            }],
            "window_months": 12, "min_boroughs": 2, "group_by": "service_area"
        })),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/insights/joint-procurement")]
pub async fn joint_procurement(
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<JointProcurementQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let window_months = query.window_months.map_or(12, |w| w.0);
    let min_boroughs = query.min_boroughs.map_or(2, |m| m.0);
    let group_by = query.group_by.unwrap_or_default();
    let criteria = query.criteria();
    let by_supplier = group_by == GroupBy::Supplier;
    let (conn, groups) = db::run_holding(&pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        let mut grouper = Grouper::new(window_months, min_boroughs as usize);
        query::area_contracts(conn, &filter, by_supplier, |row| {
            let supplier = by_supplier.then_some(row.supplier_id.as_str());
            grouper.push(
                &row.service_area_id,
                supplier,
                row.id,
                &row.borough_id,
                row.end_date,
            );
            true
        })?;
        Ok(grouper.finish())
    })
    .await?;
    // Streamed a group at a time: only the groups' contract ids are held, however many match.
    Ok(exports::stream(
        conn,
        "application/json",
        None,
        move |conn, out| {
            out.write_all(b"{\"items\":[").map_err(write_failed)?;
            for (n, group) in groups.into_iter().enumerate() {
                let members = query::group_members(conn, &group.contract_ids)?;
                let mut total = BigDecimal::from(0);
                let contracts = members
                    .into_iter()
                    .map(|c| {
                        if let Some(value) = &c.annual_value_gbp {
                            total += value;
                        }
                        GroupContract {
                            id: c.id,
                            borough_id: c.borough_id,
                            supplier_id: c.supplier_id,
                            system_id: c.system_id,
                            end_date: c.end_date,
                            annual_value_gbp: money(c.annual_value_gbp),
                        }
                    })
                    .collect();
                let item = JointProcurementGroup {
                    service_area_id: group.service_area_id,
                    supplier_id: group.supplier_id,
                    first_end_date: group.first_end_date,
                    last_end_date: group.last_end_date,
                    borough_ids: group.borough_ids,
                    contracts,
                    total_annual_value_gbp: money(Some(total)).unwrap_or_default(),
                };
                if n > 0 {
                    out.write_all(b",").map_err(write_failed)?;
                }
                serde_json::to_writer(&mut *out, &item)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
            }
            let tail = serde_json::json!({
                "window_months": window_months,
                "min_boroughs": min_boroughs,
                "group_by": group_by,
            });
            write!(out, "],{}", &tail.to_string()[1..]).map_err(write_failed)?;
            Ok(())
        },
    ))
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

/// A borough using a system, with its confidence in supporting and developing it (the highest
/// over its contracts for the system; shown to callers with a key).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SystemUser {
    pub borough_id: String,
    pub borough_name: String,
    /// Its contracts for the system.
    pub contracts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 5)]
    pub support_confidence: Option<i16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 5)]
    pub development_confidence: Option<i16>,
}

/// The boroughs using one system.
#[derive(Debug, Serialize, ToSchema)]
pub struct Expertise {
    pub system_id: String,
    pub system_name: String,
    /// Most confident first (by support plus development confidence) for callers with a key;
    /// by borough id for anonymous callers, who see no confidence figures.
    pub items: Vec<SystemUser>,
}

/// Expertise in a system
///
/// Which boroughs use a system, and how confident are they supporting and developing it? Needs
/// `system`; the other contract filters narrow the contracts considered.
#[utoipa::path(
    tag = "insights",
    security((), ("bearer" = [])),
    params(ExpertiseQuery),
    responses(
        (status = 200, description = "The boroughs using the system", body = Expertise, example = json!({
            "system_id": "civica-openrevenues", "system_name": "Civica OpenRevenues",
            "items": [{"borough_id": "camden", "borough_name": "Camden", "contracts": 1, "support_confidence": 5, "development_confidence": 4}]
        })),
        (status = 400, description = "No system, or an unknown parameter or value", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
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
    let system_id = match criteria.system.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(ApiError::invalid_param(
                "system",
                "is required: the id of one system",
            ))
        }
        _ => return Err(ApiError::invalid_param("system", "name exactly one system")),
    };
    let sees = caller.sees_assessments();
    let rows = db::run(&pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        Ok(query::confidence_by_borough(conn, &filter)?)
    })
    .await?;
    let system_name = rows.first().map(|r| r.system_name.clone());
    let mut items: Vec<SystemUser> = rows
        .into_iter()
        .map(|row| SystemUser {
            borough_id: row.borough_id,
            borough_name: row.borough_name,
            contracts: row.contracts,
            support_confidence: row.support_confidence.filter(|_| sees),
            development_confidence: row.development_confidence.filter(|_| sees),
        })
        .collect();
    if !sees {
        // The order by confidence would itself reveal the ratings.
        items.sort_by(|a, b| a.borough_id.cmp(&b.borough_id));
    }
    if respond::wants_csv(&req, query.format) {
        return csv_table(
            "expertise.csv",
            &[
                "borough_id",
                "borough_name",
                "contracts",
                "support_confidence",
                "development_confidence",
            ],
            &items,
        );
    }
    let system_name = match system_name {
        Some(name) => name,
        None => db::run(&pool, {
            let id = system_id.clone();
            move |conn| Ok(crate::queries::systems::find(conn, &id)?.map(|s| s.system.name))
        })
        .await?
        .unwrap_or_default(),
    };
    Ok(HttpResponse::Ok().json(Expertise {
        system_id,
        system_name,
        items,
    }))
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

/// Another borough confident with a system.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Peer {
    pub borough_id: String,
    pub borough_name: String,
    pub support_confidence: Option<i16>,
    pub development_confidence: Option<i16>,
}

/// A system the borough uses, with the peers who know it well.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SystemPeers {
    pub system_id: String,
    pub system_name: String,
    pub peers: Vec<Peer>,
}

/// Peers for each system a borough uses.
#[derive(Debug, Serialize, ToSchema)]
pub struct Peers {
    pub borough_id: String,
    pub min_confidence: u32,
    pub items: Vec<SystemPeers>,
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
        (status = 404, description = "No such borough", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
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
    let (borough_id, rows) = db::run(&pool, move |conn| {
        let borough = crate::queries::boroughs::find(conn, &id)?
            .ok_or_else(|| ApiError::NotFound(format!("no borough with id or GSS code {id:?}")))?;
        let systems = query::systems_of_borough(conn, &borough.id)?;
        if systems.is_empty() {
            return Ok((borough.id, Vec::new()));
        }
        let criteria = crate::queries::contracts::ContractCriteria {
            system: systems,
            ..Default::default()
        };
        let filter = criteria.resolve(conn)?;
        Ok((borough.id, query::confidence_by_borough(conn, &filter)?))
    })
    .await?;
    let threshold = min_confidence as i16;
    let mut by_system: BTreeMap<String, SystemPeers> = BTreeMap::new();
    for row in rows {
        let entry = by_system
            .entry(row.system_id.clone())
            .or_insert_with(|| SystemPeers {
                system_id: row.system_id.clone(),
                system_name: row.system_name.clone(),
                peers: Vec::new(),
            });
        let confident = row.support_confidence.is_some_and(|c| c >= threshold)
            || row.development_confidence.is_some_and(|c| c >= threshold);
        if row.borough_id != borough_id && confident {
            entry.peers.push(Peer {
                borough_id: row.borough_id,
                borough_name: row.borough_name,
                support_confidence: row.support_confidence,
                development_confidence: row.development_confidence,
            });
        }
    }
    Ok(HttpResponse::Ok().json(Peers {
        borough_id,
        min_confidence,
        items: by_system.into_values().collect(),
    }))
}

// ---------------------------------------------------------------------------------------------
// 3. Opportunities, market share, footprint

contract_filter_query! {
    /// The contract filters; `ends_after` defaults to today and `ends_before` to 18 months on.
    OpportunitiesQuery {
        /// Page number, from 1.
        #[param(value_type = Option<u32>, minimum = 1, maximum = 1000000)]
        page: Option<PageNumber>,
        /// Contracts per page, 1 to 500 (default 50).
        #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
        per_page: Option<PerPage>,
        /// `csv` for every contract in the window as CSV.
        #[param(value_type = Option<ListFormat>)]
        format: Option<ListFormat>,
    }
}

/// Contracts, boroughs and annual value of the contracts in one service area.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaTotal {
    pub service_area_id: String,
    pub contracts: i64,
    pub boroughs: i64,
    #[schema(example = "1250000.00")]
    pub annual_value_gbp: Option<String>,
}

/// The window searched.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpportunitiesMeta {
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub ends_after: NaiveDate,
    pub ends_before: NaiveDate,
}

/// Contracts ending in a window, soonest first, with totals by service area.
#[derive(Debug, Serialize, ToSchema)]
pub struct Opportunities {
    /// This page of the contracts ending in the window: borough, incumbent supplier, system,
    /// dates and value.
    pub items: Vec<Contract>,
    /// Every contract in the window, totalled by service area.
    pub by_service_area: Vec<AreaTotal>,
    pub meta: OpportunitiesMeta,
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
                "meta": {"total": 9, "page": 1, "per_page": 50, "ends_after": "2026-11-27", "ends_before": "2028-05-27"}
            })),
            (String = "text/csv"))),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
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
    let today = Utc::now().date_naive();
    let ends_after = *criteria.ends_after.get_or_insert(today);
    let ends_before = *criteria.ends_before.get_or_insert(
        ends_after
            .checked_add_months(Months::new(18))
            .unwrap_or(ends_after),
    );
    let sees = caller.sees_assessments();
    let sort = Some((ContractSortKey::EndDate, false));
    if respond::wants_csv(&req, query.format) {
        let (conn, filter) =
            db::run_holding(&pool, move |conn| Ok(criteria.resolve(conn)?)).await?;
        return Ok(respond::csv(
            conn,
            "opportunities.csv",
            Contract::csv_columns(sees),
            move |conn, sink| {
                filter.for_each(conn, sort, |record| {
                    sink.write(&Contract::view(record, sees))
                })?;
                Ok(())
            },
        ));
    }
    let paging = Paging::new(query.page, query.per_page);
    let (records, total, areas) = db::run(&pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        let total = filter.count(conn)?;
        let records = filter.page(conn, sort, paging.offset(), paging.limit())?;
        Ok((records, total, query::totals_by_area(conn, &filter)?))
    })
    .await?;
    let body = Opportunities {
        items: records
            .into_iter()
            .map(|r| Contract::view(r, sees))
            .collect(),
        by_service_area: areas
            .into_iter()
            .map(|a| AreaTotal {
                service_area_id: a.service_area_id,
                contracts: a.contracts,
                boroughs: a.boroughs,
                annual_value_gbp: money(a.annual_value_gbp),
            })
            .collect(),
        meta: OpportunitiesMeta {
            total,
            page: paging.page,
            per_page: paging.per_page,
            ends_after,
            ends_before,
        },
    };
    Ok(respond::page(&req, &body, total, paging))
}

contract_filter_query! {
    /// The contract filters.
    MarketShareQuery {
        /// `csv` for one row per service area and supplier.
        #[param(value_type = Option<ListFormat>)]
        format: Option<ListFormat>,
    }
}

/// One supplier's place in a service area.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupplierShare {
    pub supplier_id: String,
    pub supplier_name: String,
    /// Distinct boroughs where it holds contracts in the area.
    pub boroughs: i64,
    pub contracts: i64,
    /// Its fraction of the area's contracts, 0 to 1.
    #[schema(example = 0.4167)]
    pub share: f64,
}

/// The market in one service area.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaMarket {
    pub service_area_id: String,
    pub contracts: i64,
    /// Herfindahl-Hirschman index: the sum of the squared percentage shares, 0 to 10,000.
    #[schema(example = 2847.2)]
    pub hhi: f64,
    /// Largest first.
    pub suppliers: Vec<SupplierShare>,
}

/// Market share by service area.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarketShare {
    pub items: Vec<AreaMarket>,
}

/// A flat row of the market-share CSV.
#[derive(Serialize)]
struct MarketShareRow<'a> {
    service_area_id: &'a str,
    area_contracts: i64,
    hhi: f64,
    supplier_id: &'a str,
    supplier_name: &'a str,
    boroughs: i64,
    contracts: i64,
    share: f64,
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
            }]})),
            (String = "text/csv"))),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
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
    let criteria = query.criteria();
    let rows = db::run(&pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        Ok(query::suppliers_by_area(conn, &filter)?)
    })
    .await?;
    let mut areas: Vec<AreaMarket> = Vec::new();
    for row in rows {
        if areas
            .last()
            .is_none_or(|area| area.service_area_id != row.service_area_id)
        {
            areas.push(AreaMarket {
                service_area_id: row.service_area_id.clone(),
                contracts: 0,
                hhi: 0.0,
                suppliers: Vec::new(),
            });
        }
        let area = areas.last_mut().expect("an area");
        area.contracts += row.contracts;
        area.suppliers.push(SupplierShare {
            supplier_id: row.supplier_id,
            supplier_name: row.supplier_name,
            boroughs: row.boroughs,
            contracts: row.contracts,
            share: 0.0,
        });
    }
    for area in &mut areas {
        let total = area.contracts as f64;
        let shares: Vec<f64> = area
            .suppliers
            .iter()
            .map(|s| s.contracts as f64 / total)
            .collect();
        area.hhi = round(hhi(&shares), 1);
        for (supplier, share) in area.suppliers.iter_mut().zip(shares) {
            supplier.share = round(share, 4);
        }
    }
    if respond::wants_csv(&req, query.format) {
        let rows: Vec<MarketShareRow> = areas
            .iter()
            .flat_map(|area| {
                area.suppliers.iter().map(move |s| MarketShareRow {
                    service_area_id: &area.service_area_id,
                    area_contracts: area.contracts,
                    hhi: area.hhi,
                    supplier_id: &s.supplier_id,
                    supplier_name: &s.supplier_name,
                    boroughs: s.boroughs,
                    contracts: s.contracts,
                    share: s.share,
                })
            })
            .collect();
        return csv_table(
            "market-share.csv",
            &[
                "service_area_id",
                "area_contracts",
                "hhi",
                "supplier_id",
                "supplier_name",
                "boroughs",
                "contracts",
                "share",
            ],
            &rows,
        );
    }
    Ok(HttpResponse::Ok().json(MarketShare { items: areas }))
}

contract_filter_query! {
    /// The contract filters, within the supplier's contracts.
    FootprintQuery {}
}

/// Where a supplier holds contracts in one borough.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoroughFootprint {
    pub borough_id: String,
    pub borough_name: String,
    pub contracts: i64,
    pub service_area_ids: Vec<String>,
    pub system_ids: Vec<String>,
}

/// A supplier's footprint.
#[derive(Debug, Serialize, ToSchema)]
pub struct Footprint {
    pub supplier_id: String,
    pub items: Vec<BoroughFootprint>,
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
        (status = 200, description = "The boroughs where the supplier holds contracts", body = Footprint),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such supplier", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/suppliers/{id}/footprint")]
pub async fn get_supplier_footprint(
    pool: web::Data<DbPool>,
    _caller: Caller,
    id: web::Path<String>,
    query: ApiQuery<FootprintQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut criteria = query.0.criteria();
    let id = id.into_inner();
    let (supplier_id, items) = db::run(&pool, move |conn| {
        let supplier = crate::queries::suppliers::find(conn, &id)?
            .ok_or_else(|| ApiError::NotFound(format!("no supplier with id {id:?}")))?;
        criteria.within = Some(Within::Supplier(supplier.supplier.id.clone()));
        let filter = criteria.resolve(conn)?;
        let items: Vec<BoroughFootprint> = query::footprint(conn, &filter)?
            .into_iter()
            .map(|b| BoroughFootprint {
                borough_id: b.borough_id,
                borough_name: b.borough_name,
                contracts: b.contracts,
                service_area_ids: b.service_area_ids,
                system_ids: b.system_ids,
            })
            .collect();
        Ok((supplier.supplier.id, items))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Footprint { supplier_id, items }))
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

/// A borough's suppliers and its mean ratings (the means shown to callers with a key).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoroughSatisfaction {
    pub borough_id: String,
    pub borough_name: String,
    /// Distinct suppliers holding its contracts.
    pub suppliers: i64,
    pub contracts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 3.6)]
    pub mean_satisfaction: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 3.1)]
    pub mean_value_for_money: Option<f64>,
}

/// Pearson's r of each borough's supplier count against its mean ratings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Correlation {
    /// Null when fewer than 2 boroughs have ratings, when nothing varies, or (for anonymous
    /// callers) when fewer than 3 boroughs have ratings.
    pub suppliers_vs_satisfaction: Option<f64>,
    pub suppliers_vs_value_for_money: Option<f64>,
    /// Boroughs with both mean ratings.
    pub n: usize,
}

/// Supplier counts and satisfaction by borough.
#[derive(Debug, Serialize, ToSchema)]
pub struct VendorSatisfaction {
    pub items: Vec<BoroughSatisfaction>,
    pub correlation: Correlation,
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
                "correlation": {"suppliers_vs_satisfaction": 0.12, "suppliers_vs_value_for_money": 0.53, "n": 22}
            })),
            (String = "text/csv"))),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
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
    let criteria = query.criteria();
    let rows = db::run(&pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        Ok(query::ratings_by_borough(conn, &filter)?)
    })
    .await?;
    let rated: Vec<(f64, f64, f64)> = rows
        .iter()
        .filter_map(|row| {
            Some((
                row.suppliers as f64,
                row.mean_satisfaction?,
                row.mean_value_for_money?,
            ))
        })
        .collect();
    let n = rated.len();
    let sees = caller.sees_assessments();
    let public = sees || n >= PUBLIC_AGGREGATE_MIN_BOROUGHS;
    let r = |pick: fn(&(f64, f64, f64)) -> (f64, f64)| {
        let pairs: Vec<(f64, f64)> = rated.iter().map(pick).collect();
        pearson(&pairs).filter(|_| public).map(|r| round(r, 4))
    };
    let correlation = Correlation {
        suppliers_vs_satisfaction: r(|t| (t.0, t.1)),
        suppliers_vs_value_for_money: r(|t| (t.0, t.2)),
        n,
    };
    let items: Vec<BoroughSatisfaction> = rows
        .into_iter()
        .map(|row| BoroughSatisfaction {
            borough_id: row.borough_id,
            borough_name: row.borough_name,
            suppliers: row.suppliers,
            contracts: row.contracts,
            mean_satisfaction: row.mean_satisfaction.filter(|_| sees).map(|m| round(m, 2)),
            mean_value_for_money: row
                .mean_value_for_money
                .filter(|_| sees)
                .map(|m| round(m, 2)),
        })
        .collect();
    if respond::wants_csv(&req, query.format) {
        let mut columns = vec!["borough_id", "borough_name", "suppliers", "contracts"];
        if sees {
            columns.extend(["mean_satisfaction", "mean_value_for_money"]);
        }
        return csv_table("vendor-satisfaction.csv", &columns, &items);
    }
    Ok(HttpResponse::Ok().json(VendorSatisfaction { items, correlation }))
}

// ---------------------------------------------------------------------------------------------
// Also: expiry timeline, summary, data access

/// The length of a timeline period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    #[default]
    Quarter,
    Year,
}

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

/// Contracts ending in one period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Period {
    #[schema(example = "2027-Q2")]
    pub period: String,
    pub start_date: NaiveDate,
    pub contracts: i64,
    pub boroughs: i64,
    #[schema(example = "2310000.00")]
    pub annual_value_gbp: Option<String>,
}

/// Contract end dates by period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiryTimeline {
    pub interval: Interval,
    /// Periods with at least one contract ending, in order.
    pub items: Vec<Period>,
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
                {"period": "2027-Q2", "start_date": "2027-04-01", "contracts": 24, "boroughs": 17, "annual_value_gbp": "2310000.00"}]})),
            (String = "text/csv"))),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
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
    let criteria = query.criteria();
    let rows = db::run(&pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        let unit = match interval {
            Interval::Quarter => "quarter",
            Interval::Year => "year",
        };
        Ok(query::expiry_timeline(conn, &filter, unit)?)
    })
    .await?;
    let items: Vec<Period> = rows
        .into_iter()
        .map(|row| Period {
            period: period_label(row.period_start, interval == Interval::Quarter),
            start_date: row.period_start,
            contracts: row.contracts,
            boroughs: row.boroughs,
            annual_value_gbp: money(row.annual_value_gbp),
        })
        .collect();
    if respond::wants_csv(&req, query.format) {
        return csv_table(
            "expiry-timeline.csv",
            &[
                "period",
                "start_date",
                "contracts",
                "boroughs",
                "annual_value_gbp",
            ],
            &items,
        );
    }
    Ok(HttpResponse::Ok().json(ExpiryTimeline { interval, items }))
}

contract_filter_query! {
    /// How many top suppliers, and the contract filters.
    SummaryQuery {
        /// How many suppliers to list, 1 to 100 (default 15).
        #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
        top: Option<SmallCount>,
    }
}

/// A supplier among the top.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TopSupplier {
    pub supplier_id: String,
    pub supplier_name: String,
    pub contracts: i64,
    /// Its fraction of the contracts.
    pub share: f64,
}

/// Headline figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    /// Authorities with at least one matching contract.
    pub authorities: i64,
    /// Distinct suppliers holding matching contracts.
    pub suppliers: i64,
    /// Distinct systems named by matching contracts.
    pub systems: i64,
    pub contracts: i64,
    /// The suppliers with the most contracts (ties by id).
    pub top: Vec<TopSupplier>,
    /// The fraction of contracts the top suppliers hold together.
    #[schema(example = 0.836)]
    pub top_share: f64,
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
            "top_share": 0.836
        })),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/insights/summary")]
pub async fn summary(
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<SummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    let top = query.0.top.map_or(15, |t| t.0);
    let criteria = query.0.criteria();
    let (counts, top_suppliers) = db::run(&pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        Ok((
            query::counts(conn, &filter)?,
            query::top_suppliers(conn, &filter, i64::from(top))?,
        ))
    })
    .await?;
    let share = |contracts: i64| {
        if counts.contracts == 0 {
            0.0
        } else {
            contracts as f64 / counts.contracts as f64
        }
    };
    let held: i64 = top_suppliers.iter().map(|s| s.contracts).sum();
    Ok(HttpResponse::Ok().json(Summary {
        authorities: counts.authorities,
        suppliers: counts.suppliers,
        systems: counts.systems,
        contracts: counts.contracts,
        top: top_suppliers
            .into_iter()
            .map(|s| TopSupplier {
                share: round(share(s.contracts), 4),
                supplier_id: s.supplier_id,
                supplier_name: s.supplier_name,
                contracts: s.contracts,
            })
            .collect(),
        top_share: round(share(held), 4),
    }))
}

contract_filter_query! {
    /// The contract filters.
    DataAccessQuery {
        /// `csv` for the suppliers as CSV.
        #[param(value_type = Option<ListFormat>)]
        format: Option<ListFormat>,
    }
}

/// How boroughs get their data out of one supplier's systems.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupplierDataAccess {
    pub supplier_id: String,
    pub supplier_name: String,
    pub contracts: i64,
    pub included: i64,
    pub charged: i64,
    pub unavailable: i64,
    pub unknown: i64,
    /// The fraction of its contracts where the borough is charged for, or cannot get, its data.
    #[schema(example = 0.3333)]
    pub share_charged_or_unavailable: f64,
}

/// Data access by supplier.
#[derive(Debug, Serialize, ToSchema)]
pub struct DataAccessInsight {
    /// Highest share charged or unavailable first, then most contracts.
    pub items: Vec<SupplierDataAccess>,
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
                "charged": 20, "unavailable": 4, "unknown": 12, "share_charged_or_unavailable": 0.3636}]})),
            (String = "text/csv"))),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
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
    let criteria = query.criteria();
    let rows = db::run(&pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        Ok(query::data_access_by_supplier(conn, &filter)?)
    })
    .await?;
    let mut items: Vec<SupplierDataAccess> = rows
        .into_iter()
        .map(|row| SupplierDataAccess {
            share_charged_or_unavailable: round(
                (row.charged + row.unavailable) as f64 / row.contracts as f64,
                4,
            ),
            supplier_id: row.supplier_id,
            supplier_name: row.supplier_name,
            contracts: row.contracts,
            included: row.included,
            charged: row.charged,
            unavailable: row.unavailable,
            unknown: row.unknown,
        })
        .collect();
    items.sort_by(|a, b| {
        b.share_charged_or_unavailable
            .total_cmp(&a.share_charged_or_unavailable)
            .then(b.contracts.cmp(&a.contracts))
            .then(a.supplier_id.cmp(&b.supplier_id))
    });
    if respond::wants_csv(&req, query.format) {
        return csv_table(
            "data-access.csv",
            &[
                "supplier_id",
                "supplier_name",
                "contracts",
                "included",
                "charged",
                "unavailable",
                "unknown",
                "share_charged_or_unavailable",
            ],
            &items,
        );
    }
    Ok(HttpResponse::Ok().json(DataAccessInsight { items }))
}
