//! The shortcuts: narrower tables that answer an insight in place of the contracts when the
//! filter narrows only by their keys. Mostly running totals (migration `insight_rollups`), each
//! its base row plus the deltas the triggers appended since the last [`compact`]; and the
//! service-area rows, which carry a copy of their contract's end date, borough and value.
//!
//! Every function here answers exactly what its counterpart over the contracts in
//! [`super::insights`] answers (a test compares them after random writes).

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_query;
use diesel::sql_types::{Array, BigInt, Date, Text};

use super::contracts::{ContractFilter, Dimensions};
use super::insight_rows::{
    AreaSupplier, AreaTotals, BoroughFootprint, BoroughRatings, Counts, DataAccessCounts,
    PeriodTotals, SupplierCount,
};

/// A key column of the shortcuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Borough,
    Supplier,
    System,
    ServiceArea,
}

impl Key {
    const ALL: [Key; 4] = [Key::Borough, Key::Supplier, Key::System, Key::ServiceArea];

    fn column(self) -> &'static str {
        match self {
            Key::Borough => "borough_id",
            Key::Supplier => "supplier_id",
            Key::System => "system_id",
            Key::ServiceArea => "service_area_id",
        }
    }

    fn values(self, dimensions: &Dimensions) -> Option<&Vec<String>> {
        match self {
            Key::Borough => dimensions.boroughs.as_ref(),
            Key::Supplier => dimensions.suppliers.as_ref(),
            Key::System => dimensions.systems.as_ref(),
            Key::ServiceArea => dimensions.service_areas.as_ref(),
        }
    }
}

/// A narrower table (or index) that can answer an insight in place of the contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// The borough-and-supplier totals (with the borough-supplier-system and
    /// area-supplier-borough ones for the same keys): by borough and supplier.
    BoroughSupplier,
    /// The borough-and-quarter totals: by borough.
    BoroughQuarter,
    /// The area-supplier-borough totals: by service area, supplier and borough.
    AreaSupplierBorough,
    /// The service-area rows: by end-date window, borough and service area.
    AreaEndDates,
    /// The contracts' own key columns and their indexes: by any key, but nothing else.
    ContractKeys,
}

impl Shortcut {
    fn keys(self) -> &'static [Key] {
        match self {
            Shortcut::BoroughSupplier => &[Key::Borough, Key::Supplier],
            Shortcut::BoroughQuarter => &[Key::Borough],
            Shortcut::AreaSupplierBorough => &[Key::ServiceArea, Key::Supplier, Key::Borough],
            Shortcut::AreaEndDates => &[Key::ServiceArea, Key::Borough],
            Shortcut::ContractKeys => &Key::ALL,
        }
    }

    /// The filter as this shortcut reads it, or `None` when it narrows by anything else.
    pub fn narrowing(self, filter: &ContractFilter) -> Option<Narrowing> {
        let (ends_after, ends_before, dimensions) = if self == Shortcut::AreaEndDates {
            filter.end_window()?
        } else {
            (None, None, filter.dimensions()?)
        };
        Key::ALL
            .iter()
            .all(|key| self.keys().contains(key) || key.values(&dimensions).is_none())
            .then_some(Narrowing {
                ends_after,
                ends_before,
                dimensions,
            })
    }
}

/// What a filter narrows by, when a [`Shortcut`] can answer it: only that shortcut's keys (and,
/// for [`Shortcut::AreaEndDates`] alone, an end-date window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Narrowing {
    pub ends_after: Option<NaiveDate>,
    pub ends_before: Option<NaiveDate>,
    pub dimensions: Dimensions,
}

