//! Market share: who holds each service area, and how concentrated each area is.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::stats::{hhi, round};
use crate::queries::insight_rows::AreaSupplier;

/// One supplier's place in a service area.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SupplierShare {
    pub supplier_id: String,
    pub supplier_name: String,
    /// Distinct boroughs where it holds contracts in the area.
    pub boroughs: i64,
    pub contracts: i64,
    /// Its fraction of the area's contracts, 0 to 1.
    #[schema(example = 0.4167)]
    pub share: f64,
}

/// The market in one service area.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AreaMarket {
    pub service_area_id: String,
    pub contracts: i64,
    /// Herfindahl-Hirschman index: the sum of the squared percentage shares, 0 to 10,000.
    #[schema(example = 2847.2)]
    pub hhi: f64,
    /// Largest first.
    pub suppliers: Vec<SupplierShare>,
}

/// Market share by service area.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarketShare {
    pub items: Vec<AreaMarket>,
    /// Contracts that contributed, by source; `illustrative` ones are invented for demonstration.
    #[schema(example = json!({"illustrative": 709}))]
    pub sources: BTreeMap<String, i64>,
}

/// A flat row of the market-share CSV: one per service area and supplier.
#[derive(Debug, Serialize)]
pub struct MarketShareRow<'a> {
    service_area_id: &'a str,
    area_contracts: i64,
    hhi: f64,
    supplier_id: &'a str,
    supplier_name: &'a str,
    boroughs: i64,
    contracts: i64,
    share: f64,
}

/// The columns of [`MarketShareRow`], in order.
pub const CSV_COLUMNS: &[&str] = &[
    "service_area_id",
    "area_contracts",
    "hhi",
    "supplier_id",
    "supplier_name",
    "boroughs",
    "contracts",
    "share",
];

/// The areas' markets from their suppliers' rows, which come ordered by area (then largest
/// first): shares rounded to 4 places, the index to 1.
pub fn markets(rows: Vec<AreaSupplier>) -> Vec<AreaMarket> {
    let mut areas: Vec<AreaMarket> = Vec::new();
    for row in rows {
        if areas
            .last()
            .is_none_or(|area| area.service_area_id != row.service_area_id)
        {
            areas.push(AreaMarket {
                service_area_id: row.service_area_id.clone(),
                contracts: 0,
                hhi: 0.0,
                suppliers: Vec::new(),
            });
        }
        let area = areas.last_mut().expect("an area");
        area.contracts += row.supplier.contracts;
        area.suppliers.push(SupplierShare {
            supplier_id: row.supplier.supplier_id,
            supplier_name: row.supplier.supplier_name,
            boroughs: row.boroughs,
            contracts: row.supplier.contracts,
            share: 0.0,
        });
    }
    for area in &mut areas {
        let total = area.contracts as f64;
        let shares: Vec<f64> = area
            .suppliers
            .iter()
            .map(|s| s.contracts as f64 / total)
            .collect();
        area.hhi = round(hhi(&shares), 1);
        for (supplier, share) in area.suppliers.iter_mut().zip(shares) {
            supplier.share = round(share, 4);
        }
    }
    areas
}

/// The markets flattened for CSV.
pub fn csv_rows(areas: &[AreaMarket]) -> Vec<MarketShareRow<'_>> {
    areas
        .iter()
        .flat_map(|area| {
            area.suppliers.iter().map(move |s| MarketShareRow {
                service_area_id: &area.service_area_id,
                area_contracts: area.contracts,
                hhi: area.hhi,
                supplier_id: &s.supplier_id,
                supplier_name: &s.supplier_name,
                boroughs: s.boroughs,
                contracts: s.contracts,
                share: s.share,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queries::insight_rows::SupplierCount;

    fn row(area: &str, supplier: &str, contracts: i64) -> AreaSupplier {
        AreaSupplier {
            service_area_id: area.into(),
            supplier: SupplierCount {
                supplier_id: supplier.into(),
                supplier_name: supplier.to_uppercase(),
                contracts,
            },
            boroughs: 1,
        }
    }

    #[test]
    fn an_even_split_is_5000_and_a_monopoly_10000() {
        let areas = markets(vec![
            row("parking", "a", 3),
            row("parking", "b", 3),
            row("waste", "c", 7),
        ]);
        assert_eq!(areas.len(), 2);
        assert_eq!((areas[0].contracts, areas[0].hhi), (6, 5000.0));
        assert_eq!(areas[0].suppliers[1].share, 0.5);
        assert_eq!((areas[1].contracts, areas[1].hhi), (7, 10_000.0));
        assert_eq!(areas[1].suppliers[0].share, 1.0);
    }

    #[test]
    fn shares_and_the_index_are_rounded() {
        // 2/3 and 1/3: HHI = 4444.4 + 1111.1 = 5555.6 (rounded from 5555.56).
        let areas = markets(vec![row("waste", "a", 2), row("waste", "b", 1)]);
        assert_eq!(areas[0].hhi, 5555.6);
        assert_eq!(areas[0].suppliers[0].share, 0.6667);
        assert_eq!(areas[0].suppliers[1].share, 0.3333);
    }

    #[test]
    fn the_csv_has_a_row_per_area_and_supplier() {
        let areas = markets(vec![row("parking", "a", 1), row("waste", "b", 1)]);
        let rows = csv_rows(&areas);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].service_area_id, "waste");
        assert_eq!(rows[1].area_contracts, 1);
    }
}
