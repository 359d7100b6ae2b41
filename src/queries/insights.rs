//! The aggregates behind `/insights`: each one query over the contracts a filter selects.

use bigdecimal::BigDecimal;
use chrono::NaiveDate;
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Double, Nullable, Numeric, SmallInt, Text};

use super::contracts::{ContractFilter, Dimensions};
use super::rollups::{self, BY_AREA_SUPPLIER_BOROUGH, BY_BOROUGH, BY_BOROUGH_SUPPLIER};
use crate::db::schema::{contract_service_areas, contracts};

/// One (service area, contract) pair for the joint-procurement scan.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct AreaContract {
    pub service_area_id: String,
    pub id: i64,
    pub borough_id: String,
    pub supplier_id: String,
    pub end_date: NaiveDate,
}

/// Every matching contract with an end date, once per service area, ordered by area, supplier
/// (when grouping by supplier), end date and id; streamed to `each` row by row.
pub fn area_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    by_supplier: bool,
    each: impl FnMut(AreaContract) -> bool,
) -> QueryResult<()> {
    let mut query = contract_service_areas::table
        .inner_join(contracts::table)
        .filter(matches_all(filter).or(contract_service_areas::contract_id.eq_any(filter.ids())))
        .filter(contracts::end_date.is_not_null())
        .select((
            contract_service_areas::service_area_id,
            contracts::id,
            contracts::borough_id,
            contracts::supplier_id,
            contracts::end_date.assume_not_null(),
        ))
        .into_boxed::<Pg>();
    if let Some(areas) = filter.service_areas() {
        query = query.filter(contract_service_areas::service_area_id.eq_any(areas));
    }
    query = query.order(contract_service_areas::service_area_id.asc());
    if by_supplier {
        query = query.then_order_by(contracts::supplier_id.asc());
    }
    let query = query
        .then_order_by(contracts::end_date.asc())
        .then_order_by(contracts::id.asc());
    super::for_each_row(conn, query, each)
}

/// A contract of a joint-procurement group, as the group lists it.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct GroupMember {
    pub id: i64,
    pub borough_id: String,
    pub supplier_id: String,
    pub system_id: Option<String>,
    pub end_date: NaiveDate,
    pub annual_value_gbp: Option<BigDecimal>,
}

/// The contracts `ids` (one group's), in order of end date, then id: the order of the scan.
pub fn group_members(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<GroupMember>> {
    contracts::table
        .filter(contracts::id.eq_any(ids))
        .select((
            contracts::id,
            contracts::borough_id,
            contracts::supplier_id,
            contracts::system_id,
            contracts::end_date.assume_not_null(),
            contracts::annual_value_gbp,
        ))
        .order((contracts::end_date.asc(), contracts::id.asc()))
        .load(conn)
}

/// Contracts, distinct boroughs and annual value of matching contracts, per service area.
/// Read by position from the contracts, by name from the rollups.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct AreaTotals {
    #[diesel(sql_type = Text)]
    pub service_area_id: String,
    #[diesel(sql_type = BigInt)]
    pub contracts: i64,
    #[diesel(sql_type = BigInt)]
    pub boroughs: i64,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub annual_value_gbp: Option<BigDecimal>,
}

