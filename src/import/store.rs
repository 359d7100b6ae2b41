//! The importer's own queries: a whole file's contracts are looked up and inserted in batches,
//! not one row at a time.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::schema::{contract_service_areas, contracts};
use crate::models::{Contract, ContractServiceArea, NewContract};

/// Rows per multi-row INSERT: 21 columns each, well under PostgreSQL's 65,535 parameters.
const BATCH: usize = 1000;
/// Values per `= ANY($1)` lookup.
const LOOKUP: usize = 10_000;

/// A stored contract with its service areas.
#[derive(Debug, Clone)]
pub struct Stored {
    pub contract: Contract,
    pub service_area_ids: Vec<String>,
}

impl Stored {
    /// The stored values in the form a write takes.
    pub fn as_new(&self) -> NewContract {
        self.contract.form.clone()
    }
}

/// A contract's key among its source's: its borough and its reference.
pub type Key = (String, String);

/// The contracts of `source` with these keys (borough, reference), by key.
pub fn existing(
    conn: &mut PgConnection,
    source: &str,
    keys: &[(&str, &str)],
) -> QueryResult<HashMap<Key, Stored>> {
    let mut found: HashMap<Key, Stored> = HashMap::new();
    let mut by_id: HashMap<i64, Key> = HashMap::new();
    let wanted: std::collections::HashSet<(&str, &str)> = keys.iter().copied().collect();
    for chunk in keys.chunks(LOOKUP) {
        let boroughs: std::collections::BTreeSet<&str> = chunk.iter().map(|k| k.0).collect();
        let references: Vec<&str> = chunk.iter().map(|k| k.1).collect();
        let rows: Vec<Contract> = contracts::table
            .filter(contracts::source.eq(source))
            .filter(contracts::borough_id.eq_any(boroughs))
            .filter(contracts::source_reference.eq_any(references))
            .select(Contract::as_select())
            .load(conn)?;
        for contract in rows {
            let reference = contract.form.source_reference.clone().unwrap_or_default();
            let key = (contract.form.borough_id.clone(), reference);
            if !wanted.contains(&(key.0.as_str(), key.1.as_str())) {
                continue;
            }
            by_id.insert(contract.id, key.clone());
            found.insert(
                key,
                Stored {
                    contract,
                    service_area_ids: Vec::new(),
                },
            );
        }
    }
    let ids: Vec<i64> = by_id.keys().copied().collect();
    for chunk in ids.chunks(LOOKUP) {
        let links: Vec<(i64, String)> = contract_service_areas::table
            .filter(contract_service_areas::contract_id.eq_any(chunk))
            .select((
                contract_service_areas::contract_id,
                contract_service_areas::service_area_id,
            ))
            .order((
                contract_service_areas::contract_id,
                contract_service_areas::service_area_id,
            ))
            .load(conn)?;
        for (id, area) in links {
            if let Some(stored) = by_id.get(&id).and_then(|r| found.get_mut(r)) {
                stored.service_area_ids.push(area);
            }
        }
    }
    for stored in found.values_mut() {
        stored.service_area_ids.sort();
    }
    Ok(found)
}

/// Inserts contracts with their service areas; returns their ids, in the order given.
pub fn insert(
    conn: &mut PgConnection,
    rows: &[(&NewContract, &[String])],
    mut progress: impl FnMut(usize),
) -> QueryResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(BATCH) {
        let values: Vec<&NewContract> = chunk.iter().map(|(c, _)| *c).collect();
        // RETURNING need not follow the VALUES order: match the ids up by borough and reference.
        let inserted: Vec<(i64, String, Option<String>)> = diesel::insert_into(contracts::table)
            .values(values)
            .returning((
                contracts::id,
                contracts::borough_id,
                contracts::source_reference,
            ))
            .get_results(conn)?;
        let by_key: HashMap<(String, Option<String>), i64> = inserted
            .into_iter()
            .map(|(id, borough, reference)| ((borough, reference), id))
            .collect();
        let mut links = Vec::new();
        for (contract, areas) in chunk {
            let id = by_key[&(
                contract.borough_id.clone(),
                contract.source_reference.clone(),
            )];
            ids.push(id);
            links.extend(areas.iter().map(|area| ContractServiceArea {
                contract_id: id,
                service_area_id: area.clone(),
            }));
        }
        for links in links.chunks(BATCH * 10) {
            diesel::insert_into(contract_service_areas::table)
                .values(links)
                .execute(conn)?;
        }
        progress(chunk.len());
    }
    Ok(ids)
}
