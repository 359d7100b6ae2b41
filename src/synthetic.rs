//! A synthetic UK-scale dataset for benchmarks, deterministic by seed: extra authorities beyond
//! London and up to millions of contracts over the seeded catalogue, loaded with `COPY`.
//!
//! The market is skewed like the real one (a few suppliers' systems hold most contracts), end
//! dates spread over a decade, and some contracts cover several service areas. Every synthetic
//! contract has `source = illustrative` and a `source_reference` starting `SYN-`; loading again
//! replaces the previous synthetic set. Benchmark data is not logged in the change log.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write;
use std::time::Instant;

use chrono::{Days, Months, NaiveDate};
use diesel::connection::SimpleConnection;
use diesel::pg::CopyFormat;
use diesel::prelude::*;
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

/// Adds authorities up to `count` and a synthetic contract set, replacing any earlier one.
pub fn generate(
    conn: &mut PgConnection,
    options: SyntheticOptions,
) -> QueryResult<SyntheticReport> {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    conn.transaction(|conn| {
        conn.batch_execute(
            "DELETE FROM contracts WHERE source = 'illustrative' AND source_reference LIKE 'SYN-%'",
        )?;

        let existing: i64 = boroughs::table.count().get_result(conn)?;
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
                boroughs::surveyed.eq(rng.random_bool(0.5)),
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
        let area_links: RefCell<Vec<(i64, usize, usize)>> = RefCell::new(Vec::new());
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
                        for k in 0..area_count {
                            links.push((id, product_index, (first_area + k) % product.areas.len()));
                        }
                        let end = decade_start + Days::new(rng.random_range(0..3652));
                        let years = rng.random_range(2..=7u32);
                        let start = end.checked_sub_months(Months::new(12 * years)).unwrap_or(end);
                        let max_end = rng
                            .random_bool(0.35)
                            .then(|| end.checked_add_months(Months::new(12 * rng.random_range(1..=2u32))))
                            .flatten();
                        let annual_pence: u64 = (5_000.0 * 180f64.powf(rng.random::<f64>()) * 100.0) as u64;
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
        let loaded = copy.execute(conn)? as u64;

        log::info!("copied {loaded} contracts in {:.1} s", started.elapsed().as_secs_f64());
        let links = area_links.into_inner();
        let link_count = links.len() as u64;
        // The per-row check that links name areas, not groups, is replaced by one set-based
        // check below: the generator only uses systems' areas.
        conn.batch_execute("ALTER TABLE contract_service_areas DISABLE TRIGGER contract_service_areas_area")?;
        diesel::copy_from(contract_service_areas::table)
            .from_raw_data(
                (contract_service_areas::contract_id, contract_service_areas::service_area_id),
                |out: &mut dyn Write| -> QueryResult<()> {
                    for (id, product, area) in &links {
                        writeln!(out, "{id},{}", products[*product].areas[*area]).map_err(io_error)?;
                    }
                    Ok(())
                },
            )
            .with_format(CopyFormat::Csv)
            .execute(conn)?;
        conn.batch_execute("ALTER TABLE contract_service_areas ENABLE TRIGGER contract_service_areas_area")?;
        log::info!("copied {link_count} contract service areas in {:.1} s", started.elapsed().as_secs_f64());
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
}