pub fn totals_by_area(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<AreaTotals>> {
    match filter.end_window() {
        Some((after, before, dimensions))
            if dimensions.suppliers.is_none() && dimensions.systems.is_none() =>
        {
            totals_by_area_in_window(conn, after, before, &dimensions)
        }
        _ => totals_by_area_from_contracts(conn, filter),
    }
}

/// [`totals_by_area`] for a filter of an end-date window, boroughs and areas only: one range
/// scan of the service-area rows, which carry their contract's end date, borough and value.
pub fn totals_by_area_in_window(
    conn: &mut PgConnection,
    after: Option<NaiveDate>,
    before: Option<NaiveDate>,
    dimensions: &Dimensions,
) -> QueryResult<Vec<AreaTotals>> {
    let mut conditions = vec!["true".to_owned()];
    let mut binds = 0;
    let mut next = || {
        binds += 1;
        binds
    };
    if after.is_some() {
        conditions.push(format!("end_date >= ${}", next()));
    }
    if before.is_some() {
        conditions.push(format!("end_date <= ${}", next()));
    }
    if dimensions.service_areas.is_some() {
        conditions.push(format!("service_area_id = ANY(${})", next()));
    }
    if dimensions.boroughs.is_some() {
        conditions.push(format!("borough_id = ANY(${})", next()));
    }
    // Per (area, borough) first, so that distinct boroughs are a count of groups.
    let mut query = diesel::sql_query(format!(
        "SELECT service_area_id, sum(contracts)::int8 AS contracts, count(*) AS boroughs, \
         sum(annual_value_gbp) AS annual_value_gbp \
         FROM (SELECT service_area_id, borough_id, count(*) AS contracts, \
         sum(annual_value_gbp) AS annual_value_gbp FROM contract_service_areas \
         WHERE {} GROUP BY 1, 2) t GROUP BY 1 ORDER BY 1",
        conditions.join(" AND ")
    ))
    .into_boxed::<Pg>();
    for day in [after, before].into_iter().flatten() {
        query = query.bind::<Date, _>(day);
    }
    for ids in [&dimensions.service_areas, &dimensions.boroughs]
        .into_iter()
        .flatten()
    {
        query = query.bind::<Array<Text>, _>(ids.clone());
    }
    query.load(conn)
}

/// [`totals_by_area`] over the contracts, for any filter.
pub fn totals_by_area_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<AreaTotals>> {
    let (areas, all_areas) = area_restriction(filter);
    contract_service_areas::table
        .inner_join(contracts::table)
        .filter(matches_all(filter).or(contract_service_areas::contract_id.eq_any(filter.ids())))
        .filter(
            contract_service_areas::service_area_id
                .eq_any(areas)
                .or(all_areas),
        )
        .group_by(contract_service_areas::service_area_id)
        .select((
            contract_service_areas::service_area_id,
            sql::<BigInt>("count(*)"),
            sql::<BigInt>("count(DISTINCT contracts.borough_id)"),
            sql::<Nullable<Numeric>>("sum(contracts.annual_value_gbp)"),
        ))
        .order(contract_service_areas::service_area_id)
        .load(conn)
}

/// `true` when the filter selects every contract, so PostgreSQL folds `true OR id IN (...)` away
/// and never runs the subquery; `false` otherwise, leaving just the subquery.
fn matches_all(filter: &ContractFilter) -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    sql(if filter.is_unfiltered() {
        "true"
    } else {
        "false"
    })
}

/// The service areas an area-based insight covers: those the filter names, or every area.
fn area_restriction(
    filter: &ContractFilter,
) -> (
    Vec<String>,
    diesel::expression::SqlLiteral<diesel::sql_types::Bool>,
) {
    match filter.service_areas() {
        Some(areas) => (areas.to_vec(), sql("false")),
        None => (Vec::new(), sql("true")),
    }
}

// Each insight below reads the rollups when the filter narrows only by their keys, and the
// contracts otherwise; the `_from_contracts` functions are the reference the rollups are
// tested against.

