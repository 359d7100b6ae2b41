//! The borough as the API shows it, and its current representation.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::models::{self, BoroughKind};
use crate::queries::boroughs;

/// A London authority.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Borough {
    /// Slug; the GSS code is accepted wherever an id is.
    #[schema(example = "camden")]
    pub id: String,
    /// ONS Government Statistical Service code.
    #[schema(example = "E09000007")]
    pub gss_code: String,
    #[schema(example = "Camden")]
    pub name: String,
    #[schema(example = "London Borough of Camden")]
    pub official_name: String,
    #[schema(value_type = BoroughKind)]
    pub kind: String,
    /// Inner London as defined by the London Government Act 1963.
    pub inner_london_statutory: bool,
    /// Inner London as defined by the ONS for statistics.
    pub inner_london_ons: bool,
    /// A flag for boroughs that answered the City Tools survey, as an admin sets it; not a
    /// verified fact. In the seed data it is invented: it marks the 22 authorities whose
    /// illustrative contracts were given ratings, not boroughs known to have answered.
    pub surveyed: bool,
    #[schema(example = "https://www.camden.gov.uk")]
    pub website: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes on every write.
    pub version: i32,
}

impl From<models::Borough> for Borough {
    fn from(b: models::Borough) -> Self {
        Borough {
            id: b.id,
            gss_code: b.gss_code,
            name: b.name,
            official_name: b.official_name,
            kind: b.kind,
            inner_london_statutory: b.inner_london_statutory,
            inner_london_ons: b.inner_london_ons,
            surveyed: b.surveyed,
            website: b.website,
            created_at: b.created_at,
            updated_at: b.updated_at,
            version: b.version,
        }
    }
}

/// The columns of a CSV list, in order: the representation's fields.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "gss_code",
    "name",
    "official_name",
    "kind",
    "inner_london_statutory",
    "inner_london_ons",
    "surveyed",
    "website",
    "created_at",
    "updated_at",
    "version",
];

/// The current representation of the borough `id`, as writes return it and the change log keeps
/// it; None when there is no such borough.
pub fn current(conn: &mut PgConnection, id: &str) -> QueryResult<Option<serde_json::Value>> {
    Ok(boroughs::find(conn, id)?.map(|row| super::to_json(&Borough::from(row))))
}
