//! Vendor satisfaction: do boroughs with fewer suppliers rate their contracts worse?

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::stats::{pearson, round};
use super::PUBLIC_AGGREGATE_MIN_BOROUGHS;
use crate::queries::insight_rows::BoroughRatings;

/// A borough's suppliers and its mean ratings (the means shown to callers with a key).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BoroughSatisfaction {
    pub borough_id: String,
    pub borough_name: String,
    /// Distinct suppliers holding its contracts.
    pub suppliers: i64,
    pub contracts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 3.6)]
    pub mean_satisfaction: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 3.1)]
    pub mean_value_for_money: Option<f64>,
}

/// Pearson's r of each borough's supplier count against its mean ratings.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Correlation {
    /// Null when fewer than 2 boroughs have ratings, when nothing varies, or (for anonymous
    /// callers) when fewer than 3 boroughs have ratings.
    pub suppliers_vs_satisfaction: Option<f64>,
    pub suppliers_vs_value_for_money: Option<f64>,
    /// Boroughs with both mean ratings.
    pub n: usize,
}

/// Supplier counts and satisfaction by borough.
#[derive(Debug, Serialize, ToSchema)]
pub struct VendorSatisfaction {
    pub items: Vec<BoroughSatisfaction>,
    pub correlation: Correlation,
    /// Contracts that contributed, by source; `illustrative` ones are invented for demonstration.
    #[schema(example = json!({"illustrative": 709}))]
    pub sources: BTreeMap<String, i64>,
}

/// The CSV's columns: the means only for a caller who `sees` assessments.
pub fn csv_columns(sees: bool) -> Vec<&'static str> {
    let mut columns = vec!["borough_id", "borough_name", "suppliers", "contracts"];
    if sees {
        columns.extend(["mean_satisfaction", "mean_value_for_money"]);
    }
    columns
}

/// Each borough's figures, and the correlations over the boroughs with both ratings. A caller
/// who does not `sees` assessments gets no per-borough means, and correlations only over
/// enough boroughs that none can be read back from them. `sources` is carried as given.
pub fn vendor_satisfaction(
    rows: Vec<BoroughRatings>,
    sees: bool,
    sources: BTreeMap<String, i64>,
) -> VendorSatisfaction {
    let rated: Vec<(f64, f64, f64)> = rows
        .iter()
        .filter_map(|row| {
            Some((
                row.suppliers as f64,
                row.mean_satisfaction?,
                row.mean_value_for_money?,
            ))
        })
        .collect();
    let n = rated.len();
    let public = sees || n >= PUBLIC_AGGREGATE_MIN_BOROUGHS;
    let r = |pick: fn(&(f64, f64, f64)) -> (f64, f64)| {
        let pairs: Vec<(f64, f64)> = rated.iter().map(pick).collect();
        pearson(&pairs).filter(|_| public).map(|r| round(r, 4))
    };
    let correlation = Correlation {
        suppliers_vs_satisfaction: r(|t| (t.0, t.1)),
        suppliers_vs_value_for_money: r(|t| (t.0, t.2)),
        n,
    };
    let mean = |m: Option<f64>| m.filter(|_| sees).map(|m| round(m, 2));
    let items = rows
        .into_iter()
        .map(|row| BoroughSatisfaction {
            borough_id: row.borough_id,
            borough_name: row.borough_name,
            suppliers: row.suppliers,
            contracts: row.contracts,
            mean_satisfaction: mean(row.mean_satisfaction),
            mean_value_for_money: mean(row.mean_value_for_money),
        })
        .collect();
    VendorSatisfaction {
        items,
        correlation,
        sources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        id: &str,
        suppliers: i64,
        satisfaction: Option<f64>,
        vfm: Option<f64>,
    ) -> BoroughRatings {
        BoroughRatings {
            borough_id: id.into(),
            borough_name: id.to_uppercase(),
            suppliers,
            contracts: suppliers * 2,
            mean_satisfaction: satisfaction,
            mean_value_for_money: vfm,
        }
    }

    #[test]
    fn fewer_suppliers_worse_value_is_a_positive_r() {
        let rows = vec![
            row("a", 1, Some(2.0), Some(1.0)),
            row("b", 2, Some(2.0), Some(2.0)),
            row("c", 3, Some(4.0), Some(3.0)),
            row("d", 9, None, Some(5.0)),
        ];
        let answer = vendor_satisfaction(rows, false, BTreeMap::new());
        // Only a, b and c have both means; value for money rises with suppliers exactly.
        assert_eq!(answer.correlation.n, 3);
        assert_eq!(answer.correlation.suppliers_vs_value_for_money, Some(1.0));
        // x = 1, 2, 3 against y = 2, 2, 4: r = 2 / sqrt(2 * 8/3) = 0.866.
        assert_eq!(answer.correlation.suppliers_vs_satisfaction, Some(0.866));
        assert!(answer.items.iter().all(|b| b.mean_satisfaction.is_none()));
    }

    #[test]
    fn two_boroughs_are_too_few_for_anonymous_callers() {
        let rows = vec![
            row("a", 1, Some(2.0), Some(1.0)),
            row("b", 2, Some(3.0), Some(2.0)),
        ];
        let anonymous = vendor_satisfaction(rows.clone(), false, BTreeMap::new());
        assert_eq!(anonymous.correlation.suppliers_vs_satisfaction, None);
        let keyed = vendor_satisfaction(rows, true, BTreeMap::new());
        assert_eq!(keyed.correlation.suppliers_vs_satisfaction, Some(1.0));
        assert_eq!(keyed.items[1].mean_satisfaction, Some(3.0));
    }

    #[test]
    fn means_are_rounded_to_two_places() {
        let answer = vendor_satisfaction(
            vec![row("a", 1, Some(3.666_666), None)],
            true,
            BTreeMap::new(),
        );
        assert_eq!(answer.items[0].mean_satisfaction, Some(3.67));
        assert_eq!(answer.correlation.n, 0);
    }
}
