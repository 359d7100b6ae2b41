//! Contracts: the filter of DESIGN.md as one boxed query, reused by list, count and CSV export.

use std::collections::BTreeSet;

use bigdecimal::BigDecimal;
use chrono::NaiveDate;
use diesel::dsl::{count_star, sql};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text};

use super::{contains_pattern, for_each_row, missing};
use crate::db::schema::{
    boroughs, contract_service_areas, contracts, service_areas, suppliers, systems,
};
use crate::error::{ApiError, FieldError};
use crate::models::{
    Contract, ContractServiceArea, DataAccess, Hosting, NewContract, ProcurementRoute, Source,
};

/// A contract's filters as the caller gave them: ids unresolved, service-area groups unexpanded.
#[derive(Debug, Clone, Default)]
pub struct ContractCriteria {
    /// Borough slugs or GSS codes.
    pub borough: Vec<String>,
    pub supplier: Vec<String>,
    pub system: Vec<String>,
    /// Service areas or groups; a group matches every area under it.
    pub service_area: Vec<String>,
    pub ends_after: Option<NaiveDate>,
    pub ends_before: Option<NaiveDate>,
    pub active_on: Option<NaiveDate>,
    pub hosting: Vec<Hosting>,
    pub procurement_route: Vec<ProcurementRoute>,
    pub data_access: Vec<DataAccess>,
    pub source: Vec<Source>,
    pub min_annual_value: Option<BigDecimal>,
    pub max_annual_value: Option<BigDecimal>,
    /// Words that must each appear in the title, the system's name or the supplier's name.
    pub words: Vec<String>,
    /// The record a nested list sits under (`/boroughs/{id}/contracts`, ...).
    pub within: Option<Within>,
}

/// The parent of a nested contract list, by its (already resolved) id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Within {
    Borough(String),
    Supplier(String),
    System(String),
}

/// Filters checked against the database: every id exists, groups expanded to their areas.
/// Only [`ContractCriteria::resolve`] makes one, so a filter never names a missing record.
#[derive(Debug, Clone)]
pub struct ContractFilter {
    criteria: ContractCriteria,
    borough_ids: Vec<String>,
    service_area_ids: Vec<String>,
}

impl ContractCriteria {
    /// Checks every id against the database and expands service-area groups.
    /// Unknown values are a 400 that names each of them.
    pub fn resolve(self, conn: &mut PgConnection) -> Result<ContractFilter, ApiError> {
        let mut errors = Vec::new();

        let mut borough_ids = Vec::new();
        if !self.borough.is_empty() {
            let upper: Vec<String> = self.borough.iter().map(|b| b.to_uppercase()).collect();
            let found: Vec<(String, String)> = boroughs::table
                .filter(
                    boroughs::id
                        .eq_any(&self.borough)
                        .or(boroughs::gss_code.eq_any(&upper)),
                )
                .select((boroughs::id, boroughs::gss_code))
                .load(conn)?;
            let known: BTreeSet<String> = found
                .iter()
                .flat_map(|(id, gss)| [id.clone(), gss.clone()])
                .collect();
            for value in &self.borough {
                if !known.contains(value) && !known.contains(&value.to_uppercase()) {
                    errors.push(FieldError::new(
                        "borough",
                        format!("unknown borough {value:?}"),
                    ));
                }
            }
            borough_ids = found.into_iter().map(|(id, _)| id).collect();
        }

        check_exist(
            conn,
            "supplier",
            &self.supplier,
            &mut errors,
            |conn, ids| {
                suppliers::table
                    .filter(suppliers::id.eq_any(ids))
                    .select(suppliers::id)
                    .load(conn)
            },
        )?;
        check_exist(conn, "system", &self.system, &mut errors, |conn, ids| {
            systems::table
                .filter(systems::id.eq_any(ids))
                .select(systems::id)
                .load(conn)
        })?;
        let service_area_ids =
            expand_service_areas(conn, "service_area", &self.service_area, &mut errors)?;

        if let (Some(after), Some(before)) = (self.ends_after, self.ends_before) {
            if after > before {
                errors.push(FieldError::new(
                    "ends_before",
                    format!("ends_before ({before}) is earlier than ends_after ({after})"),
                ));
            }
        }
        if let (Some(min), Some(max)) = (&self.min_annual_value, &self.max_annual_value) {
            if min > max {
                errors.push(FieldError::new(
                    "max_annual_value",
                    format!("max_annual_value ({max}) is less than min_annual_value ({min})"),
                ));
            }
        }

        if !errors.is_empty() {
            return Err(ApiError::invalid_params(errors));
        }
        Ok(ContractFilter {
            criteria: self,
            borough_ids,
            service_area_ids,
        })
    }
}