pub fn suppliers_by_area(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<AreaSupplier>> {
    match rollups::usable(filter, BY_AREA_SUPPLIER_BOROUGH) {
        Some(dimensions) => rollups::suppliers_by_area(conn, &dimensions),
        None => suppliers_by_area_from_contracts(conn, filter),
    }
}

pub fn expiry_timeline(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    unit: &'static str,
) -> QueryResult<Vec<PeriodTotals>> {
    match rollups::usable(filter, BY_BOROUGH) {
        Some(dimensions) => rollups::expiry_timeline(conn, &dimensions, unit),
        None => expiry_timeline_from_contracts(conn, filter, unit),
    }
}

pub fn ratings_by_borough(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<BoroughRatings>> {
    match rollups::usable(filter, BY_BOROUGH_SUPPLIER) {
        Some(dimensions) => rollups::ratings_by_borough(conn, &dimensions),
        None => ratings_by_borough_from_contracts(conn, filter),
    }
}

pub fn data_access_by_supplier(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<SupplierDataAccess>> {
    match rollups::usable(filter, BY_BOROUGH_SUPPLIER) {
        Some(dimensions) => rollups::data_access_by_supplier(conn, &dimensions),
        None => data_access_by_supplier_from_contracts(conn, filter),
    }
}

pub fn counts(conn: &mut PgConnection, filter: &ContractFilter) -> QueryResult<Counts> {
    match rollups::usable(filter, BY_BOROUGH_SUPPLIER) {
        Some(dimensions) => rollups::counts(conn, &dimensions),
        None => counts_from_contracts(conn, filter),
    }
}

pub fn top_suppliers(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    top: i64,
) -> QueryResult<Vec<SupplierCount>> {
    match rollups::usable(filter, BY_BOROUGH_SUPPLIER) {
        Some(dimensions) => rollups::top_suppliers(conn, &dimensions, top),
        None => top_suppliers_from_contracts(conn, filter, top),
    }
}

pub fn footprint(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<BoroughFootprint>> {
    match rollups::usable(filter, BY_BOROUGH_SUPPLIER) {
        Some(dimensions) => rollups::footprint(conn, &dimensions),
        None => footprint_from_contracts(conn, filter),
    }
}

/// One supplier's contracts and boroughs within one service area.
/// Read by position from the contracts, by name from the rollups.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct AreaSupplier {
    #[diesel(sql_type = Text)]
    pub service_area_id: String,
    #[diesel(sql_type = Text)]
    pub supplier_id: String,
    #[diesel(sql_type = Text)]
    pub supplier_name: String,
    #[diesel(sql_type = BigInt)]
    pub contracts: i64,
    #[diesel(sql_type = BigInt)]
    pub boroughs: i64,
}

pub fn suppliers_by_area_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<AreaSupplier>> {
    let (areas, all_areas) = area_restriction(filter);
    contract_service_areas::table
        .inner_join(contracts::table)
        .filter(matches_all(filter).or(contract_service_areas::contract_id.eq_any(filter.ids())))
        .filter(
            contract_service_areas::service_area_id
                .eq_any(areas)
                .or(all_areas),
        )
        .group_by((
            contract_service_areas::service_area_id,
            contracts::supplier_id,
        ))
        .select((
            contract_service_areas::service_area_id,
            contracts::supplier_id,
            sql::<Text>("(SELECT s.name FROM suppliers s WHERE s.id = contracts.supplier_id)"),
            sql::<BigInt>("count(*)"),
            sql::<BigInt>("count(DISTINCT contracts.borough_id)"),
        ))
        .order((
            contract_service_areas::service_area_id.asc(),
            sql::<BigInt>("count(*)").desc(),
            contracts::supplier_id.asc(),
        ))
        .load(conn)
}

/// Contract counts, distinct boroughs and annual value of contracts ending in each period.
/// Read by position from the contracts, by name from the rollups.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct PeriodTotals {
    #[diesel(sql_type = Date)]
    pub period_start: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub contracts: i64,
    #[diesel(sql_type = BigInt)]
    pub boroughs: i64,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub annual_value_gbp: Option<BigDecimal>,
}

/// `unit` is `quarter` or `year` (checked by the caller's type, never free text).
pub fn expiry_timeline_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    unit: &'static str,
) -> QueryResult<Vec<PeriodTotals>> {
    let period = format!("date_trunc('{unit}', contracts.end_date)::date");
    contracts::table
        .filter(matches_all(filter).or(contracts::id.eq_any(filter.ids())))
        .select((
            sql::<Date>(&period),
            sql::<BigInt>("count(*)"),
            sql::<BigInt>("count(DISTINCT contracts.borough_id)"),
            sql::<Nullable<Numeric>>("sum(contracts.annual_value_gbp)"),
        ))
        .filter(contracts::end_date.is_not_null())
        .group_by(sql::<Date>("1"))
        .order(sql::<Date>("1"))
        .load(conn)
}

/// Per borough: distinct suppliers, contracts and the mean ratings (over rated contracts).
/// Read by position from the contracts, by name from the rollups.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct BoroughRatings {
    #[diesel(sql_type = Text)]
    pub borough_id: String,
    #[diesel(sql_type = Text)]
    pub borough_name: String,
    #[diesel(sql_type = BigInt)]
    pub suppliers: i64,
    #[diesel(sql_type = BigInt)]
    pub contracts: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub mean_satisfaction: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub mean_value_for_money: Option<f64>,
}

