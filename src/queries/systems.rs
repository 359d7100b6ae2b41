//! Systems with their service areas.

use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Text};

use super::contains_pattern;
use super::contracts::{check_suppliers_exist, expand_service_areas};
use super::QueryError;
use crate::db::schema::{system_service_areas, systems};
use crate::models::{NewSystem, System, SystemServiceArea};

super::sort_keys! {
    /// What a system list can be sorted by.
    SystemSortKey { Name => "name", Id => "id", Supplier => "supplier" }
}

/// System filters as given.
#[derive(Debug, Clone, Default)]
pub struct SystemCriteria {
    pub supplier: Vec<String>,
    /// Systems serving these service areas (a group means every area under it).
    pub service_area: Vec<String>,
    /// Words that must each appear in the name or description.
    pub words: Vec<String>,
}

/// System filters checked against the database.
#[derive(Debug, Clone)]
pub struct SystemFilter {
    criteria: SystemCriteria,
    service_area_ids: Vec<String>,
}

/// A system with its service areas.
#[derive(Debug, Clone, Queryable)]
pub struct SystemRecord {
    pub system: System,
    pub service_area_ids: Vec<String>,
}

type Boxed<'a, ST> = systems::BoxedQuery<'a, Pg, ST>;

type RecordSelection = (
    diesel::helper_types::AsSelect<System, Pg>,
    diesel::expression::SqlLiteral<Array<Text>>,
);

fn record_selection() -> RecordSelection {
    (
        System::as_select(),
        sql::<Array<Text>>(
            "ARRAY(SELECT ssa.service_area_id FROM system_service_areas ssa \
             WHERE ssa.system_id = systems.id ORDER BY 1)",
        ),
    )
}

impl SystemCriteria {
    pub fn resolve(mut self, conn: &mut PgConnection) -> Result<SystemFilter, QueryError> {
        let mut errors = Vec::new();
        super::fold_case(&mut self.supplier);
        super::fold_case(&mut self.service_area);
        check_suppliers_exist(conn, &self.supplier, &mut errors)?;
        let service_area_ids =
            expand_service_areas(conn, "service_area", &self.service_area, &mut errors)?;
        if !errors.is_empty() {
            return Err(QueryError::InvalidFilter(errors));
        }
        Ok(SystemFilter {
            criteria: self,
            service_area_ids,
        })
    }
}

impl SystemFilter {
    fn apply<'a, ST: 'a>(&'a self, mut query: Boxed<'a, ST>) -> Boxed<'a, ST> {
        let c = &self.criteria;
        if !c.supplier.is_empty() {
            query = query.filter(systems::supplier_id.eq_any(&c.supplier));
        }
        if !c.service_area.is_empty() {
            query = query.filter(
                systems::id.eq_any(
                    system_service_areas::table
                        .filter(
                            system_service_areas::service_area_id.eq_any(&self.service_area_ids),
                        )
                        .select(system_service_areas::system_id),
                ),
            );
        }
        for word in &c.words {
            let pattern = contains_pattern(word);
            query = query.filter(
                systems::name
                    .ilike(pattern.clone())
                    .or(systems::description.ilike(pattern)),
            );
        }
        query
    }
}

super::list::catalogue_list!(
    SystemFilter,
    systems,
    SystemRecord,
    record_selection(),
    SystemSortKey { Name => name, Id => id, Supplier => supplier_id },
    id: |row| row.system.id,
    value: |row, key| match key {
        SystemSortKey::Name => row.system.name.clone(),
        SystemSortKey::Id => row.system.id.clone(),
        SystemSortKey::Supplier => row.system.supplier_id.clone(),
    },
);

/// One system by id, with its service areas.
pub fn find(conn: &mut PgConnection, id: &str) -> QueryResult<Option<SystemRecord>> {
    systems::table
        .filter(systems::id.eq(id))
        .select(record_selection())
        .first(conn)
        .optional()
}

/// A system as written: its row and its service areas.
#[derive(Debug, Clone)]
pub struct SystemWrite {
    pub system: NewSystem,
    pub service_area_ids: Vec<String>,
}

fn replace_areas(conn: &mut PgConnection, id: &str, areas: &[String]) -> QueryResult<()> {
    diesel::delete(system_service_areas::table.filter(system_service_areas::system_id.eq(id)))
        .execute(conn)?;
    let links: Vec<SystemServiceArea> = areas
        .iter()
        .map(|area| SystemServiceArea {
            system_id: id.to_owned(),
            service_area_id: area.clone(),
        })
        .collect();
    diesel::insert_into(system_service_areas::table)
        .values(&links)
        .execute(conn)?;
    Ok(())
}

/// Inserts a system with its service areas.
pub fn insert(conn: &mut PgConnection, write: &SystemWrite) -> QueryResult<()> {
    diesel::insert_into(systems::table)
        .values(&write.system)
        .execute(conn)?;
    replace_areas(conn, &write.system.id, &write.service_area_ids)
}

/// Replaces a system's fields and service areas (its id stays).
pub fn update(conn: &mut PgConnection, id: &str, write: &SystemWrite) -> QueryResult<()> {
    diesel::update(systems::table.find(id))
        .set(&write.system)
        .execute(conn)?;
    replace_areas(conn, id, &write.service_area_ids)
}

/// What still refers to a system, as a 409 detail.
pub fn references(conn: &mut PgConnection, id: &str) -> QueryResult<Option<String>> {
    super::writes::still_referenced(
        conn,
        "system",
        id,
        &[("contracts", "system_id", "contracts")],
    )
}

/// Deletes a system (its service-area links go with it).
pub fn delete(conn: &mut PgConnection, id: &str) -> QueryResult<()> {
    diesel::delete(systems::table.find(id)).execute(conn)?;
    Ok(())
}
