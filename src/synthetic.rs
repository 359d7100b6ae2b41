//! A synthetic UK-scale dataset for benchmarks, deterministic by seed: extra authorities beyond
//! London and up to millions of contracts over the seeded catalogue, loaded with `COPY`.
//!
//! The market is skewed like the real one (a few suppliers' systems hold most contracts), end
//! dates spread over a decade, and some contracts cover several service areas. Every synthetic
//! contract has `source = illustrative` and a `source_reference` starting `SYN-`; loading again
//! replaces the previous synthetic set. Benchmark data is not logged in the change log.
//!
//! A large load goes into the tables without their secondary indexes and foreign keys, which are
//! rebuilt from their catalogue definitions afterwards (see [`rebuild_pays_off`]).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write;
use std::time::Instant;

use chrono::{Days, Months, NaiveDate};
use diesel::connection::SimpleConnection;
use diesel::pg::CopyFormat;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::db::schema::{
    boroughs, contract_service_areas, contracts, system_service_areas, systems,
};
use crate::models::BoroughKind;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct SyntheticOptions {
    /// Authorities in all, London's 33 included.
    pub authorities: u32,
    pub contracts: u64,
    pub seed: u64,
}

/// What was generated, and how long it took.
#[derive(Debug, Clone)]
pub struct SyntheticReport {
    pub authorities_added: usize,
    pub contracts: u64,
    pub service_area_links: u64,
    pub seconds: f64,
}

impl std::fmt::Display for SyntheticReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "added {} authorities, {} contracts and {} contract service areas in {:.1} s",
            self.authorities_added, self.contracts, self.service_area_links, self.seconds
        )
    }
}

const KINDS: [BoroughKind; 4] = [
    BoroughKind::DistrictCouncil,
    BoroughKind::UnitaryAuthority,
    BoroughKind::MetropolitanBorough,
    BoroughKind::CountyCouncil,
];
const HOSTING: [(&str, u32); 6] = [
    ("on_premises", 25),
    ("supplier_hosted", 22),
    ("public_cloud", 15),
    ("saas", 25),
    ("hybrid", 7),
    ("unknown", 6),
];
const ROUTES: [(&str, u32); 5] = [
    ("open_tender", 27),
    ("framework", 38),
    ("direct_award", 18),
    ("joint_procurement", 9),
    ("unknown", 8),
];
const DATA_ACCESS: [(&str, u32); 4] = [
    ("included", 46),
    ("charged", 23),
    ("unavailable", 10),
    ("unknown", 21),
];
const FRAMEWORKS: [&str; 4] = [
    "G-Cloud 14",
    "CCS RM6259 Vertical Application Solutions",
    "CCS RM3821 Data and Application Solutions",
    "CCS RM6098 Technology Products & Associated Services 2",
];

fn io_error(error: std::io::Error) -> diesel::result::Error {
    diesel::result::Error::SerializationError(Box::new(error))
}

fn weighted<'a, R: Rng>(rng: &mut R, choices: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = choices.iter().map(|c| c.1).sum();
    let mut pick = rng.random_range(0..total);
    for (value, weight) in choices {
        if pick < *weight {
            return value;
        }
        pick -= weight;
    }
    choices[0].0
}

/// A catalogue entry the generator draws contracts from.
struct Product {
    id: String,
    name: String,
    supplier_id: String,
    areas: Vec<String>,
}

/// Cumulative weights of a Zipf-like distribution over `n` ranks (rank r has weight r^-1.1).
fn zipf_cumulative(n: usize) -> Vec<f64> {
    let mut total = 0.0;
    (1..=n)
        .map(|rank| {
            total += (rank as f64).powf(-1.1);
            total
        })
        .collect()
}

fn pick_cumulative<R: Rng>(rng: &mut R, cumulative: &[f64]) -> usize {
    let target = rng.random::<f64>() * cumulative.last().copied().unwrap_or(1.0);
    cumulative
        .partition_point(|c| *c < target)
        .min(cumulative.len() - 1)
}

/// Loads below this many rows go into the live indexes whatever the table's size.
const BULK_LOAD_MIN_ROWS: u64 = 10_000;

/// Whether a load of `rows_to_add` rows into a table holding `rows_present` should drop the
/// table's secondary indexes and foreign keys first and rebuild them afterwards: when it adds at
/// least [`BULK_LOAD_MIN_ROWS`] rows and at least as many rows as the table already holds.
///
/// Loaded into the live table, every row is inserted into every index (dozens of entries in the
/// trigram index) and checked against every referenced table one at a time; building an index
/// sorts the table once and adding a foreign key checks it with one join, which for a million
/// contracts takes less than half as long. But the rebuild reads the rows already there too, so a
/// small load into a big table is cheaper the ordinary way.
fn rebuild_pays_off(rows_to_add: u64, rows_present: u64) -> bool {
    rows_to_add >= BULK_LOAD_MIN_ROWS && rows_to_add >= rows_present
}

