//! Service areas: the two-level tree of groups and areas.

use diesel::pg::Pg;
use diesel::prelude::*;

use super::contains_pattern;
use super::contracts::check_exist;
use super::QueryError;
use crate::db::schema::service_areas;
use crate::models::{NewServiceArea, ServiceArea};

super::sort_keys! {
    /// What a service-area list can be sorted by.
    ServiceAreaSortKey { Name => "name", Id => "id" }
}

super::sort_keys! {
    /// A level of the service-area tree.
    Level { Group => "group", Area => "area" }
}

/// Service-area filters.
#[derive(Debug, Clone, Default)]
pub struct ServiceAreaFilter {
    /// Only the areas under these groups.
    pub parent: Vec<String>,
    pub level: Option<Level>,
    /// Words that must each appear in the name or description.
    pub words: Vec<String>,
}

type Boxed<'a, ST> = service_areas::BoxedQuery<'a, Pg, ST>;

impl ServiceAreaFilter {
    /// Checks that every parent named exists.
    pub fn check(&self, conn: &mut PgConnection) -> Result<(), QueryError> {
        let mut errors = Vec::new();
        check_exist(conn, "parent", "service_areas", &self.parent, &mut errors)?;
        if errors.is_empty() {
            Ok(())
        } else {
            Err(QueryError::InvalidFilter(errors))
        }
    }

    fn apply<'a, ST: 'a>(&'a self, mut query: Boxed<'a, ST>) -> Boxed<'a, ST> {
        if !self.parent.is_empty() {
            query = query.filter(service_areas::parent_id.eq_any(&self.parent));
        }
        match self.level {
            Some(Level::Group) => query = query.filter(service_areas::parent_id.is_null()),
            Some(Level::Area) => query = query.filter(service_areas::parent_id.is_not_null()),
            None => {}
        }
        for word in &self.words {
            let pattern = contains_pattern(word);
            query = query.filter(
                service_areas::name
                    .ilike(pattern.clone())
                    .or(service_areas::description.ilike(pattern)),
            );
        }
        query
    }
}

super::list::catalogue_list!(
    ServiceAreaFilter,
    service_areas,
    ServiceArea,
    ServiceArea::as_select(),
    ServiceAreaSortKey { Name => name, Id => id },
    id: |row| row.id,
    value: |row, key| match key {
        ServiceAreaSortKey::Name => row.name.clone(),
        ServiceAreaSortKey::Id => row.id.clone(),
    },
);

/// One service area or group by id.
pub fn find(conn: &mut PgConnection, id: &str) -> QueryResult<Option<ServiceArea>> {
    service_areas::table
        .find(id)
        .select(ServiceArea::as_select())
        .first(conn)
        .optional()
}

/// Inserts a service area or group.
pub fn insert(conn: &mut PgConnection, area: &NewServiceArea) -> QueryResult<()> {
    diesel::insert_into(service_areas::table)
        .values(area)
        .execute(conn)?;
    Ok(())
}

/// Replaces a service area's fields (its id stays).
pub fn update(conn: &mut PgConnection, id: &str, area: &NewServiceArea) -> QueryResult<()> {
    diesel::update(service_areas::table.find(id))
        .set(area)
        .execute(conn)?;
    Ok(())
}

/// How many areas have `id` as their group.
pub fn children(conn: &mut PgConnection, id: &str) -> QueryResult<i64> {
    super::writes::count_referencing(conn, "service_areas", "parent_id", id)
}

/// How many systems and how many contracts are tagged with `id`.
pub fn tagged(conn: &mut PgConnection, id: &str) -> QueryResult<(i64, i64)> {
    Ok((
        super::writes::count_referencing(conn, "system_service_areas", "service_area_id", id)?,
        super::writes::count_referencing(conn, "contract_service_areas", "service_area_id", id)?,
    ))
}

/// What still refers to a service area, as a 409 detail.
pub fn references(conn: &mut PgConnection, id: &str) -> QueryResult<Option<String>> {
    super::writes::still_referenced(
        conn,
        "service area",
        id,
        &[
            ("service_areas", "parent_id", "service areas under it"),
            ("system_service_areas", "service_area_id", "systems"),
            ("contract_service_areas", "service_area_id", "contracts"),
        ],
    )
}

pub fn delete(conn: &mut PgConnection, id: &str) -> QueryResult<()> {
    diesel::delete(service_areas::table.find(id)).execute(conn)?;
    Ok(())
}

/// Every service area's (and group's) name, by id: from the reference cache when the pool has
/// one (no statement), else read.
pub fn names(conn: &mut PgConnection) -> QueryResult<std::collections::HashMap<String, String>> {
    if let Some(catalogue) = crate::db::reference::catalogue(conn)? {
        return Ok(catalogue.service_area_names().clone());
    }
    service_areas::table
        .select((service_areas::id, service_areas::name))
        .load::<(String, String)>(conn)
        .map(|rows| rows.into_iter().collect())
}
