//! The supplier as the API shows it, and its current representation.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::queries::suppliers::{self, SupplierRecord};

/// A supplier of software or services to boroughs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Supplier {
    #[schema(example = "civica")]
    pub id: String,
    #[schema(example = "Civica")]
    pub name: String,
    /// Other spellings seen in source data, used to match imports.
    #[schema(example = json!(["Civica UK Ltd", "Civica UK Limited"]))]
    pub aliases: Vec<String>,
    /// Companies House registration number.
    pub companies_house_number: Option<String>,
    pub website: Option<String>,
    /// Whether the supplier is a small or medium-sized enterprise.
    pub sme: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes on every write.
    pub version: i32,
}

impl From<SupplierRecord> for Supplier {
    fn from(record: SupplierRecord) -> Self {
        let s = record.supplier;
        Supplier {
            id: s.id,
            name: s.name,
            aliases: record.aliases,
            companies_house_number: s.companies_house_number,
            website: s.website,
            sme: s.sme,
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
    "aliases",
    "companies_house_number",
    "website",
    "sme",
    "created_at",
    "updated_at",
    "version",
];

/// The current representation of the supplier `id`, as writes return it and the change log keeps
/// it; None when there is no such supplier.
pub fn current(conn: &mut PgConnection, id: &str) -> QueryResult<Option<serde_json::Value>> {
    Ok(suppliers::find(conn, id)?.map(|row| super::to_json(&Supplier::from(row))))
}