#[derive(QueryableByName)]
struct RowCount {
    #[diesel(sql_type = BigInt)]
    rows: i64,
}

/// A named index or constraint and the SQL that defines it, as the catalogue gives them.
#[derive(QueryableByName)]
struct Definition {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

/// A table's indexes and foreign keys dropped for a load, with what recreates them. Comments on
/// the indexes, a tablespace other than the table's and a `CLUSTER` mark are not kept; the schema
/// uses none of them.
struct DroppedForLoad {
    table: &'static str,
    /// Neither the primary key nor unique (those stay: they guard the load), nor an exclusion
    /// constraint's.
    indexes: Vec<Definition>,
    foreign_keys: Vec<Definition>,
}

impl DroppedForLoad {
    /// Saves the definitions of `table`'s secondary indexes and foreign keys, then drops them.
    fn save_and_drop(conn: &mut PgConnection, table: &'static str) -> QueryResult<Self> {
        let indexes: Vec<Definition> = diesel::sql_query(
            "SELECT format('%I.%I', n.nspname, c.relname) AS name, \
                    pg_get_indexdef(i.indexrelid) AS definition \
             FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE i.indrelid = $1::regclass AND NOT i.indisprimary AND NOT i.indisunique \
               AND NOT EXISTS (SELECT FROM pg_constraint k \
                               WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid) \
             ORDER BY c.relname",
        )
        .bind::<Text, _>(table)
        .load(conn)?;
        let foreign_keys: Vec<Definition> = diesel::sql_query(
            "SELECT quote_ident(conname) AS name, pg_get_constraintdef(oid) AS definition \
             FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f' \
             ORDER BY conname",
        )
        .bind::<Text, _>(table)
        .load(conn)?;
        if !foreign_keys.is_empty() {
            let drops: Vec<String> = foreign_keys
                .iter()
                .map(|key| format!("DROP CONSTRAINT {}", key.name))
                .collect();
            conn.batch_execute(&format!("ALTER TABLE {table} {}", drops.join(", ")))?;
        }
        if !indexes.is_empty() {
            let names: Vec<&str> = indexes.iter().map(|index| index.name.as_str()).collect();
            conn.batch_execute(&format!("DROP INDEX {}", names.join(", ")))?;
        }
        Ok(DroppedForLoad {
            table,
            indexes,
            foreign_keys,
        })
    }

