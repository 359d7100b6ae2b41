//! The seed data in `seeds/`, compiled into the binary: the 33 authorities, the service-area
//! tree, real suppliers and their products, and an illustrative (not real) contract set.
//!
//! Loading only adds what is missing: rows already present (by id, or by source and
//! source_reference for contracts) are left as they are, so re-seeding never overwrites
//! data that boroughs have maintained.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bigdecimal::BigDecimal;
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::db::schema::{
    boroughs, contract_service_areas, contracts, service_areas, supplier_aliases, suppliers,
    system_service_areas, systems,
};
use crate::import::normalize;
use crate::models::{
    BoroughKind, ContractServiceArea, DataAccess, Hosting, NewBorough, NewContract, NewServiceArea,
    NewSupplier, NewSystem, ProcurementRoute, Source, SupplierAlias, SystemServiceArea,
};

pub const BOROUGHS_CSV: &str = include_str!("../seeds/boroughs.csv");
pub const SERVICE_AREAS_CSV: &str = include_str!("../seeds/service_areas.csv");
pub const SUPPLIERS_CSV: &str = include_str!("../seeds/suppliers.csv");
pub const SYSTEMS_CSV: &str = include_str!("../seeds/systems.csv");
pub const CONTRACTS_CSV: &str = include_str!("../seeds/contracts.csv");

/// Rows per multi-row INSERT; well under PostgreSQL's 65,535 bind parameters.
const BATCH: usize = 1000;

/// Why the seeds could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("seeds/{file} row {row}: {message}")]
    Invalid {
        file: &'static str,
        row: usize,
        message: String,
    },
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("logging the seeded rows failed: {0}")]
    Log(String),
}

/// The rows a load added, to log as created by `citytools seed`.
#[derive(Debug, Default)]
struct Added {
    boroughs: Vec<String>,
    service_areas: Vec<String>,
    suppliers: Vec<String>,
    systems: Vec<String>,
    contracts: Vec<i64>,
}

impl Added {
    /// Logs every added row in the change log, as the API would show it, so that a dashboard
    /// following the change feed from the start sees the seeded data too.
    fn log(&self, conn: &mut PgConnection) -> Result<(), SeedError> {
        use crate::changelog::{self, Actor, Resource};
        use crate::representations as wire;
        let actor = Actor::cli("seed");
        let log =
            |conn: &mut PgConnection, resource, id: &str, after: Option<serde_json::Value>| {
                let after =
                    after.ok_or_else(|| SeedError::Log(format!("{resource} {id} vanished")))?;
                changelog::record(conn, &actor, resource, id, None, Some(&after))?;
                Ok::<(), SeedError>(())
            };
        type Current = fn(&mut PgConnection, &str) -> QueryResult<Option<serde_json::Value>>;
        let catalogue: [(&[String], Resource, Current); 4] = [
            (&self.boroughs, Resource::Boroughs, wire::borough::current),
            (
                &self.service_areas,
                Resource::ServiceAreas,
                wire::service_area::current,
            ),
            (
                &self.suppliers,
                Resource::Suppliers,
                wire::supplier::current,
            ),
            (&self.systems, Resource::Systems, wire::system::current),
        ];
        for (ids, resource, current) in catalogue {
            for id in ids {
                let after = current(conn, id)?;
                log(conn, resource, id, after)?;
            }
        }
        for id in &self.contracts {
            let after = wire::contract::current(conn, *id)?;
            log(conn, Resource::Contracts, &id.to_string(), after)?;
        }
        Ok(())
    }
}

/// How many rows of each kind were added (the rest were already present).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub boroughs: usize,
    pub service_areas: usize,
    pub suppliers: usize,
    pub supplier_aliases: usize,
    pub systems: usize,
    pub contracts: usize,
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "added {} boroughs, {} service areas, {} suppliers ({} aliases), {} systems, {} contracts",
            self.boroughs,
            self.service_areas,
            self.suppliers,
            self.supplier_aliases,
            self.systems,
            self.contracts
        )
    }
}