impl Narrowing {
    /// The narrowing as SQL conditions on a shortcut's columns, with their values bound.
    fn conditions(
        &self,
        select: impl FnOnce(&str) -> String,
    ) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        let mut conditions = vec!["true".to_owned()];
        let mut binds = 0;
        let mut next = || {
            binds += 1;
            binds
        };
        if self.ends_after.is_some() {
            conditions.push(format!("end_date >= ${}", next()));
        }
        if self.ends_before.is_some() {
            conditions.push(format!("end_date <= ${}", next()));
        }
        let mut ids = Vec::new();
        for key in Key::ALL {
            if let Some(values) = key.values(&self.dimensions) {
                conditions.push(format!("{} = ANY(${})", key.column(), next()));
                ids.push(values.clone());
            }
        }
        let mut query = sql_query(select(&conditions.join(" AND "))).into_boxed::<Pg>();
        for day in [self.ends_after, self.ends_before].into_iter().flatten() {
            query = query.bind::<Date, _>(day);
        }
        for values in ids {
            query = query.bind::<Array<Text>, _>(values);
        }
        query
    }

    /// The current totals of `table` (base plus deltas) narrowed so, summed per `group` with
    /// `sums` (SQL over the columns) as `t`, followed by `select`, which reads `t`.
    fn totals(
        &self,
        table: &str,
        group: &str,
        sums: &str,
        select: &str,
    ) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        self.conditions(|narrowed| {
            format!(
                "WITH t AS (SELECT {group}, {sums} \
                 FROM (SELECT * FROM {table} UNION ALL SELECT * FROM {table}_delta) u \
                 WHERE {narrowed} GROUP BY {group} HAVING sum(contracts) <> 0) {select}"
            )
        })
    }

    /// The borough-and-supplier totals, summed with `sums`, followed by `select`.
    fn by_borough_and_supplier(
        &self,
        sums: &str,
        select: &str,
    ) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        self.totals(BOROUGH_SUPPLIER, "borough_id, supplier_id", sums, select)
    }
}

const BOROUGH_SUPPLIER: &str = "rollup_borough_supplier";
const BOROUGH_SUPPLIER_SOURCE: &str = "rollup_borough_supplier_source";
const BOROUGH_SYSTEM: &str = "rollup_borough_system";
const BOROUGH_QUARTER: &str = "rollup_borough_quarter";
const AREA_SUPPLIER_BOROUGH: &str = "rollup_area_supplier_borough";

/// Per service area, for [`Shortcut::AreaEndDates`]: one range scan of the service-area rows.
pub fn totals_by_area(conn: &mut PgConnection, n: &Narrowing) -> QueryResult<Vec<AreaTotals>> {
    // Per (area, borough) first, so that distinct boroughs are a count of groups.
    n.conditions(|narrowed| {
        format!(
            "SELECT service_area_id, sum(contracts)::int8 AS contracts, count(*) AS boroughs, \
             sum(annual_value_gbp) AS annual_value_gbp \
             FROM (SELECT service_area_id, borough_id, count(*) AS contracts, \
             sum(annual_value_gbp) AS annual_value_gbp FROM contract_service_areas \
             WHERE {narrowed} GROUP BY 1, 2) t GROUP BY 1 ORDER BY 1"
        )
    })
    .load(conn)
}

/// A source and how many of the contracts came from it.
#[derive(Debug, QueryableByName)]
struct SourceCount {
    #[diesel(sql_type = diesel::sql_types::Text)]
    source: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    contracts: i64,
}

/// For [`Shortcut::BoroughSupplier`]: the contracts counted by source.
pub fn contracts_by_source(
    conn: &mut PgConnection,
    n: &Narrowing,
) -> QueryResult<std::collections::BTreeMap<String, i64>> {
    let rows: Vec<SourceCount> = n
        .totals(
            BOROUGH_SUPPLIER_SOURCE,
            "borough_id, supplier_id, source",
            "sum(contracts) AS contracts",
            "SELECT source, sum(contracts)::int8 AS contracts FROM t GROUP BY source",
        )
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| (row.source, row.contracts))
        .collect())
}

