//! A supplier's footprint across London: the boroughs where it holds contracts, with the service
//! areas and systems in each (the rows come from `queries::insights`).

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::queries::insight_rows::BoroughFootprint;

/// The columns of a footprint as CSV, one row per borough (lists joined with `|`).
pub const CSV_COLUMNS: &[&str] = &[
    "borough_id",
    "borough_name",
    "contracts",
    "service_area_ids",
    "system_ids",
];

/// A supplier's footprint.
#[derive(Debug, Serialize, ToSchema)]
pub struct Footprint {
    pub supplier_id: String,
    pub items: Vec<BoroughFootprint>,
    /// Contracts that contributed, by source; `illustrative` ones are invented for demonstration.
    #[schema(example = json!({"illustrative": 709}))]
    pub sources: BTreeMap<String, i64>,
}