    /// Builds the indexes again, each in one sort, and adds the foreign keys back, each
    /// validated in one pass over the table.
    fn recreate(self, conn: &mut PgConnection) -> QueryResult<()> {
        let started = Instant::now();
        // Sorts in memory, and B-tree builds shared with parallel workers (PostgreSQL builds a
        // GIN index in one process before version 18).
        conn.batch_execute(
            "SET LOCAL maintenance_work_mem = '512MB'; \
             SET LOCAL max_parallel_maintenance_workers = 2",
        )?;
        for index in &self.indexes {
            let built = Instant::now();
            conn.batch_execute(&index.definition)?;
            log::debug!(
                "built {} in {:.1} s",
                index.name,
                built.elapsed().as_secs_f64()
            );
        }
        if !self.foreign_keys.is_empty() {
            let adds: Vec<String> = self
                .foreign_keys
                .iter()
                .map(|key| format!("ADD CONSTRAINT {} {}", key.name, key.definition))
                .collect();
            conn.batch_execute(&format!("ALTER TABLE {} {}", self.table, adds.join(", ")))?;
        }
        log::info!(
            "rebuilt {} indexes and {} foreign keys of {} in {:.1} s",
            self.indexes.len(),
            self.foreign_keys.len(),
            self.table,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

/// Runs `load`, which adds `rows_to_add` rows to `table`, without the table's secondary indexes
/// and foreign keys when [`rebuild_pays_off`], recreating them afterwards. Inside a transaction,
/// so that nothing sees the table without them; the drop locks the table until the end.
fn load_into<T>(
    conn: &mut PgConnection,
    table: &'static str,
    rows_to_add: u64,
    load: impl FnOnce(&mut PgConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    if rows_to_add < BULK_LOAD_MIN_ROWS {
        return load(conn);
    }
    // Counting stops past the load's size: beyond that the exact number does not matter.
    let present: RowCount = diesel::sql_query(format!(
        "SELECT count(*) AS rows FROM (SELECT FROM {table} LIMIT $1) AS present"
    ))
    .bind::<BigInt, _>(i64::try_from(rows_to_add.saturating_add(1)).unwrap_or(i64::MAX))
    .get_result(conn)?;
    if !rebuild_pays_off(rows_to_add, present.rows as u64) {
        log::info!(
            "loading {rows_to_add} rows into {table} (holding more) with its indexes in place"
        );
        return load(conn);
    }
    let dropped = DroppedForLoad::save_and_drop(conn, table)?;
    let loaded = load(conn)?;
    dropped.recreate(conn)?;
    Ok(loaded)
}

/// A generated contract's service area, with the contract's values its row carries.
struct AreaLink {
    contract_id: i64,
    product: usize,
    area: usize,
    borough: String,
    end: NaiveDate,
    annual_pence: u64,
}

/// The insight rollups' per-row triggers, `ENABLE`d or `DISABLE`d (within the caller's
/// transaction).
fn set_rollup_triggers(conn: &mut PgConnection, action: &'static str) -> QueryResult<()> {
    conn.batch_execute(&format!(
        "ALTER TABLE contracts {action} TRIGGER contracts_rollup; \
         ALTER TABLE contracts {action} TRIGGER contracts_rollup_update; \
         ALTER TABLE contracts {action} TRIGGER contracts_rollup_delete; \
         ALTER TABLE contracts {action} TRIGGER contracts_rollup_source; \
         ALTER TABLE contracts {action} TRIGGER contracts_rollup_source_update; \
         ALTER TABLE contract_service_areas {action} TRIGGER contract_service_areas_rollup"
    ))
}

/// Adds authorities up to `count` and a synthetic contract set, replacing any earlier one.
pub fn generate(
    conn: &mut PgConnection,
    options: SyntheticOptions,
) -> QueryResult<SyntheticReport> {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    conn.transaction(|conn| {
        // The insight rollups' per-row triggers are off for the load (in this transaction
        // only); one set-based rebuild at the end recomputes every total.
        set_rollup_triggers(conn, "DISABLE")?;
        conn.batch_execute(
            "DELETE FROM contracts WHERE source = 'illustrative' AND source_reference LIKE 'SYN-%'",
        )?;

        let existing: i64 = boroughs::table.count().get_result(conn)?;
        // Authorities draw from their own stream, so that the contracts' draws are the same
        // whether the authorities are added now or were added by an earlier run.
        let mut authority_rng = ChaCha8Rng::seed_from_u64(options.seed.wrapping_add(1));
        let mut new_authorities = Vec::new();
        for number in (existing as u32 + 1)..=options.authorities {
            let kind = KINDS[number as usize % KINDS.len()];
            let prefix = match kind {
                BoroughKind::DistrictCouncil => "E07",
                BoroughKind::UnitaryAuthority => "E06",
                BoroughKind::MetropolitanBorough => "E08",
                _ => "E10",
            };
            new_authorities.push((
                boroughs::id.eq(format!("synthetic-authority-{number:04}")),
                boroughs::gss_code.eq(format!("{prefix}9{number:05}")),
                boroughs::name.eq(format!("Synthetic Authority {number}")),
                boroughs::official_name.eq(format!("Synthetic Authority {number} Council")),
                boroughs::kind.eq(kind.as_str()),
                boroughs::inner_london_statutory.eq(false),
                boroughs::inner_london_ons.eq(false),
                boroughs::surveyed.eq(authority_rng.random_bool(0.5)),
            ));
        }
        for chunk in new_authorities.chunks(1000) {
            diesel::insert_into(boroughs::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(conn)?;
        }
        let authorities: Vec<(String, bool)> = boroughs::table
            .select((boroughs::id, boroughs::surveyed))
            .order(boroughs::id)
            .load(conn)?;

        let mut products: Vec<Product> = systems::table
            .select((systems::id, systems::name, systems::supplier_id))
            .order(systems::id)
            .load::<(String, String, String)>(conn)?
            .into_iter()
            .map(|(id, name, supplier_id)| Product {
                id,
                name,
                supplier_id,
                areas: Vec::new(),
            })
            .collect();
        let links: Vec<(String, String)> = system_service_areas::table
            .select((system_service_areas::system_id, system_service_areas::service_area_id))
            .order((system_service_areas::system_id, system_service_areas::service_area_id))
            .load(conn)?;
        for (system, area) in links {
            if let Some(product) = products.iter_mut().find(|p| p.id == system) {
                product.areas.push(area);
            }
        }
        products.retain(|p| !p.areas.is_empty());
        // A fixed, seed-dependent popularity order: a few products hold most contracts.
        for i in (1..products.len()).rev() {
            products.swap(i, rng.random_range(0..=i));
        }
        let popularity = zipf_cumulative(products.len());
        let resellers: Vec<String> = ["capita", "arcus-global"]
            .iter()
            .map(|s| s.to_string())
            .filter(|id| products.iter().any(|p| &p.supplier_id == id))
            .collect();

        let first_id: i64 = contracts::table
            .select(diesel::dsl::max(contracts::id))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0)
            + 1;
        let decade_start = NaiveDate::from_ymd_opt(2021, 1, 1).expect("date");
        let area_links: RefCell<Vec<AreaLink>> = RefCell::new(Vec::new());
        let rng = RefCell::new(rng);
        let copy = diesel::copy_from(contracts::table)
            .from_raw_data(
                (
                    contracts::id,
                    contracts::borough_id,
                    contracts::supplier_id,
                    contracts::system_id,
                    contracts::title,
                    contracts::start_date,
                    contracts::end_date,
                    contracts::max_end_date,
                    contracts::annual_value_gbp,
                    contracts::total_value_gbp,
                    contracts::hosting,
                    contracts::procurement_route,
                    contracts::framework_name,
                    contracts::data_access,
                    contracts::source,
                    contracts::source_reference,
                    contracts::satisfaction,
                    contracts::value_for_money,
                    contracts::support_confidence,
                    contracts::development_confidence,
                ),
                |out: &mut dyn Write| -> QueryResult<()> {
                    let mut rng = rng.borrow_mut();
                    let mut links = area_links.borrow_mut();
                    let mut line = String::with_capacity(256);
                    for n in 0..options.contracts {
                        let id = first_id + n as i64;
                        let (borough, surveyed) = &authorities[rng.random_range(0..authorities.len())];
                        let product_index = pick_cumulative(&mut *rng, &popularity);
                        let product = &products[product_index];
                        let supplier = if !resellers.is_empty() && rng.random_bool(0.05) {
                            &resellers[rng.random_range(0..resellers.len())]
                        } else {
                            &product.supplier_id
                        };
                        let area_count = match rng.random_range(0..100) {
                            0..70 => 1,
                            70..95 => 2,
                            _ => 3,
                        }
                        .min(product.areas.len());
                        let first_area = rng.random_range(0..product.areas.len());
                        let end = decade_start + Days::new(rng.random_range(0..3652));
                        let years = rng.random_range(2..=7u32);
                        let start = end.checked_sub_months(Months::new(12 * years)).unwrap_or(end);
                        let max_end = rng
                            .random_bool(0.35)
                            .then(|| end.checked_add_months(Months::new(12 * rng.random_range(1..=2u32))))
                            .flatten();
                        let annual_pence: u64 = (5_000.0 * 180f64.powf(rng.random::<f64>()) * 100.0) as u64;
                        for k in 0..area_count {
                            links.push(AreaLink {
                                contract_id: id,
                                product: product_index,
                                area: (first_area + k) % product.areas.len(),
                                borough: borough.clone(),
                                end,
                                annual_pence,
                            });
                        }
                        let route = weighted(&mut *rng, &ROUTES);
                        let framework = (route == "framework").then(|| FRAMEWORKS[rng.random_range(0..FRAMEWORKS.len())]);
                        let rated = *surveyed && rng.random_bool(0.8);
                        let mut rating = || {
                            if rated {
                                rng.random_range(1..=5u8).to_string()
                            } else {
                                String::new()
                            }
                        };
                        let (satisfaction, value_for_money, support, development) =
                            (rating(), rating(), rating(), rating());
                        let hosting = weighted(&mut *rng, &HOSTING);
                        let data_access = weighted(&mut *rng, &DATA_ACCESS);
                        line.clear();
                        let _ = writeln!(
                            line,
                            "{id},{borough},{supplier},{system},\"{name} licence, support and maintenance\",{start},{end},{max_end},{annual}.{annual_p:02},{total}.{total_p:02},{hosting},{route},{framework},{data_access},illustrative,SYN-{seed}-{n},{satisfaction},{value_for_money},{support},{development}",
                            system = product.id,
                            name = product.name.replace('"', "\"\""),
                            max_end = max_end.map(|d| d.to_string()).unwrap_or_default(),
                            annual = annual_pence / 100,
                            annual_p = annual_pence % 100,
                            total = annual_pence * u64::from(years) / 100,
                            total_p = annual_pence * u64::from(years) % 100,
                            framework = framework.unwrap_or_default(),
                            seed = options.seed,
                        );
                        out.write_all(line.as_bytes()).map_err(io_error)?;
                    }
                    Ok(())
                },
            )
            .with_format(CopyFormat::Csv);
        let loaded = load_into(conn, "contracts", options.contracts, |conn| {
            let loaded = copy.execute(conn)? as u64;
            log::info!("copied {loaded} contracts in {:.1} s", started.elapsed().as_secs_f64());
            Ok(loaded)
        })?;
        let links = area_links.into_inner();
        let link_count = links.len() as u64;
        // The per-row check that links name areas, not groups, is replaced by one set-based
        // check below: the generator only uses systems' areas.
        load_into(conn, "contract_service_areas", link_count, |conn| {
            // The contract's values are written with each row, in place of the per-row copy.
            conn.batch_execute(
                "ALTER TABLE contract_service_areas DISABLE TRIGGER contract_service_areas_area; \
                 ALTER TABLE contract_service_areas DISABLE TRIGGER contract_service_areas_copy",
            )?;
            diesel::copy_from(contract_service_areas::table)
                .from_raw_data(
                    (
                        contract_service_areas::contract_id,
                        contract_service_areas::service_area_id,
                        contract_service_areas::end_date,
                        contract_service_areas::borough_id,
                        contract_service_areas::annual_value_gbp,
                    ),
                    |out: &mut dyn Write| -> QueryResult<()> {
                        for link in &links {
                            writeln!(
                                out,
                                "{},{},{},{},{}.{:02}",
                                link.contract_id,
                                products[link.product].areas[link.area],
                                link.end,
                                link.borough,
                                link.annual_pence / 100,
                                link.annual_pence % 100
                            )
                            .map_err(io_error)?;
                        }
                        Ok(())
                    },
                )
                .with_format(CopyFormat::Csv)
                .execute(conn)?;
            conn.batch_execute(
                "ALTER TABLE contract_service_areas ENABLE TRIGGER contract_service_areas_area; \
                 ALTER TABLE contract_service_areas ENABLE TRIGGER contract_service_areas_copy",
            )?;
            log::info!(
                "copied {link_count} contract service areas in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        })?;
        let groups_tagged: i64 = contract_service_areas::table
            .inner_join(crate::db::schema::service_areas::table)
            .filter(contract_service_areas::contract_id.ge(first_id))
            .filter(crate::db::schema::service_areas::parent_id.is_null())
            .count()
            .get_result(conn)?;
        if groups_tagged > 0 {
            return Err(diesel::result::Error::RollbackTransaction);
        }
        conn.batch_execute(
            "SELECT setval(pg_get_serial_sequence('contracts', 'id'), (SELECT max(id) FROM contracts))",
        )?;
        set_rollup_triggers(conn, "ENABLE")?;
        crate::queries::rollups::rebuild(conn)?;
        log::info!(
            "rebuilt the insight rollups in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(SyntheticReport {
            authorities_added: new_authorities.len(),
            contracts: loaded,
            service_area_links: link_count,
            seconds: 0.0,
        })
    })
    .and_then(|mut report: SyntheticReport| {
        // Statistics for the planner, and the visibility map for index-only scans.
        conn.batch_execute("VACUUM (ANALYZE) contracts, contract_service_areas, boroughs")?;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_popularity_is_skewed() {
        let cumulative = zipf_cumulative(100);
        let top_ten = cumulative[9] / cumulative[99];
        assert!(
            top_ten > 0.5,
            "the top 10 of 100 products get most picks: {top_ten}"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let picks: Vec<usize> = (0..1000)
            .map(|_| pick_cumulative(&mut rng, &cumulative))
            .collect();
        assert!(picks.iter().all(|p| *p < 100));
        assert!(picks.iter().filter(|p| **p < 10).count() > 500);
    }

    #[test]
    fn only_a_load_as_large_as_the_table_rebuilds_its_indexes() {
        assert!(rebuild_pays_off(1_000_000, 0));
        assert!(rebuild_pays_off(1_000_000, 1_000_000));
        assert!(rebuild_pays_off(BULK_LOAD_MIN_ROWS, 500));
        assert!(!rebuild_pays_off(BULK_LOAD_MIN_ROWS - 1, 0));
        assert!(!rebuild_pays_off(50_000, 1_000_000));
    }
}