/// For [`Shortcut::BoroughSupplier`].
pub fn ratings_by_borough(
    conn: &mut PgConnection,
    n: &Narrowing,
) -> QueryResult<Vec<BoroughRatings>> {
    n.by_borough_and_supplier(
        "sum(contracts) AS contracts, sum(satisfaction_sum) AS ss, sum(satisfaction_n) AS sn, \
         sum(value_for_money_sum) AS vs, sum(value_for_money_n) AS vn",
        "SELECT borough_id, (SELECT b.name FROM boroughs b WHERE b.id = t.borough_id) AS borough_name, \
         count(*) AS suppliers, sum(contracts)::int8 AS contracts, \
         (sum(ss) / nullif(sum(sn), 0))::float8 AS mean_satisfaction, \
         (sum(vs) / nullif(sum(vn), 0))::float8 AS mean_value_for_money \
         FROM t GROUP BY borough_id ORDER BY borough_id",
    )
    .load(conn)
}

/// For [`Shortcut::BoroughSupplier`].
pub fn data_access_by_supplier(
    conn: &mut PgConnection,
    n: &Narrowing,
) -> QueryResult<Vec<DataAccessCounts>> {
    n.by_borough_and_supplier(
        "sum(contracts) AS contracts, sum(data_included) AS included, \
         sum(data_charged) AS charged, sum(data_unavailable) AS unavailable, \
         sum(data_unknown) AS unknown",
        "SELECT supplier_id, (SELECT s.name FROM suppliers s WHERE s.id = t.supplier_id) AS supplier_name, \
         sum(contracts)::int8 AS contracts, sum(included)::int8 AS included, \
         sum(charged)::int8 AS charged, sum(unavailable)::int8 AS unavailable, \
         sum(unknown)::int8 AS unknown \
         FROM t GROUP BY supplier_id ORDER BY supplier_id",
    )
    .load(conn)
}

