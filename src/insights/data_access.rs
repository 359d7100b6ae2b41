//! Data access: which suppliers charge boroughs for their own data, or withhold it.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::stats::round;
use crate::queries::insight_rows::DataAccessCounts;

/// How boroughs get their data out of one supplier's systems.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SupplierDataAccess {
    pub supplier_id: String,
    pub supplier_name: String,
    pub contracts: i64,
    pub included: i64,
    pub charged: i64,
    pub unavailable: i64,
    pub unknown: i64,
    /// The fraction of its contracts where the borough is charged for, or cannot get, its data.
    #[schema(example = 0.3333)]
    pub share_charged_or_unavailable: f64,
}

/// Data access by supplier.
#[derive(Debug, Serialize, ToSchema)]
pub struct DataAccessInsight {
    /// Highest share charged or unavailable first, then most contracts.
    pub items: Vec<SupplierDataAccess>,
    /// Contracts that contributed, by source; `illustrative` ones are invented for demonstration.
    #[schema(example = json!({"illustrative": 709}))]
    pub sources: BTreeMap<String, i64>,
}

/// The CSV's columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "supplier_id",
    "supplier_name",
    "contracts",
    "included",
    "charged",
    "unavailable",
    "unknown",
    "share_charged_or_unavailable",
];

/// Each supplier's share charged or unavailable (4 places), highest first, then most
/// contracts, then by id.
pub fn by_supplier(rows: Vec<DataAccessCounts>) -> Vec<SupplierDataAccess> {
    let mut items: Vec<SupplierDataAccess> = rows
        .into_iter()
        .map(|row| SupplierDataAccess {
            share_charged_or_unavailable: round(
                (row.charged + row.unavailable) as f64 / row.supplier.contracts as f64,
                4,
            ),
            supplier_id: row.supplier.supplier_id,
            supplier_name: row.supplier.supplier_name,
            contracts: row.supplier.contracts,
            included: row.included,
            charged: row.charged,
            unavailable: row.unavailable,
            unknown: row.unknown,
        })
        .collect();
    items.sort_by(|a, b| {
        b.share_charged_or_unavailable
            .total_cmp(&a.share_charged_or_unavailable)
            .then(b.contracts.cmp(&a.contracts))
            .then(a.supplier_id.cmp(&b.supplier_id))
    });
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queries::insight_rows::SupplierCount;

    fn row(id: &str, included: i64, charged: i64, unavailable: i64) -> DataAccessCounts {
        DataAccessCounts {
            supplier: SupplierCount {
                supplier_id: id.into(),
                supplier_name: id.to_uppercase(),
                contracts: included + charged + unavailable,
            },
            included,
            charged,
            unavailable,
            unknown: 0,
        }
    }

    #[test]
    fn the_worst_share_comes_first_then_the_most_contracts() {
        let items = by_supplier(vec![
            row("a", 2, 1, 0),
            row("b", 1, 1, 1),
            row("c", 4, 1, 1),
            row("d", 1, 0, 0),
        ]);
        let order: Vec<(&str, f64)> = items
            .iter()
            .map(|s| (s.supplier_id.as_str(), s.share_charged_or_unavailable))
            .collect();
        assert_eq!(
            order,
            vec![("b", 0.6667), ("c", 0.3333), ("a", 0.3333), ("d", 0.0)]
        );
    }
}
