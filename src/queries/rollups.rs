//! The insights read from running totals (migration `insight_rollups`) instead of the
//! contracts, when the filter narrows only by the totals' keys. Each total is its base row plus
//! the deltas the triggers appended since the last [`compact`].
//!
//! Every function here answers exactly what its counterpart over the contracts in
//! [`super::insights`] answers (a test compares them after random writes).

use std::collections::HashMap;

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_query;
use diesel::sql_types::{Array, BigInt, Text};

use super::contracts::{ContractFilter, Dimensions};
use super::insights::{
    AreaSupplier, BoroughFootprint, BoroughRatings, Counts, PeriodTotals, SupplierCount,
    SupplierDataAccess,
};

/// A key column of the rollups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Borough,
    Supplier,
    System,
    ServiceArea,
}

impl Key {
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

const ALL_KEYS: [Key; 4] = [Key::Borough, Key::Supplier, Key::System, Key::ServiceArea];

/// The filter's dimensions, when it narrows by nothing but `keys`.
pub fn usable(filter: &ContractFilter, keys: &[Key]) -> Option<Dimensions> {
    let dimensions = filter.dimensions()?;
    ALL_KEYS
        .iter()
        .all(|key| keys.contains(key) || key.values(&dimensions).is_none())
        .then_some(dimensions)
}

/// The current totals of `table` (base plus deltas) narrowed by `keys`, summed per `group`
/// with `sums` (SQL over the columns), as a `WITH` clause named `t` ready for binding.
struct Totals {
    sql: String,
    values: Vec<Vec<String>>,
}

impl Totals {
    fn new(table: &str, dimensions: &Dimensions, keys: &[Key], group: &str, sums: &str) -> Totals {
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        for key in keys {
            if let Some(ids) = key.values(dimensions) {
                values.push(ids.clone());
                conditions.push(format!("{} = ANY(${})", key.column(), values.len()));
            }
        }
        let narrowed = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        Totals {
            sql: format!(
                "WITH t AS (SELECT {group}, {sums} \
                 FROM (SELECT * FROM {table} UNION ALL SELECT * FROM {table}_delta) u {narrowed} \
                 GROUP BY {group} HAVING sum(contracts) <> 0) "
            ),
            values,
        }
    }

    /// The borough-and-supplier totals, summed with `sums`.
    fn by_borough_and_supplier(dimensions: &Dimensions, sums: &str) -> Totals {
        Totals::new(
            BOROUGH_SUPPLIER,
            dimensions,
            BY_BOROUGH_SUPPLIER,
            "borough_id, supplier_id",
            sums,
        )
    }

    /// The totals followed by `select` (which reads `t`), with the key values bound.
    fn query(self, select: &str) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        let mut query = sql_query(format!("{}{select}", self.sql)).into_boxed::<Pg>();
        for ids in self.values {
            query = query.bind::<Array<Text>, _>(ids);
        }
        query
    }
}

const BOROUGH_SUPPLIER: &str = "rollup_borough_supplier";
const BOROUGH_SYSTEM: &str = "rollup_borough_system";
const BOROUGH_QUARTER: &str = "rollup_borough_quarter";
const AREA_SUPPLIER_BOROUGH: &str = "rollup_area_supplier_borough";

/// The keys of the borough-and-supplier totals.
pub const BY_BOROUGH_SUPPLIER: &[Key] = &[Key::Borough, Key::Supplier];
/// The keys of the borough-and-quarter totals.
pub const BY_BOROUGH: &[Key] = &[Key::Borough];
/// The keys of the service-area totals.
pub const BY_AREA_SUPPLIER_BOROUGH: &[Key] = &[Key::ServiceArea, Key::Supplier, Key::Borough];

pub fn ratings_by_borough(
    conn: &mut PgConnection,
    dimensions: &Dimensions,
) -> QueryResult<Vec<BoroughRatings>> {
    Totals::by_borough_and_supplier(
        dimensions,
        "sum(contracts) AS contracts, sum(satisfaction_sum) AS ss, sum(satisfaction_n) AS sn, \
         sum(value_for_money_sum) AS vs, sum(value_for_money_n) AS vn",
    )
    .query(
        "SELECT borough_id, (SELECT b.name FROM boroughs b WHERE b.id = t.borough_id) AS borough_name, \
         count(*) AS suppliers, sum(contracts)::int8 AS contracts, \
         (sum(ss) / nullif(sum(sn), 0))::float8 AS mean_satisfaction, \
         (sum(vs) / nullif(sum(vn), 0))::float8 AS mean_value_for_money \
         FROM t GROUP BY borough_id ORDER BY borough_id",
    )
    .load(conn)
}

