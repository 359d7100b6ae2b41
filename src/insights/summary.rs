//! Summary: the headline counts and how concentrated the market is.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::stats::round;
use crate::queries::insight_rows::{Counts, SupplierCount};

/// A supplier among the top.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TopSupplier {
    pub supplier_id: String,
    pub supplier_name: String,
    pub contracts: i64,
    /// Its fraction of the contracts.
    pub share: f64,
}

/// Headline figures.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct Summary {
    /// Authorities with at least one matching contract.
    pub authorities: i64,
    /// Distinct suppliers holding matching contracts.
    pub suppliers: i64,
    /// Distinct systems named by matching contracts.
    pub systems: i64,
    pub contracts: i64,
    /// The suppliers with the most contracts (ties by id).
    pub top: Vec<TopSupplier>,
    /// The fraction of contracts the top suppliers hold together.
    #[schema(example = 0.836)]
    pub top_share: f64,
    /// Contracts that contributed, by source; `illustrative` ones are invented for demonstration.
    #[schema(example = json!({"illustrative": 709}))]
    pub sources: BTreeMap<String, i64>,
}

/// The counts with each top supplier's share of the contracts and theirs together (4 places;
/// 0 when there are no contracts), and the contracts' `sources`.
pub fn summary(counts: Counts, top: Vec<SupplierCount>, sources: BTreeMap<String, i64>) -> Summary {
    let share = |contracts: i64| {
        if counts.contracts == 0 {
            0.0
        } else {
            round(contracts as f64 / counts.contracts as f64, 4)
        }
    };
    let held: i64 = top.iter().map(|s| s.contracts).sum();
    Summary {
        authorities: counts.authorities,
        suppliers: counts.suppliers,
        systems: counts.systems,
        contracts: counts.contracts,
        top_share: share(held),
        top: top
            .into_iter()
            .map(|s| TopSupplier {
                share: share(s.contracts),
                supplier_id: s.supplier_id,
                supplier_name: s.supplier_name,
                contracts: s.contracts,
            })
            .collect(),
        sources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(contracts: i64) -> Counts {
        Counts {
            authorities: 3,
            suppliers: 4,
            systems: 5,
            contracts,
        }
    }

    fn supplier(id: &str, contracts: i64) -> SupplierCount {
        SupplierCount {
            supplier_id: id.into(),
            supplier_name: id.to_uppercase(),
            contracts,
        }
    }

    #[test]
    fn the_top_share_is_the_top_suppliers_together() {
        let answer = summary(
            counts(9),
            vec![supplier("a", 4), supplier("b", 2)],
            BTreeMap::new(),
        );
        assert_eq!(answer.top[0].share, 0.4444);
        assert_eq!(answer.top[1].share, 0.2222);
        assert_eq!(answer.top_share, 0.6667);
        assert_eq!((answer.authorities, answer.systems), (3, 5));
    }

    #[test]
    fn no_contracts_is_no_share() {
        let answer = summary(counts(0), Vec::new(), BTreeMap::new());
        assert_eq!(answer.top_share, 0.0);
        assert!(answer.top.is_empty());
    }
}
