//! The service area as the API shows it, and its current representation.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::models;
use crate::queries::service_areas;

/// A service area, or a group of them when it has no parent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceArea {
    #[schema(example = "adult-social-care")]
    pub id: String,
    #[schema(example = "Adult social care")]
    pub name: String,
    /// The group this area belongs to; null for a group.
    #[schema(example = "social-care")]
    pub parent_id: Option<String>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes on every write.
    pub version: i32,
}

impl From<models::ServiceArea> for ServiceArea {
    fn from(a: models::ServiceArea) -> Self {
        ServiceArea {
            id: a.id,
            name: a.name,
            parent_id: a.parent_id,
            description: a.description,
            created_at: a.created_at,
            updated_at: a.updated_at,
            version: a.version,
        }
    }
}

/// The columns of a CSV list, in order: the representation's fields.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "name",
    "parent_id",
    "description",
    "created_at",
    "updated_at",
    "version",
];

/// The current representation of the service area `id`, as writes return it and the change log keeps
/// it; None when there is no such service area.
pub fn current(conn: &mut PgConnection, id: &str) -> QueryResult<Option<serde_json::Value>> {
    Ok(service_areas::find(conn, id)?.map(|row| super::to_json(&ServiceArea::from(row))))
}