pub fn data_access_by_supplier(
    conn: &mut PgConnection,
    dimensions: &Dimensions,
) -> QueryResult<Vec<SupplierDataAccess>> {
    Totals::by_borough_and_supplier(
        dimensions,
        "sum(contracts) AS contracts, sum(data_included) AS included, \
         sum(data_charged) AS charged, sum(data_unavailable) AS unavailable, \
         sum(data_unknown) AS unknown",
    )
    .query(
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

pub fn counts(conn: &mut PgConnection, dimensions: &Dimensions) -> QueryResult<Counts> {
    let totals: CountsRow = Totals::by_borough_and_supplier(
        dimensions,
        "sum(contracts) AS contracts",
    )
    .query(
        "SELECT count(DISTINCT borough_id) AS authorities, count(DISTINCT supplier_id) AS suppliers, \
         coalesce(sum(contracts), 0)::int8 AS contracts FROM t",
    )
    .get_result(conn)?;
    let systems: CountRow = Totals::new(
        BOROUGH_SYSTEM,
        dimensions,
        BY_BOROUGH_SUPPLIER,
        "borough_id, supplier_id, system_id",
        "sum(contracts) AS contracts",
    )
    .query("SELECT count(DISTINCT system_id) AS count FROM t")
    .get_result(conn)?;
    Ok(Counts {
        authorities: totals.authorities,
        suppliers: totals.suppliers,
        systems: systems.count,
        contracts: totals.contracts,
    })
}

pub fn top_suppliers(
    conn: &mut PgConnection,
    dimensions: &Dimensions,
    top: i64,
) -> QueryResult<Vec<SupplierCount>> {
    Totals::by_borough_and_supplier(
        dimensions,
        "sum(contracts) AS contracts",
    )
    .query(&format!(
        "SELECT supplier_id, (SELECT s.name FROM suppliers s WHERE s.id = t.supplier_id) AS supplier_name, \
         sum(contracts)::int8 AS contracts \
         FROM t GROUP BY supplier_id ORDER BY 3 DESC, supplier_id LIMIT {top}"
    ))
    .load(conn)
}

/// `unit` is `quarter` or `year` (checked by the caller's type, never free text).
pub fn expiry_timeline(
    conn: &mut PgConnection,
    dimensions: &Dimensions,
    unit: &'static str,
) -> QueryResult<Vec<PeriodTotals>> {
    // Per (borough, period) first, so that a borough counts once in a year of four quarters.
    Totals::new(
        BOROUGH_QUARTER,
        dimensions,
        BY_BOROUGH,
        "borough_id, quarter",
        "sum(contracts) AS contracts, sum(annual_value) AS annual_value, \
         sum(annual_values) AS annual_values",
    )
    .query(&format!(
        "SELECT date_trunc('{unit}', quarter)::date AS period_start, sum(contracts)::int8 AS contracts, \
         count(DISTINCT borough_id) AS boroughs, \
         CASE WHEN sum(annual_values) > 0 THEN sum(annual_value) END AS annual_value_gbp \
         FROM t GROUP BY 1 ORDER BY 1"
    ))
    .load(conn)
}

pub fn suppliers_by_area(
    conn: &mut PgConnection,
    dimensions: &Dimensions,
) -> QueryResult<Vec<AreaSupplier>> {
    Totals::new(
        AREA_SUPPLIER_BOROUGH,
        dimensions,
        BY_AREA_SUPPLIER_BOROUGH,
        "service_area_id, supplier_id, borough_id",
        "sum(contracts) AS contracts",
    )
    .query(
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

/// Per borough: the contracts, service areas and systems the filter selects (it narrows by
/// borough and supplier only).
pub fn footprint(
    conn: &mut PgConnection,
    dimensions: &Dimensions,
) -> QueryResult<Vec<BoroughFootprint>> {
    let boroughs: Vec<FootprintRow> = Totals::by_borough_and_supplier(
        dimensions,
        "sum(contracts) AS contracts",
    )
    .query(
        "SELECT borough_id, (SELECT b.name FROM boroughs b WHERE b.id = t.borough_id) AS borough_name, \
         sum(contracts)::int8 AS contracts FROM t GROUP BY borough_id ORDER BY borough_id",
    )
    .load(conn)?;
    let pairs = |conn: &mut PgConnection, table: &str, column: &str| -> QueryResult<Vec<PairRow>> {
        Totals::new(
            table,
            dimensions,
            BY_BOROUGH_SUPPLIER,
            &format!("borough_id, supplier_id, {column}"),
            "sum(contracts) AS contracts",
        )
        .query(&format!(
            "SELECT DISTINCT borough_id, {column} AS id FROM t"
        ))
        .load(conn)
    };
    let areas = pairs(conn, AREA_SUPPLIER_BOROUGH, "service_area_id")?;
    let systems = pairs(conn, BOROUGH_SYSTEM, "system_id")?;
    let by_borough = |pairs: Vec<PairRow>| {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for pair in pairs {
            map.entry(pair.borough_id).or_default().push(pair.id);
        }
        for ids in map.values_mut() {
            ids.sort();
        }
        map
    };
    let mut areas = by_borough(areas);
    let mut systems = by_borough(systems);
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
