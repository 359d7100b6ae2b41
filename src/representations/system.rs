//! The system as the API shows it, and its current representation.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::queries::systems::{self, SystemRecord};

/// A product used by boroughs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct System {
    #[schema(example = "civica-openrevenues")]
    pub id: String,
    #[schema(example = "Civica OpenRevenues")]
    pub name: String,
    /// The vendor of the product.
    #[schema(example = "civica")]
    pub supplier_id: String,
    /// The service areas the product serves.
    #[schema(example = json!(["council-tax", "business-rates", "housing-benefit"]))]
    pub service_area_ids: Vec<String>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes on every write.
    pub version: i32,
}

impl From<SystemRecord> for System {
    fn from(record: SystemRecord) -> Self {
        let s = record.system;
        System {
            id: s.id,
            name: s.name,
            supplier_id: s.supplier_id,
            service_area_ids: record.service_area_ids,
            description: s.description,
            created_at: s.created_at,
            updated_at: s.updated_at,
            version: s.version,
        }
    }
}

/// The columns of a CSV list, in order: the representation's fields.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "name",
    "supplier_id",
    "service_area_ids",
    "description",
    "created_at",
    "updated_at",
    "version",
];

/// The current representation of the system `id`, as writes return it and the change log keeps
/// it; None when there is no such system.
pub fn current(conn: &mut PgConnection, id: &str) -> QueryResult<Option<serde_json::Value>> {
    Ok(systems::find(conn, id)?.map(|row| super::to_json(&System::from(row))))
}