/// Adds an error for each value in `asked` that `lookup` does not find.
pub(crate) fn check_exist(
    conn: &mut PgConnection,
    field: &str,
    asked: &[String],
    errors: &mut Vec<FieldError>,
    lookup: impl FnOnce(&mut PgConnection, &[String]) -> QueryResult<Vec<String>>,
) -> Result<(), ApiError> {
    if asked.is_empty() {
        return Ok(());
    }
    let found: BTreeSet<String> = lookup(conn, asked)?.into_iter().collect();
    for value in missing(asked, &found) {
        errors.push(FieldError::new(
            field,
            format!("unknown {} {value:?}", field.replace('_', " ")),
        ));
    }
    Ok(())
}

/// The areas named in `asked`, with every area under each named group; errors for unknown ids.
pub(crate) fn expand_service_areas(
    conn: &mut PgConnection,
    field: &str,
    asked: &[String],
    errors: &mut Vec<FieldError>,
) -> Result<Vec<String>, ApiError> {
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    let matched: Vec<(String, Option<String>)> = service_areas::table
        .filter(
            service_areas::id
                .eq_any(asked)
                .or(service_areas::parent_id.eq_any(asked)),
        )
        .select((service_areas::id, service_areas::parent_id))
        .load(conn)?;
    let found: BTreeSet<String> = matched
        .iter()
        .filter(|(id, _)| asked.contains(id))
        .map(|(id, _)| id.clone())
        .collect();
    for value in missing(asked, &found) {
        errors.push(FieldError::new(
            field,
            format!("unknown service area {value:?}"),
        ));
    }
    Ok(matched.into_iter().map(|(id, _)| id).collect())
}

super::sort_keys! {
    /// What a contract list can be sorted by.
    ContractSortKey {
        EndDate => "end_date",
        StartDate => "start_date",
        AnnualValue => "annual_value_gbp",
        Borough => "borough",
        Supplier => "supplier",
    }
}

/// A contract with what a listing shows beside it, loaded in one query.
#[derive(Debug, Clone, Queryable)]
pub struct ContractRecord {
    pub contract: Contract,
    pub service_area_ids: Vec<String>,
    pub borough_name: String,
    pub supplier_name: String,
    pub system_name: Option<String>,
}

type Boxed<'a, ST> = contracts::BoxedQuery<'a, Pg, ST>;