pub fn ratings_by_borough_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<BoroughRatings>> {
    contracts::table
        .filter(matches_all(filter).or(contracts::id.eq_any(filter.ids())))
        .select((
            contracts::borough_id,
            sql::<Text>("(SELECT b.name FROM boroughs b WHERE b.id = contracts.borough_id)"),
            sql::<BigInt>("count(DISTINCT contracts.supplier_id)"),
            sql::<BigInt>("count(*)"),
            sql::<Nullable<diesel::sql_types::Double>>("avg(contracts.satisfaction)::float8"),
            sql::<Nullable<diesel::sql_types::Double>>("avg(contracts.value_for_money)::float8"),
        ))
        .group_by(contracts::borough_id)
        .order(contracts::borough_id)
        .load(conn)
}

/// Per supplier: contracts by data_access value.
/// Read by position from the contracts, by name from the rollups.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct SupplierDataAccess {
    #[diesel(sql_type = Text)]
    pub supplier_id: String,
    #[diesel(sql_type = Text)]
    pub supplier_name: String,
    #[diesel(sql_type = BigInt)]
    pub contracts: i64,
    #[diesel(sql_type = BigInt)]
    pub included: i64,
    #[diesel(sql_type = BigInt)]
    pub charged: i64,
    #[diesel(sql_type = BigInt)]
    pub unavailable: i64,
    #[diesel(sql_type = BigInt)]
    pub unknown: i64,
}

pub fn data_access_by_supplier_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<SupplierDataAccess>> {
    contracts::table
        .filter(matches_all(filter).or(contracts::id.eq_any(filter.ids())))
        .select((
            contracts::supplier_id,
            sql::<Text>("(SELECT s.name FROM suppliers s WHERE s.id = contracts.supplier_id)"),
            sql::<BigInt>("count(*)"),
            sql::<BigInt>("count(*) FILTER (WHERE contracts.data_access = 'included')"),
            sql::<BigInt>("count(*) FILTER (WHERE contracts.data_access = 'charged')"),
            sql::<BigInt>("count(*) FILTER (WHERE contracts.data_access = 'unavailable')"),
            sql::<BigInt>("count(*) FILTER (WHERE contracts.data_access = 'unknown')"),
        ))
        .group_by(contracts::supplier_id)
        .order(contracts::supplier_id)
        .load(conn)
}

/// Headline counts of the matching contracts.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Counts {
    pub authorities: i64,
    pub suppliers: i64,
    pub systems: i64,
    pub contracts: i64,
}

pub fn counts_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Counts> {
    contracts::table
        .filter(matches_all(filter).or(contracts::id.eq_any(filter.ids())))
        .select((
            sql::<BigInt>("count(DISTINCT contracts.borough_id)"),
            sql::<BigInt>("count(DISTINCT contracts.supplier_id)"),
            sql::<BigInt>("count(DISTINCT contracts.system_id)"),
            sql::<BigInt>("count(*)"),
        ))
        .get_result(conn)
}

/// A supplier and how many matching contracts it holds.
/// Read by position from the contracts, by name from the rollups.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct SupplierCount {
    #[diesel(sql_type = Text)]
    pub supplier_id: String,
    #[diesel(sql_type = Text)]
    pub supplier_name: String,
    #[diesel(sql_type = BigInt)]
    pub contracts: i64,
}

/// The `top` suppliers by matching contracts (ties by id).
pub fn top_suppliers_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    top: i64,
) -> QueryResult<Vec<SupplierCount>> {
    contracts::table
        .filter(matches_all(filter).or(contracts::id.eq_any(filter.ids())))
        .select((
            contracts::supplier_id,
            sql::<Text>("(SELECT s.name FROM suppliers s WHERE s.id = contracts.supplier_id)"),
            sql::<BigInt>("count(*)"),
        ))
        .group_by(contracts::supplier_id)
        .order((
            sql::<BigInt>("count(*)").desc(),
            contracts::supplier_id.asc(),
        ))
        .limit(top)
        .load(conn)
}

/// A borough's confidence with a system (the highest over its matching contracts).
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct BoroughConfidence {
    pub borough_id: String,
    pub borough_name: String,
    pub system_id: String,
    pub system_name: String,
    pub contracts: i64,
    pub support_confidence: Option<i16>,
    pub development_confidence: Option<i16>,
}

