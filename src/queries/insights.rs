//! The aggregates behind `/insights`: each one query over the contracts a filter selects, or
//! over a narrower table when [`Source::for_filter`] finds that one answers the same.

use std::collections::BTreeMap;

use bigdecimal::BigDecimal;
use chrono::NaiveDate;
use diesel::dsl::{sql, EqAny, Or};
use diesel::expression::SqlLiteral;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Double, Nullable, Numeric, SmallInt, Text};

use super::contracts::ContractFilter;
use super::insight_rows::{
    AreaSupplier, AreaTotals, BoroughFootprint, BoroughRatings, Counts, DataAccessCounts,
    PeriodTotals, SupplierCount,
};
use super::rollups::{self, Narrowing, Shortcut};
use crate::db::schema::{contract_service_areas, contracts};

/// Where an insight reads from: the one place that chooses between a shortcut and the contracts.
#[derive(Debug)]
pub enum Source<'f> {
    /// The shortcut's table, narrowed so.
    Shortcut(Narrowing),
    /// The contracts the filter selects.
    Contracts(&'f ContractFilter),
}

impl<'f> Source<'f> {
    /// `shortcut` when the filter narrows only by what it keys on, the contracts otherwise.
    pub fn for_filter(filter: &'f ContractFilter, shortcut: Shortcut) -> Source<'f> {
        shortcut
            .narrowing(filter)
            .map_or(Source::Contracts(filter), Source::Shortcut)
    }

    /// Reads with `shortcut` or with `contracts`, as the source says.
    pub fn read<T>(
        self,
        conn: &mut PgConnection,
        shortcut: impl FnOnce(&mut PgConnection, &Narrowing) -> QueryResult<T>,
        contracts: impl FnOnce(&mut PgConnection, &ContractFilter) -> QueryResult<T>,
    ) -> QueryResult<T> {
        match self {
            Source::Shortcut(narrowing) => shortcut(conn, &narrowing),
            Source::Contracts(filter) => contracts(conn, filter),
        }
    }
}

/// Declares insights read through [`Source`]: `name(conn, filter)` reads the shortcut's table
/// with `rollups::name` when the filter allows it, the contracts with `name_from_contracts`
/// otherwise.
macro_rules! read_through_source {
    ($($(#[$meta:meta])* $name:ident: $shortcut:ident, $from_contracts:ident -> $answer:ty;)*) => {$(
        $(#[$meta])*
        pub fn $name(conn: &mut PgConnection, filter: &ContractFilter) -> QueryResult<$answer> {
            Source::for_filter(filter, Shortcut::$shortcut).read(conn, rollups::$name, $from_contracts)
        }
    )*};
}

read_through_source! {
    /// Per service area: contracts, boroughs and annual value.
    totals_by_area: AreaEndDates, totals_by_area_from_contracts -> Vec<AreaTotals>;
    /// Per service area, each supplier's contracts and boroughs, largest first.
    suppliers_by_area: AreaSupplierBorough, suppliers_by_area_from_contracts -> Vec<AreaSupplier>;
    /// Per borough: suppliers, contracts and mean ratings.
    ratings_by_borough: BoroughSupplier, ratings_by_borough_from_contracts -> Vec<BoroughRatings>;
    /// Per supplier: contracts by data access.
    data_access_by_supplier: BoroughSupplier, data_access_by_supplier_from_contracts -> Vec<DataAccessCounts>;
    /// The headline counts.
    counts: BoroughSupplier, counts_from_contracts -> Counts;
    /// Per borough: contracts, service areas and systems.
    footprint: BoroughSupplier, footprint_from_contracts -> Vec<BoroughFootprint>;
    /// The matching contracts counted by their `source`, so that an answer can say which of
    /// the contracts behind it are real and which are invented.
    contracts_by_source: BoroughSupplier, contracts_by_source_from_contracts -> BTreeMap<String, i64>;
}

/// Per period of `unit` (`quarter` or `year`, checked by the caller's type, never free text):
/// contracts, boroughs and annual value ending in it.
pub fn expiry_timeline(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    unit: &'static str,
) -> QueryResult<Vec<PeriodTotals>> {
    Source::for_filter(filter, Shortcut::BoroughQuarter).read(
        conn,
        |conn, n| rollups::expiry_timeline(conn, n, unit),
        |conn, filter| expiry_timeline_from_contracts(conn, filter, unit),
    )
}

/// The `top` suppliers by matching contracts (ties by id).
pub fn top_suppliers(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    top: i64,
) -> QueryResult<Vec<SupplierCount>> {
    Source::for_filter(filter, Shortcut::BoroughSupplier).read(
        conn,
        |conn, n| rollups::top_suppliers(conn, n, top),
        |conn, filter| top_suppliers_from_contracts(conn, filter, top),
    )
}

/// [`contracts_by_source`] counted from the contracts, for any filter.
pub fn contracts_by_source_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<BTreeMap<String, i64>> {
    let mut query = contracts::table
        .group_by(contracts::source)
        .select((contracts::source, sql::<BigInt>("count(*)")))
        .into_boxed();
    // A plain `IN`, not `selected`'s `false OR IN`, which PostgreSQL cannot turn into a
    // semi-join: with it, a borough's count took three times as long at 300,000 contracts.
    if !filter.is_unfiltered() {
        query = query.filter(contracts::id.eq_any(filter.ids()));
    }
    let rows: Vec<(String, i64)> = query.load(conn)?;
    Ok(rows.into_iter().collect())
}

// The `_from_contracts` functions below answer for any filter; they are also the reference the
// shortcuts are tested against.

/// The matching contracts' ids, as a condition on `id` (a contract id column): `true` when the
/// filter selects every contract, so PostgreSQL folds `true OR id IN (...)` away and never runs
/// the subquery; `false OR id IN (...)` otherwise.
fn selected<'f, C>(
    id: C,
    filter: &'f ContractFilter,
) -> Or<SqlLiteral<Bool>, EqAny<C, contracts::BoxedQuery<'f, Pg, BigInt>>>
where
    C: Expression<SqlType = BigInt>,
{
    let all = sql::<Bool>(if filter.is_unfiltered() {
        "true"
    } else {
        "false"
    });
    all.or(id.eq_any(filter.ids()))
}

/// The name of the contract's supplier, for a select list.
fn supplier_name() -> SqlLiteral<Text> {
    sql("(SELECT s.name FROM suppliers s WHERE s.id = contracts.supplier_id)")
}

/// The [`SupplierCount`] of a group of contracts grouped by supplier, for a select list.
fn supplier_count() -> (contracts::supplier_id, SqlLiteral<Text>, SqlLiteral<BigInt>) {
    (contracts::supplier_id, supplier_name(), sql("count(*)"))
}

/// The name of the contract's borough, for a select list.
fn borough_name() -> SqlLiteral<Text> {
    sql("(SELECT b.name FROM boroughs b WHERE b.id = contracts.borough_id)")
}

/// The [`Totals`] of the contracts in a group, for a select list.
fn totals() -> (
    SqlLiteral<BigInt>,
    SqlLiteral<BigInt>,
    SqlLiteral<Nullable<Numeric>>,
) {
    (
        sql("count(*)"),
        sql("count(DISTINCT contracts.borough_id)"),
        sql("sum(contracts.annual_value_gbp)"),
    )
}

/// The service areas an area-based insight covers: those the filter names, or every area.
fn area_restriction(filter: &ContractFilter) -> (Vec<String>, SqlLiteral<Bool>) {
    match filter.service_areas() {
        Some(areas) => (areas.to_vec(), sql("false")),
        None => (Vec::new(), sql("true")),
    }
}

/// The matching contracts joined to their service areas, within the areas the filter names.
macro_rules! matching_area_rows {
    ($filter:expr) => {{
        let (areas, all_areas) = area_restriction($filter);
        contract_service_areas::table
            .inner_join(contracts::table)
            .filter(selected(contract_service_areas::contract_id, $filter))
            .filter(
                contract_service_areas::service_area_id
                    .eq_any(areas)
                    .or(all_areas),
            )
    }};
}

pub fn totals_by_area_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<AreaTotals>> {
    matching_area_rows!(filter)
        .group_by(contract_service_areas::service_area_id)
        .select((contract_service_areas::service_area_id, totals()))
        .order(contract_service_areas::service_area_id)
        .load(conn)
}

pub fn suppliers_by_area_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<AreaSupplier>> {
    matching_area_rows!(filter)
        .group_by((
            contract_service_areas::service_area_id,
            contracts::supplier_id,
        ))
        .select((
            contract_service_areas::service_area_id,
            supplier_count(),
            sql::<BigInt>("count(DISTINCT contracts.borough_id)"),
        ))
        .order((
            contract_service_areas::service_area_id.asc(),
            sql::<BigInt>("count(*)").desc(),
            contracts::supplier_id.asc(),
        ))
        .load(conn)
}

/// `unit` is `quarter` or `year` (checked by the caller's type, never free text).
pub fn expiry_timeline_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    unit: &'static str,
) -> QueryResult<Vec<PeriodTotals>> {
    let period = format!("date_trunc('{unit}', contracts.end_date)::date");
    contracts::table
        .filter(selected(contracts::id, filter))
        .select((sql::<Date>(&period), totals()))
        .filter(contracts::end_date.is_not_null())
        .group_by(sql::<Date>("1"))
        .order(sql::<Date>("1"))
        .load(conn)
}

pub fn ratings_by_borough_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<BoroughRatings>> {
    contracts::table
        .filter(selected(contracts::id, filter))
        .select((
            contracts::borough_id,
            borough_name(),
            sql::<BigInt>("count(DISTINCT contracts.supplier_id)"),
            sql::<BigInt>("count(*)"),
            sql::<Nullable<Double>>("avg(contracts.satisfaction)::float8"),
            sql::<Nullable<Double>>("avg(contracts.value_for_money)::float8"),
        ))
        .group_by(contracts::borough_id)
        .order(contracts::borough_id)
        .load(conn)
}

pub fn data_access_by_supplier_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<DataAccessCounts>> {
    let of = |value: &str| {
        sql::<BigInt>(&format!(
            "count(*) FILTER (WHERE contracts.data_access = '{value}')"
        ))
    };
    contracts::table
        .filter(selected(contracts::id, filter))
        .select((
            supplier_count(),
            of("included"),
            of("charged"),
            of("unavailable"),
            of("unknown"),
        ))
        .group_by(contracts::supplier_id)
        .order(contracts::supplier_id)
        .load(conn)
}

pub fn counts_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Counts> {
    contracts::table
        .filter(selected(contracts::id, filter))
        .select((
            sql::<BigInt>("count(DISTINCT contracts.borough_id)"),
            sql::<BigInt>("count(DISTINCT contracts.supplier_id)"),
            sql::<BigInt>("count(DISTINCT contracts.system_id)"),
            sql::<BigInt>("count(*)"),
        ))
        .get_result(conn)
}

/// The `top` suppliers by matching contracts (ties by id).
pub fn top_suppliers_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    top: i64,
) -> QueryResult<Vec<SupplierCount>> {
    contracts::table
        .filter(selected(contracts::id, filter))
        .select(supplier_count())
        .group_by(contracts::supplier_id)
        .order((
            sql::<BigInt>("count(*)").desc(),
            contracts::supplier_id.asc(),
        ))
        .limit(top)
        .load(conn)
}