impl ContractFilter {
    /// Applies the filter to any query over the contracts table.
    pub(crate) fn apply<'a, ST: 'a>(&'a self, mut query: Boxed<'a, ST>) -> Boxed<'a, ST> {
        let c = &self.criteria;
        match &c.within {
            Some(Within::Borough(id)) => query = query.filter(contracts::borough_id.eq(id)),
            Some(Within::Supplier(id)) => query = query.filter(contracts::supplier_id.eq(id)),
            Some(Within::System(id)) => query = query.filter(contracts::system_id.eq(id)),
            None => {}
        }
        if !c.borough.is_empty() {
            query = query.filter(contracts::borough_id.eq_any(&self.borough_ids));
        }
        if !c.supplier.is_empty() {
            query = query.filter(contracts::supplier_id.eq_any(&c.supplier));
        }
        if !c.system.is_empty() {
            query = query.filter(contracts::system_id.eq_any(&c.system));
        }
        if !c.service_area.is_empty() {
            query = query.filter(
                contracts::id.eq_any(
                    contract_service_areas::table
                        .filter(
                            contract_service_areas::service_area_id.eq_any(&self.service_area_ids),
                        )
                        .select(contract_service_areas::contract_id),
                ),
            );
        }
        if let Some(after) = c.ends_after {
            query = query.filter(contracts::end_date.ge(after));
        }
        if let Some(before) = c.ends_before {
            query = query.filter(contracts::end_date.le(before));
        }
        if let Some(day) = c.active_on {
            query = query
                .filter(contracts::start_date.le(day))
                .filter(contracts::end_date.ge(day));
        }
        if !c.hosting.is_empty() {
            query = query.filter(contracts::hosting.eq_any(c.hosting.iter().map(|v| v.as_str())));
        }
        if !c.procurement_route.is_empty() {
            query = query.filter(
                contracts::procurement_route.eq_any(c.procurement_route.iter().map(|v| v.as_str())),
            );
        }
        if !c.data_access.is_empty() {
            query = query
                .filter(contracts::data_access.eq_any(c.data_access.iter().map(|v| v.as_str())));
        }
        if !c.source.is_empty() {
            query = query.filter(contracts::source.eq_any(c.source.iter().map(|v| v.as_str())));
        }
        if let Some(min) = &c.min_annual_value {
            query = query.filter(contracts::annual_value_gbp.ge(min));
        }
        if let Some(max) = &c.max_annual_value {
            query = query.filter(contracts::annual_value_gbp.le(max));
        }
        for word in &c.words {
            // ARRAY(...) makes the name lookups run once, so the three arms can be a BitmapOr
            // of the title's trigram index and the supplier and system indexes.
            let pattern = contains_pattern(word);
            query = query.filter(
                sql::<diesel::sql_types::Bool>("(contracts.title ILIKE ")
                    .bind::<Text, _>(pattern.clone())
                    .sql(" OR contracts.supplier_id = ANY(ARRAY(SELECT s.id FROM suppliers s WHERE s.name ILIKE ")
                    .bind::<Text, _>(pattern.clone())
                    .sql(")) OR contracts.system_id = ANY(ARRAY(SELECT y.id FROM systems y WHERE y.name ILIKE ")
                    .bind::<Text, _>(pattern)
                    .sql(")))"),
            );
        }
        query
    }

    /// The ids of the matching contracts, as a subquery for aggregates over related tables.
    pub fn ids(&self) -> Boxed<'_, diesel::sql_types::BigInt> {
        self.apply(contracts::table.select(contracts::id).into_boxed())
    }

    /// Whether the filter selects every contract. Destructured in full, so that a new filter
    /// cannot be forgotten here.
    pub fn is_unfiltered(&self) -> bool {
        let ContractCriteria {
            borough,
            supplier,
            system,
            service_area,
            ends_after,
            ends_before,
            active_on,
            hosting,
            procurement_route,
            data_access,
            source,
            min_annual_value,
            max_annual_value,
            words,
            within,
        } = &self.criteria;
        borough.is_empty()
            && supplier.is_empty()
            && system.is_empty()
            && service_area.is_empty()
            && ends_after.is_none()
            && ends_before.is_none()
            && active_on.is_none()
            && hosting.is_empty()
            && procurement_route.is_empty()
            && data_access.is_empty()
            && source.is_empty()
            && min_annual_value.is_none()
            && max_annual_value.is_none()
            && words.is_empty()
            && within.is_none()
    }

    /// The service areas the filter names (groups expanded), or None when it names none.
    pub fn service_areas(&self) -> Option<&[String]> {
        (!self.criteria.service_area.is_empty()).then_some(self.service_area_ids.as_slice())
    }

    /// How many contracts match.
    pub fn count(&self, conn: &mut PgConnection) -> QueryResult<i64> {
        self.apply(contracts::table.select(count_star()).into_boxed())
            .get_result(conn)
    }

    /// The matching contracts in the requested order, then by id.
    fn records<'a>(
        &'a self,
        sort: Option<(ContractSortKey, bool)>,
    ) -> Boxed<'a, <RecordSelection as Expression>::SqlType> {
        let mut query = self.apply(contracts::table.select(record_selection()).into_boxed());
        if let Some((key, descending)) = sort {
            query = match (key, descending) {
                (ContractSortKey::EndDate, false) => {
                    query.order(contracts::end_date.asc().nulls_last())
                }
                (ContractSortKey::EndDate, true) => {
                    query.order(contracts::end_date.desc().nulls_last())
                }
                (ContractSortKey::StartDate, false) => {
                    query.order(contracts::start_date.asc().nulls_last())
                }
                (ContractSortKey::StartDate, true) => {
                    query.order(contracts::start_date.desc().nulls_last())
                }
                (ContractSortKey::AnnualValue, false) => {
                    query.order(contracts::annual_value_gbp.asc().nulls_last())
                }
                (ContractSortKey::AnnualValue, true) => {
                    query.order(contracts::annual_value_gbp.desc().nulls_last())
                }
                (ContractSortKey::Borough, false) => query.order(contracts::borough_id.asc()),
                (ContractSortKey::Borough, true) => query.order(contracts::borough_id.desc()),
                (ContractSortKey::Supplier, false) => query.order(contracts::supplier_id.asc()),
                (ContractSortKey::Supplier, true) => query.order(contracts::supplier_id.desc()),
            };
        }
        query.then_order_by(contracts::id.asc())
    }

    /// One page of matching contracts.
    pub fn page(
        &self,
        conn: &mut PgConnection,
        sort: Option<(ContractSortKey, bool)>,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<ContractRecord>> {
        self.records(sort).offset(offset).limit(limit).load(conn)
    }

    /// Every matching contract, row by row, without holding the whole result in memory.
    pub fn for_each(
        &self,
        conn: &mut PgConnection,
        sort: Option<(ContractSortKey, bool)>,
        each: impl FnMut(ContractRecord) -> bool,
    ) -> QueryResult<()> {
        for_each_row(conn, self.records(sort), each)
    }
}