/// Boroughs using the matching contracts' systems, most confident first.
pub fn confidence_by_borough(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<BoroughConfidence>> {
    let mut query = contracts::table
        .select((
            contracts::borough_id,
            sql::<Text>("(SELECT b.name FROM boroughs b WHERE b.id = contracts.borough_id)"),
            contracts::system_id.assume_not_null(),
            sql::<Text>("(SELECT y.name FROM systems y WHERE y.id = contracts.system_id)"),
            sql::<BigInt>("count(*)"),
            sql::<Nullable<SmallInt>>("max(contracts.support_confidence)"),
            sql::<Nullable<SmallInt>>("max(contracts.development_confidence)"),
        ))
        .filter(contracts::system_id.is_not_null())
        .group_by((contracts::system_id, contracts::borough_id))
        .order((
            contracts::system_id.asc(),
            sql::<BigInt>(
                "coalesce(max(contracts.support_confidence), 0) \
                 + coalesce(max(contracts.development_confidence), 0)",
            )
            .desc(),
            contracts::borough_id.asc(),
        ))
        .into_boxed();
    match filter.dimensions() {
        // The keys straight on the contracts, so that the (system, borough) index answers a
        // system's boroughs without visiting the contracts.
        Some(dimensions) => {
            if let Some(ids) = dimensions.systems {
                query = match ids.as_slice() {
                    [one] => query.filter(contracts::system_id.eq(one.clone())),
                    _ => query.filter(contracts::system_id.eq_any(ids)),
                };
            }
            if let Some(ids) = dimensions.boroughs {
                query = query.filter(contracts::borough_id.eq_any(ids));
            }
            if let Some(ids) = dimensions.suppliers {
                query = query.filter(contracts::supplier_id.eq_any(ids));
            }
            if let Some(ids) = dimensions.service_areas {
                query = query.filter(
                    contracts::id.eq_any(
                        contract_service_areas::table
                            .filter(contract_service_areas::service_area_id.eq_any(ids))
                            .select(contract_service_areas::contract_id),
                    ),
                );
            }
        }
        None => query = query.filter(contracts::id.eq_any(filter.ids())),
    }
    query.load(conn)
}

/// Where a supplier holds contracts, in one borough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoroughFootprint {
    pub borough_id: String,
    pub borough_name: String,
    pub contracts: i64,
    /// Sorted.
    pub service_area_ids: Vec<String>,
    /// Sorted.
    pub system_ids: Vec<String>,
}

/// Per borough, the matching contracts with their service areas and systems.
pub fn footprint_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<BoroughFootprint>> {
    type Row = (String, String, i64, Vec<String>, Vec<String>);
    let rows: Vec<Row> = contracts::table
        .filter(matches_all(filter).or(contracts::id.eq_any(filter.ids())))
        .group_by(contracts::borough_id)
        .select((
            contracts::borough_id,
            sql::<Text>("(SELECT b.name FROM boroughs b WHERE b.id = contracts.borough_id)"),
            sql::<BigInt>("count(*)"),
            sql::<Array<Text>>(
                "ARRAY(SELECT DISTINCT csa.service_area_id FROM contract_service_areas csa \
                 WHERE csa.contract_id = ANY(array_agg(contracts.id)))",
            ),
            sql::<Array<Text>>(
                "coalesce(array_agg(DISTINCT contracts.system_id) \
                 FILTER (WHERE contracts.system_id IS NOT NULL), '{}')",
            ),
        ))
        .order(contracts::borough_id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(borough_id, borough_name, contracts, mut service_area_ids, mut system_ids)| {
                service_area_ids.sort();
                system_ids.sort();
                BoroughFootprint {
                    borough_id,
                    borough_name,
                    contracts,
                    service_area_ids,
                    system_ids,
                }
            },
        )
        .collect())
}

diesel::allow_columns_to_appear_in_same_group_by_clause!(
    contract_service_areas::service_area_id,
    contracts::supplier_id,
    contracts::borough_id,
    contracts::system_id,
);

/// The systems a borough's contracts name.
pub fn systems_of_borough(conn: &mut PgConnection, borough_id: &str) -> QueryResult<Vec<String>> {
    contracts::table
        .filter(contracts::borough_id.eq(borough_id))
        .filter(contracts::system_id.is_not_null())
        .select(contracts::system_id.assume_not_null())
        .distinct()
        .order(contracts::system_id.assume_not_null())
        .load(conn)
}