/// Per borough, the matching contracts with their service areas and systems.
pub fn footprint_from_contracts(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<BoroughFootprint>> {
    type Row = (String, String, i64, Vec<String>, Vec<String>);
    let rows: Vec<Row> = contracts::table
        .filter(selected(contracts::id, filter))
        .group_by(contracts::borough_id)
        .select((
            contracts::borough_id,
            borough_name(),
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

/// One (service area, contract) pair for the joint-procurement scan.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct AreaContract {
    pub service_area_id: String,
    pub id: i64,
    pub borough_id: String,
    pub supplier_id: String,
    pub end_date: NaiveDate,
    pub annual_value_gbp: Option<BigDecimal>,
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
        .filter(selected(contract_service_areas::contract_id, filter))
        .filter(contracts::end_date.is_not_null())
        .select((
            contract_service_areas::service_area_id,
            contracts::id,
            contracts::borough_id,
            contracts::supplier_id,
            contracts::end_date.assume_not_null(),
            contracts::annual_value_gbp,
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

/// Where a joint-procurement group by service area lies: read by index probes of the
/// service-area rows, without its other figures (see [`span_totals`]).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct GroupSpan {
    #[diesel(sql_type = Text)]
    pub service_area_id: String,
    #[diesel(sql_type = Date)]
    pub first_end_date: NaiveDate,
    #[diesel(sql_type = Date)]
    pub last_end_date: NaiveDate,
}

/// Every joint-procurement group by service area (ended ones too) of the service-area rows `n`
/// narrows to, by area; for [`Shortcut::AreaEndDates`] narrowings. The migration
/// `joint_procurement_spans` says how.
pub fn group_spans(
    conn: &mut PgConnection,
    n: &Narrowing,
    window_months: u32,
    min_boroughs: u32,
) -> QueryResult<Vec<GroupSpan>> {
    diesel::sql_query(
        "SELECT service_area_id, first_end_date, last_end_date \
         FROM joint_procurement_spans($1, $2, $3, $4, $5, $6)",
    )
    .bind::<Nullable<Array<Text>>, _>(n.dimensions.service_areas.clone())
    .bind::<Nullable<Array<Text>>, _>(n.dimensions.boroughs.clone())
    .bind::<Nullable<Date>, _>(n.ends_after)
    .bind::<Nullable<Date>, _>(n.ends_before)
    .bind::<diesel::sql_types::Integer, _>(i32::try_from(window_months).unwrap_or(i32::MAX))
    .bind::<diesel::sql_types::Integer, _>(i32::try_from(min_boroughs).unwrap_or(i32::MAX))
    .load(conn)
}

/// A group's figures besides its span.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct SpanTotals {
    /// Which span, counting from 1.
    #[diesel(sql_type = BigInt)]
    pub ord: i64,
    #[diesel(sql_type = BigInt)]
    pub contracts: i64,
    #[diesel(sql_type = Numeric)]
    pub annual_value_gbp: BigDecimal,
    /// Sorted.
    #[diesel(sql_type = Array<Text>)]
    pub borough_ids: Vec<String>,
}

/// The contracts, known annual value and boroughs of each of `spans` (by `ord`, the span's
/// place in `spans` from 1), from the service-area rows `n` narrows to: a range of the (area,
/// end date) index each.
pub fn span_totals(
    conn: &mut PgConnection,
    n: &Narrowing,
    spans: &[GroupSpan],
) -> QueryResult<Vec<SpanTotals>> {
    let areas: Vec<&str> = spans.iter().map(|s| s.service_area_id.as_str()).collect();
    let firsts: Vec<NaiveDate> = spans.iter().map(|s| s.first_end_date).collect();
    let lasts: Vec<NaiveDate> = spans.iter().map(|s| s.last_end_date).collect();
    // Per (group, borough) first, so that each group's boroughs come out distinct and sorted.
    diesel::sql_query(
        "SELECT ord, sum(n)::int8 AS contracts, coalesce(sum(v), 0) AS annual_value_gbp, \
         array_agg(borough_id ORDER BY borough_id) AS borough_ids \
         FROM (SELECT g.ord, c.borough_id, count(*) AS n, sum(c.annual_value_gbp) AS v \
               FROM unnest($1::text[], $2::date[], $3::date[]) WITH ORDINALITY g(area, first, last, ord) \
               JOIN contract_service_areas c ON c.service_area_id = g.area \
                AND c.end_date BETWEEN g.first AND g.last \
               WHERE $4::text[] IS NULL OR c.borough_id = ANY($4) \
               GROUP BY 1, 2) t \
         GROUP BY ord ORDER BY ord",
    )
    .bind::<Array<Text>, _>(areas)
    .bind::<Array<Date>, _>(firsts)
    .bind::<Array<Date>, _>(lasts)
    .bind::<Nullable<Array<Text>>, _>(n.dimensions.boroughs.clone())
    .load(conn)
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

/// The matching contracts of one joint-procurement group: in `service_area_id` (and with
/// `supplier_id`), ending from `first` to `last`, by end date then id (the order of the scan).
pub fn group_members(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    service_area_id: &str,
    supplier_id: Option<&str>,
    (first, last): (NaiveDate, NaiveDate),
) -> QueryResult<Vec<GroupMember>> {
    let in_area = contract_service_areas::table
        .filter(contract_service_areas::service_area_id.eq(service_area_id))
        .select(contract_service_areas::contract_id);
    let mut query = contracts::table
        .filter(selected(contracts::id, filter))
        .filter(contracts::id.eq_any(in_area))
        .filter(contracts::end_date.between(first, last))
        .select((
            contracts::id,
            contracts::borough_id,
            contracts::supplier_id,
            contracts::system_id,
            contracts::end_date.assume_not_null(),
            contracts::annual_value_gbp,
        ))
        .into_boxed::<Pg>();
    if let Some(supplier) = supplier_id {
        query = query.filter(contracts::supplier_id.eq(supplier));
    }
    query
        .order((contracts::end_date.asc(), contracts::id.asc()))
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

/// Boroughs using the matching contracts' systems, by system, most confident first.
pub fn confidence_by_borough(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<BoroughConfidence>> {
    let mut query = contracts::table
        .select((
            contracts::borough_id,
            borough_name(),
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
    match Source::for_filter(filter, Shortcut::ContractKeys) {
        // The keys straight on the contracts, so that the (system, borough) index answers a
        // system's boroughs without visiting the contracts.
        Source::Shortcut(Narrowing { dimensions, .. }) => {
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
        Source::Contracts(filter) => query = query.filter(contracts::id.eq_any(filter.ids())),
    }
    query.load(conn)
}

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

/// One system (or, for contracts that name none, one supplier) in one borough and service
/// area (or group of areas): how many of the matching contracts it serves there.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct EstateRow {
    pub borough_id: String,
    pub service_area_id: String,
    pub system_id: Option<String>,
    pub supplier_id: String,
    pub contracts: i64,
}

/// The matching contracts of `boroughs` counted by borough, service area, system and supplier,
/// most contracts first within each borough and area. With `groups`, each area is counted under its
/// group (a top-level area counts as its own group), a contract once however many of the
/// group's areas it names.
pub fn estate(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    boroughs: &[String],
    groups: bool,
) -> QueryResult<Vec<EstateRow>> {
    let area = match groups {
        true => {
            "(SELECT coalesce(sa.parent_id, sa.id) FROM service_areas sa \
             WHERE sa.id = contract_service_areas.service_area_id)"
        }
        false => "contract_service_areas.service_area_id",
    };
    matching_area_rows!(filter)
        .filter(contracts::borough_id.eq_any(boroughs))
        .select((
            sql::<Text>("contracts.borough_id"),
            sql::<Text>(area),
            sql::<Nullable<Text>>("contracts.system_id"),
            sql::<Text>("contracts.supplier_id"),
            sql::<BigInt>("count(DISTINCT contracts.id)"),
        ))
        .group_by(sql::<Text>("1, 2, 3, 4"))
        .order(sql::<Text>("1, 2, 5 DESC, 3, 4"))
        .load(conn)
}

/// The boroughs with matching contracts (in the filter's service areas), by name.
pub fn estate_boroughs(
    conn: &mut PgConnection,
    filter: &ContractFilter,
) -> QueryResult<Vec<String>> {
    use crate::db::schema::boroughs;
    let with_contracts = matching_area_rows!(filter).select(contracts::borough_id);
    boroughs::table
        .filter(boroughs::id.eq_any(with_contracts))
        .select(boroughs::id)
        .order((boroughs::name, boroughs::id))
        .load(conn)
}

/// The names of the boroughs, service areas (with their group), suppliers and systems with the
/// given ids (and of the service areas' groups), in one statement: `(kind, id, name,
/// parent_id)` with kind one of `boroughs`, `service_areas`, `suppliers`, `systems`.
pub fn names(
    conn: &mut PgConnection,
    [boroughs, areas, suppliers, systems]: [Vec<String>; 4],
) -> QueryResult<Vec<NamedRow>> {
    diesel::sql_query(
        "SELECT 'boroughs' AS kind, id, name, NULL AS parent_id FROM boroughs WHERE id = ANY($1) \
         UNION ALL SELECT 'service_areas', id, name, parent_id FROM service_areas \
         WHERE id = ANY($2) OR id IN (SELECT parent_id FROM service_areas WHERE id = ANY($2)) \
         UNION ALL SELECT 'suppliers', id, name, NULL FROM suppliers WHERE id = ANY($3) \
         UNION ALL SELECT 'systems', id, name, NULL FROM systems WHERE id = ANY($4)",
    )
    .bind::<Array<Text>, _>(boroughs)
    .bind::<Array<Text>, _>(areas)
    .bind::<Array<Text>, _>(suppliers)
    .bind::<Array<Text>, _>(systems)
    .load(conn)
}

/// A name read by [`names`].
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct NamedRow {
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub parent_id: Option<String>,
}