#[derive(QueryableByName)]
struct CountsRow {
    #[diesel(sql_type = BigInt)]
    authorities: i64,
    #[diesel(sql_type = BigInt)]
    suppliers: i64,
    #[diesel(sql_type = BigInt)]
    contracts: i64,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// For [`Shortcut::BoroughSupplier`].
pub fn counts(conn: &mut PgConnection, n: &Narrowing) -> QueryResult<Counts> {
    let totals: CountsRow = n
        .by_borough_and_supplier(
            "sum(contracts) AS contracts",
            "SELECT count(DISTINCT borough_id) AS authorities, \
             count(DISTINCT supplier_id) AS suppliers, \
             coalesce(sum(contracts), 0)::int8 AS contracts FROM t",
        )
        .get_result(conn)?;
    let systems: CountRow = n
        .totals(
            BOROUGH_SYSTEM,
            "borough_id, supplier_id, system_id",
            "sum(contracts) AS contracts",
            "SELECT count(DISTINCT system_id) AS count FROM t",
        )
        .get_result(conn)?;
    Ok(Counts {
        authorities: totals.authorities,
        suppliers: totals.suppliers,
        systems: systems.count,
        contracts: totals.contracts,
    })
}

/// For [`Shortcut::BoroughSupplier`].
pub fn top_suppliers(
    conn: &mut PgConnection,
    n: &Narrowing,
    top: i64,
) -> QueryResult<Vec<SupplierCount>> {
    n.by_borough_and_supplier(
        "sum(contracts) AS contracts",
        &format!(
            "SELECT supplier_id, (SELECT s.name FROM suppliers s WHERE s.id = t.supplier_id) AS supplier_name, \
             sum(contracts)::int8 AS contracts \
             FROM t GROUP BY supplier_id ORDER BY 3 DESC, supplier_id LIMIT {top}"
        ),
    )
    .load(conn)
}

/// For [`Shortcut::BoroughQuarter`]. `unit` is `quarter` or `year` (checked by the caller's
/// type, never free text).
pub fn expiry_timeline(
    conn: &mut PgConnection,
    n: &Narrowing,
    unit: &'static str,
) -> QueryResult<Vec<PeriodTotals>> {
    // Per (borough, period) first, so that a borough counts once in a year of four quarters.
    n.totals(
        BOROUGH_QUARTER,
        "borough_id, quarter",
        "sum(contracts) AS contracts, sum(annual_value) AS annual_value, \
         sum(annual_values) AS annual_values",
        &format!(
            "SELECT date_trunc('{unit}', quarter)::date AS period_start, sum(contracts)::int8 AS contracts, \
             count(DISTINCT borough_id) AS boroughs, \
             CASE WHEN sum(annual_values) > 0 THEN sum(annual_value) END AS annual_value_gbp \
             FROM t GROUP BY 1 ORDER BY 1"
        ),
    )
    .load(conn)
}

/// For [`Shortcut::AreaSupplierBorough`].
pub fn suppliers_by_area(conn: &mut PgConnection, n: &Narrowing) -> QueryResult<Vec<AreaSupplier>> {
    n.totals(
        AREA_SUPPLIER_BOROUGH,
        "service_area_id, supplier_id, borough_id",
        "sum(contracts) AS contracts",
        "SELECT service_area_id, supplier_id, \
         (SELECT s.name FROM suppliers s WHERE s.id = t.supplier_id) AS supplier_name, \
         sum(contracts)::int8 AS contracts, count(*) AS boroughs \
         FROM t GROUP BY service_area_id, supplier_id ORDER BY service_area_id, 4 DESC, supplier_id",
    )
    .load(conn)
}

#[derive(QueryableByName)]
struct FootprintRow {
    #[diesel(sql_type = Text)]
    borough_id: String,
    #[diesel(sql_type = Text)]
    borough_name: String,
    #[diesel(sql_type = BigInt)]
    contracts: i64,
}

#[derive(QueryableByName)]
struct PairRow {
    #[diesel(sql_type = Text)]
    borough_id: String,
    #[diesel(sql_type = Text)]
    id: String,
}

/// For [`Shortcut::BoroughSupplier`]: per borough, the contracts, service areas and systems.
pub fn footprint(conn: &mut PgConnection, n: &Narrowing) -> QueryResult<Vec<BoroughFootprint>> {
    let boroughs: Vec<FootprintRow> = n
        .by_borough_and_supplier(
            "sum(contracts) AS contracts",
            "SELECT borough_id, (SELECT b.name FROM boroughs b WHERE b.id = t.borough_id) AS borough_name, \
             sum(contracts)::int8 AS contracts FROM t GROUP BY borough_id ORDER BY borough_id",
        )
        .load(conn)?;
    let mut pairs = |table: &str, column: &str| -> QueryResult<HashMap<String, Vec<String>>> {
        let rows: Vec<PairRow> = n
            .totals(
                table,
                &format!("borough_id, supplier_id, {column}"),
                "sum(contracts) AS contracts",
                &format!("SELECT DISTINCT borough_id, {column} AS id FROM t"),
            )
            .load(conn)?;
        let mut by_borough: HashMap<String, Vec<String>> = HashMap::new();
        for pair in rows {
            by_borough.entry(pair.borough_id).or_default().push(pair.id);
        }
        for ids in by_borough.values_mut() {
            ids.sort();
        }
        Ok(by_borough)
    };
    let mut areas = pairs(AREA_SUPPLIER_BOROUGH, "service_area_id")?;
    let mut systems = pairs(BOROUGH_SYSTEM, "system_id")?;
    Ok(boroughs
        .into_iter()
        .map(|b| BoroughFootprint {
            service_area_ids: areas.remove(&b.borough_id).unwrap_or_default(),
            system_ids: systems.remove(&b.borough_id).unwrap_or_default(),
            borough_id: b.borough_id,
            borough_name: b.borough_name,
            contracts: b.contracts,
        })
        .collect())
}

/// Folds the deltas into the totals; cheap when there are none.
pub fn compact(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT rollup_compact()").execute(conn)?;
    Ok(())
}

/// Recomputes every total from the contracts (after a bulk load with the triggers disabled).
pub fn rebuild(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT rollup_rebuild()").execute(conn)?;
    Ok(())
}
