//! Peers: for each system a borough uses, the other boroughs that know it well.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::queries::insights::BoroughConfidence;

/// Another borough confident with a system.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Peer {
    pub borough_id: String,
    pub borough_name: String,
    pub support_confidence: Option<i16>,
    pub development_confidence: Option<i16>,
}

/// A system the borough uses, with the peers who know it well.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SystemPeers {
    pub system_id: String,
    pub system_name: String,
    pub peers: Vec<Peer>,
}

/// Peers for each system a borough uses.
#[derive(Debug, Serialize, ToSchema)]
pub struct Peers {
    pub borough_id: String,
    pub min_confidence: u32,
    pub items: Vec<SystemPeers>,
    /// Contracts that contributed, by source; `illustrative` ones are invented for demonstration.
    #[schema(example = json!({"illustrative": 709}))]
    pub sources: BTreeMap<String, i64>,
}

/// Every system in `rows` (the boroughs using the systems of `borough_id`, most confident
/// first), by id, with the other boroughs whose support or development confidence is at least
/// `min_confidence`; a system with none is listed with no peers.
pub fn peers(
    rows: Vec<BoroughConfidence>,
    borough_id: &str,
    min_confidence: u32,
) -> Vec<SystemPeers> {
    let threshold = i16::try_from(min_confidence).unwrap_or(i16::MAX);
    let mut by_system: BTreeMap<String, SystemPeers> = BTreeMap::new();
    for row in rows {
        let entry = by_system
            .entry(row.system_id.clone())
            .or_insert_with(|| SystemPeers {
                system_id: row.system_id.clone(),
                system_name: row.system_name.clone(),
                peers: Vec::new(),
            });
        let confident = row.support_confidence.is_some_and(|c| c >= threshold)
            || row.development_confidence.is_some_and(|c| c >= threshold);
        if row.borough_id != borough_id && confident {
            entry.peers.push(Peer {
                borough_id: row.borough_id,
                borough_name: row.borough_name,
                support_confidence: row.support_confidence,
                development_confidence: row.development_confidence,
            });
        }
    }
    by_system.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::expertise::confidence;

    #[test]
    fn peers_are_other_boroughs_confident_enough_in_either_way() {
        let rows = vec![
            confidence("camden", "academy", Some(5), Some(5)),
            confidence("hackney", "academy", Some(2), Some(4)),
            confidence("lambeth", "academy", Some(3), None),
            confidence("camden", "openrevenues", Some(1), Some(1)),
        ];
        let systems = peers(rows, "camden", 4);
        let found: Vec<(&str, Vec<&str>)> = systems
            .iter()
            .map(|s| {
                let ids = s.peers.iter().map(|p| p.borough_id.as_str()).collect();
                (s.system_id.as_str(), ids)
            })
            .collect();
        assert_eq!(
            found,
            vec![("academy", vec!["hackney"]), ("openrevenues", vec![])]
        );
    }
}
