use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{system_service_areas, systems};

/// A product, sold by its vendor (the supplier).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = systems, check_for_backend(diesel::pg::Pg))]
pub struct System {
    pub id: String,
    pub name: String,
    pub supplier_id: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = systems)]
pub struct NewSystem {
    pub id: String,
    pub name: String,
    pub supplier_id: String,
    #[diesel(treat_none_as_null = true)]
    pub description: Option<String>,
}

/// A service area a system serves.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = system_service_areas, check_for_backend(diesel::pg::Pg))]
pub struct SystemServiceArea {
    pub system_id: String,
    pub service_area_id: String,
}