type RecordSelection = (
    diesel::helper_types::AsSelect<Contract, Pg>,
    diesel::expression::SqlLiteral<Array<Text>>,
    diesel::expression::SqlLiteral<Text>,
    diesel::expression::SqlLiteral<Text>,
    diesel::expression::SqlLiteral<Nullable<Text>>,
);

fn record_selection() -> RecordSelection {
    (
        Contract::as_select(),
        sql::<Array<Text>>(
            "ARRAY(SELECT csa.service_area_id FROM contract_service_areas csa \
             WHERE csa.contract_id = contracts.id ORDER BY 1)",
        ),
        sql::<Text>("(SELECT b.name FROM boroughs b WHERE b.id = contracts.borough_id)"),
        sql::<Text>("(SELECT s.name FROM suppliers s WHERE s.id = contracts.supplier_id)"),
        sql::<Nullable<Text>>("(SELECT y.name FROM systems y WHERE y.id = contracts.system_id)"),
    )
}

/// One contract by id.
pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<ContractRecord>> {
    contracts::table
        .filter(contracts::id.eq(id))
        .select(record_selection())
        .first(conn)
        .optional()
}

/// A contract as written: its row and its service areas.
#[derive(Debug, Clone)]
pub struct ContractWrite {
    pub contract: NewContract,
    pub service_area_ids: Vec<String>,
}

/// The borough's slug for a slug or GSS code, if there is such a borough.
pub fn borough_slug(conn: &mut PgConnection, id_or_gss: &str) -> QueryResult<Option<String>> {
    boroughs::table
        .filter(
            boroughs::id
                .eq(id_or_gss)
                .or(boroughs::gss_code.eq(id_or_gss.to_uppercase())),
        )
        .select(boroughs::id)
        .first(conn)
        .optional()
}

/// Adds an error for every service area in `ids` that does not exist or is a group.
pub fn check_areas(
    conn: &mut PgConnection,
    field: &str,
    ids: &[String],
    errors: &mut Vec<FieldError>,
) -> QueryResult<()> {
    let found: Vec<(String, Option<String>)> = service_areas::table
        .filter(service_areas::id.eq_any(ids))
        .select((service_areas::id, service_areas::parent_id))
        .load(conn)?;
    for id in ids {
        match found.iter().find(|(found_id, _)| found_id == id) {
            None => errors.push(FieldError::new(
                field,
                format!("unknown service area {id:?}"),
            )),
            Some((_, None)) => errors.push(FieldError::new(
                field,
                format!("{id:?} is a group of service areas; name the areas under it instead"),
            )),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Adds an error when `id` names no row of `table` (one of this crate's tables).
pub fn check_reference(
    conn: &mut PgConnection,
    table: &'static str,
    field: &str,
    what: &str,
    id: &str,
    errors: &mut Vec<FieldError>,
) -> QueryResult<()> {
    if super::writes::count_referencing(conn, table, "id", id)? == 0 {
        errors.push(FieldError::new(field, format!("unknown {what} {id:?}")));
    }
    Ok(())
}

fn replace_areas(conn: &mut PgConnection, id: i64, areas: &[String]) -> QueryResult<()> {
    diesel::delete(
        contract_service_areas::table.filter(contract_service_areas::contract_id.eq(id)),
    )
    .execute(conn)?;
    let links: Vec<ContractServiceArea> = areas
        .iter()
        .map(|area| ContractServiceArea {
            contract_id: id,
            service_area_id: area.clone(),
        })
        .collect();
    diesel::insert_into(contract_service_areas::table)
        .values(&links)
        .execute(conn)?;
    Ok(())
}

/// Inserts a contract with its service areas; returns its id.
pub fn insert(conn: &mut PgConnection, write: &ContractWrite) -> QueryResult<i64> {
    let id = diesel::insert_into(contracts::table)
        .values(&write.contract)
        .returning(contracts::id)
        .get_result(conn)?;
    replace_areas(conn, id, &write.service_area_ids)?;
    Ok(id)
}

/// Replaces a contract's fields and service areas.
pub fn update(conn: &mut PgConnection, id: i64, write: &ContractWrite) -> QueryResult<()> {
    diesel::update(contracts::table.find(id))
        .set(&write.contract)
        .execute(conn)?;
    replace_areas(conn, id, &write.service_area_ids)
}

/// Deletes a contract (its service-area links go with it).
pub fn delete(conn: &mut PgConnection, id: i64) -> QueryResult<()> {
    diesel::delete(contracts::table.find(id)).execute(conn)?;
    Ok(())
}
