use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::service_areas;

/// A node of the two-level service-area tree: a group (no parent) or an area within a group.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = service_areas, check_for_backend(diesel::pg::Pg))]
pub struct ServiceArea {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = service_areas)]
pub struct NewServiceArea {
    pub id: String,
    pub name: String,
    #[diesel(treat_none_as_null = true)]
    pub parent_id: Option<String>,
    #[diesel(treat_none_as_null = true)]
    pub description: Option<String>,
}