#[derive(Debug, Deserialize)]
struct BoroughRow {
    id: String,
    gss_code: String,
    name: String,
    official_name: String,
    kind: String,
    inner_london_statutory: bool,
    inner_london_ons: bool,
    surveyed: bool,
    website: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ServiceAreaRow {
    id: String,
    name: String,
    parent_id: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SupplierRow {
    id: String,
    name: String,
    aliases: Option<String>,
    companies_house_number: Option<String>,
    website: Option<String>,
    sme: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct SystemRow {
    id: String,
    name: String,
    supplier_id: String,
    service_area_ids: String,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ContractRow {
    source_reference: String,
    borough_id: String,
    supplier_id: String,
    system_id: Option<String>,
    service_area_ids: String,
    title: String,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    max_end_date: Option<NaiveDate>,
    annual_value_gbp: Option<BigDecimal>,
    total_value_gbp: Option<BigDecimal>,
    hosting: String,
    procurement_route: String,
    framework_name: Option<String>,
    data_access: String,
    source: String,
    source_url: Option<String>,
    satisfaction: Option<i16>,
    value_for_money: Option<i16>,
    support_confidence: Option<i16>,
    development_confidence: Option<i16>,
    notes: Option<String>,
}

/// Parses a seed file into rows, numbering rows from 2 (row 1 is the header).
fn parse<T: DeserializeOwned>(file: &'static str, text: &str) -> Result<Vec<T>, SeedError> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .enumerate()
        .map(|(index, row)| {
            row.map_err(|e| SeedError::Invalid {
                file,
                row: index + 2,
                message: e.to_string(),
            })
        })
        .collect()
}

fn check_enum<T: std::str::FromStr>(
    file: &'static str,
    row: usize,
    value: &str,
) -> Result<(), SeedError>
where
    T::Err: fmt::Display,
{
    value
        .parse::<T>()
        .map(|_| ())
        .map_err(|e| SeedError::Invalid {
            file,
            row,
            message: e.to_string(),
        })
}

fn split_list(cell: &str) -> Vec<String> {
    cell.split('|')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The seed set, parsed and checked, ready to insert.
#[derive(Debug)]
pub struct Seeds {
    boroughs: Vec<NewBorough>,
    service_areas: Vec<NewServiceArea>,
    suppliers: Vec<NewSupplier>,
    aliases: Vec<SupplierAlias>,
    systems: Vec<NewSystem>,
    system_areas: Vec<SystemServiceArea>,
    contracts: Vec<(NewContract, Vec<String>)>,
}

impl Seeds {
    /// Parses the seed files compiled into the binary.
    pub fn embedded() -> Result<Seeds, SeedError> {
        let boroughs: Vec<BoroughRow> = parse("boroughs.csv", BOROUGHS_CSV)?;
        for (index, row) in boroughs.iter().enumerate() {
            check_enum::<BoroughKind>("boroughs.csv", index + 2, &row.kind)?;
        }
        let areas: Vec<ServiceAreaRow> = parse("service_areas.csv", SERVICE_AREAS_CSV)?;
        let suppliers: Vec<SupplierRow> = parse("suppliers.csv", SUPPLIERS_CSV)?;
        let systems: Vec<SystemRow> = parse("systems.csv", SYSTEMS_CSV)?;
        let contracts: Vec<ContractRow> = parse("contracts.csv", CONTRACTS_CSV)?;

        let mut aliases = Vec::new();
        let mut alias_owner: BTreeMap<String, String> = BTreeMap::new();
        for (index, row) in suppliers.iter().enumerate() {
            let names = std::iter::once(row.name.clone())
                .chain(row.aliases.as_deref().map(split_list).unwrap_or_default());
            for alias in names {
                let normalized = normalize::supplier_name(&alias);
                match alias_owner.get(&normalized) {
                    Some(owner) if owner != &row.id => {
                        return Err(SeedError::Invalid {
                            file: "suppliers.csv",
                            row: index + 2,
                            message: format!("alias {alias:?} also matches supplier {owner}"),
                        })
                    }
                    _ => {}
                }
                alias_owner.insert(normalized.clone(), row.id.clone());
                if alias != row.name {
                    aliases.push(SupplierAlias {
                        supplier_id: row.id.clone(),
                        alias,
                        normalized,
                    });
                }
            }
        }

        let mut system_areas = Vec::new();
        for (index, row) in systems.iter().enumerate() {
            let ids = split_list(&row.service_area_ids);
            if ids.is_empty() {
                return Err(SeedError::Invalid {
                    file: "systems.csv",
                    row: index + 2,
                    message: "a system needs at least one service area".into(),
                });
            }
            system_areas.extend(ids.into_iter().map(|service_area_id| SystemServiceArea {
                system_id: row.id.clone(),
                service_area_id,
            }));
        }

        let mut new_contracts = Vec::with_capacity(contracts.len());
        for (index, row) in contracts.into_iter().enumerate() {
            let line = index + 2;
            check_enum::<Hosting>("contracts.csv", line, &row.hosting)?;
            check_enum::<ProcurementRoute>("contracts.csv", line, &row.procurement_route)?;
            check_enum::<DataAccess>("contracts.csv", line, &row.data_access)?;
            check_enum::<Source>("contracts.csv", line, &row.source)?;
            let areas = split_list(&row.service_area_ids);
            if areas.is_empty() {
                return Err(SeedError::Invalid {
                    file: "contracts.csv",
                    row: line,
                    message: "a contract needs at least one service area".into(),
                });
            }
            new_contracts.push((
                NewContract {
                    borough_id: row.borough_id,
                    supplier_id: row.supplier_id,
                    system_id: row.system_id,
                    title: row.title,
                    start_date: row.start_date,
                    end_date: row.end_date,
                    max_end_date: row.max_end_date,
                    annual_value_gbp: row.annual_value_gbp,
                    total_value_gbp: row.total_value_gbp,
                    hosting: row.hosting,
                    procurement_route: row.procurement_route,
                    framework_name: row.framework_name,
                    data_access: row.data_access,
                    source: row.source,
                    source_reference: Some(row.source_reference),
                    source_url: row.source_url,
                    satisfaction: row.satisfaction,
                    value_for_money: row.value_for_money,
                    support_confidence: row.support_confidence,
                    development_confidence: row.development_confidence,
                    notes: row.notes,
                },
                areas,
            ));
        }

        Ok(Seeds {
            boroughs: boroughs
                .into_iter()
                .map(|row| NewBorough {
                    id: row.id,
                    gss_code: row.gss_code,
                    name: row.name,
                    official_name: row.official_name,
                    kind: row.kind,
                    inner_london_statutory: row.inner_london_statutory,
                    inner_london_ons: row.inner_london_ons,
                    surveyed: row.surveyed,
                    website: row.website,
                })
                .collect(),
            service_areas: areas
                .into_iter()
                .map(|row| NewServiceArea {
                    id: row.id,
                    name: row.name,
                    parent_id: row.parent_id,
                    description: row.description,
                })
                .collect(),
            suppliers: suppliers
                .into_iter()
                .map(|row| NewSupplier {
                    id: row.id,
                    name: row.name,
                    companies_house_number: row.companies_house_number,
                    website: row.website,
                    sme: row.sme,
                })
                .collect(),
            aliases,
            systems: systems
                .into_iter()
                .map(|row| NewSystem {
                    id: row.id,
                    name: row.name,
                    supplier_id: row.supplier_id,
                    description: row.description,
                })
                .collect(),
            system_areas,
            contracts: new_contracts,
        })
    }

    /// The set without its illustrative contracts: the authorities, service areas, suppliers
    /// and systems only, for a database that is to hold real contracts alone.
    pub fn without_sample_data(mut self) -> Seeds {
        self.contracts.clear();
        self
    }

    /// Number of illustrative contracts in the set.
    pub fn contract_count(&self) -> usize {
        self.contracts.len()
    }

    /// Inserts whatever is missing, in one transaction.
    pub fn load(&self, conn: &mut PgConnection) -> Result<SeedReport, SeedError> {
        conn.transaction(|conn| {
            let mut report = SeedReport::default();
            let mut added = Added::default();
            // Inserts `rows` into `table` in batches, leaving the ids already there alone, and
            // counts and records the ids it added under the table's name.
            macro_rules! insert_new {
                ($table:ident, $rows:expr) => {
                    for chunk in $rows.chunks(BATCH) {
                        let ids: Vec<String> = diesel::insert_into($table::table)
                            .values(chunk)
                            .on_conflict_do_nothing()
                            .returning($table::id)
                            .get_results(conn)?;
                        report.$table += ids.len();
                        added.$table.extend(ids);
                    }
                };
            }
            insert_new!(boroughs, self.boroughs);
            // Groups before areas, so that every parent exists when its children arrive.
            let (groups, areas): (Vec<_>, Vec<_>) = self
                .service_areas
                .iter()
                .cloned()
                .partition(|a| a.parent_id.is_none());
            for level in [groups, areas] {
                insert_new!(service_areas, level);
            }
            insert_new!(suppliers, self.suppliers);
            for chunk in self.aliases.chunks(BATCH) {
                report.supplier_aliases += diesel::insert_into(supplier_aliases::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(conn)?;
            }
            insert_new!(systems, self.systems);
            for chunk in self.system_areas.chunks(BATCH) {
                diesel::insert_into(system_service_areas::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(conn)?;
            }
            for chunk in self.contracts.chunks(BATCH) {
                let rows: Vec<&NewContract> = chunk.iter().map(|(contract, _)| contract).collect();
                let inserted: Vec<(i64, Option<String>)> = diesel::insert_into(contracts::table)
                    .values(rows)
                    .on_conflict((
                        contracts::source,
                        contracts::borough_id,
                        contracts::source_reference,
                    ))
                    .do_nothing()
                    .returning((contracts::id, contracts::source_reference))
                    .get_results(conn)?;
                report.contracts += inserted.len();
                added.contracts.extend(inserted.iter().map(|(id, _)| *id));
                let areas_by_reference: BTreeMap<&str, &Vec<String>> = chunk
                    .iter()
                    .filter_map(|(c, areas)| c.source_reference.as_deref().map(|r| (r, areas)))
                    .collect();
                let links: Vec<ContractServiceArea> = inserted
                    .iter()
                    .flat_map(|(id, reference)| {
                        let areas = reference
                            .as_deref()
                            .and_then(|r| areas_by_reference.get(r))
                            .map(|areas| areas.as_slice())
                            .unwrap_or_default();
                        areas.iter().map(|area| ContractServiceArea {
                            contract_id: *id,
                            service_area_id: area.clone(),
                        })
                    })
                    .collect();
                for links in links.chunks(BATCH) {
                    diesel::insert_into(contract_service_areas::table)
                        .values(links)
                        .execute(conn)?;
                }
            }
            added.log(conn)?;
            Ok(report)
        })
    }

    /// The ids of every service-area group, for checks that cover every group.
    pub fn group_ids(&self) -> BTreeSet<String> {
        self.service_areas
            .iter()
            .filter(|a| a.parent_id.is_none())
            .map(|a| a.id.clone())
            .collect()
    }
}

/// Whether the database holds no boroughs yet (a fresh database).
pub fn is_empty(conn: &mut PgConnection) -> QueryResult<bool> {
    let count: i64 = boroughs::table.count().get_result(conn)?;
    Ok(count == 0)
}

/// Loads the embedded seeds, adding whatever is missing.
pub fn load(conn: &mut PgConnection) -> Result<SeedReport, SeedError> {
    Seeds::embedded()?.load(conn)
}

/// Loads the embedded seeds, adding whatever is missing, with the illustrative contracts only
/// when `sample_data` is true.
pub fn load_with(conn: &mut PgConnection, sample_data: bool) -> Result<SeedReport, SeedError> {
    let seeds = Seeds::embedded()?;
    if sample_data {
        seeds.load(conn)
    } else {
        seeds.without_sample_data().load(conn)
    }
}
