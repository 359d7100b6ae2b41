//! Expertise: which boroughs use a system (or each of several), and how confident they are
//! with it.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::queries::insights::BoroughConfidence;

/// A borough using a system, with its confidence in supporting and developing it (the highest
/// over its contracts for the system; shown to callers with a key).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SystemUser {
    pub borough_id: String,
    pub borough_name: String,
    /// The system the borough uses (one of those asked).
    pub system_id: String,
    pub system_name: String,
    /// Its contracts for the system.
    pub contracts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 5)]
    pub support_confidence: Option<i16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 5)]
    pub development_confidence: Option<i16>,
}

/// A system asked about.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AskedSystem {
    pub system_id: String,
    pub system_name: String,
}

/// The boroughs using the systems asked about.
#[derive(Debug, Serialize, ToSchema)]
pub struct Expertise {
    /// The system asked about, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_id: Option<String>,
    /// Its name, when one system was asked about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_name: Option<String>,
    /// The systems asked about, in the order asked.
    pub systems: Vec<AskedSystem>,
    /// By system, in the order asked; within a system most confident first (by support plus
    /// development confidence) for callers with a key, by borough id for anonymous callers, who
    /// see no confidence figures.
    pub items: Vec<SystemUser>,
    /// Contracts that contributed, by source; `illustrative` ones are invented for demonstration.
    #[schema(example = json!({"illustrative": 709}))]
    pub sources: BTreeMap<String, i64>,
}

/// The CSV's columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "borough_id",
    "borough_name",
    "contracts",
    "system_id",
    "system_name",
    "support_confidence",
    "development_confidence",
];

/// The boroughs using the systems `asked`, from their rows: by system in the order asked, and
/// within one most confident first as the rows come. A caller who does not `sees` assessments
/// gets neither the figures nor their order, which would reveal them.
pub fn system_users(rows: Vec<BoroughConfidence>, asked: &[String], sees: bool) -> Vec<SystemUser> {
    let mut items: Vec<SystemUser> = rows
        .into_iter()
        .map(|row| SystemUser {
            borough_id: row.borough_id,
            borough_name: row.borough_name,
            system_id: row.system_id,
            system_name: row.system_name,
            contracts: row.contracts,
            support_confidence: row.support_confidence.filter(|_| sees),
            development_confidence: row.development_confidence.filter(|_| sees),
        })
        .collect();
    let place = |user: &SystemUser| asked.iter().position(|id| *id == user.system_id);
    if sees {
        items.sort_by_key(place);
    } else {
        items.sort_by(|a, b| (place(a), &a.borough_id).cmp(&(place(b), &b.borough_id)));
    }
    items
}

#[cfg(test)]
pub(crate) fn confidence(
    borough: &str,
    system: &str,
    support: Option<i16>,
    development: Option<i16>,
) -> BoroughConfidence {
    BoroughConfidence {
        borough_id: borough.into(),
        borough_name: borough.to_uppercase(),
        system_id: system.into(),
        system_name: system.to_uppercase(),
        contracts: 1,
        support_confidence: support,
        development_confidence: development,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_systems_come_in_the_order_asked() {
        let rows = vec![
            confidence("lambeth", "academy", Some(5), Some(5)),
            confidence("camden", "openrevenues", Some(4), None),
            confidence("barnet", "academy", Some(1), None),
        ];
        let asked = ["openrevenues".to_string(), "academy".to_string()];
        let order = |users: Vec<SystemUser>| -> Vec<(String, String)> {
            users
                .into_iter()
                .map(|u| (u.system_id, u.borough_id))
                .collect()
        };
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(s, b)| (s.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            order(system_users(rows.clone(), &asked, true)),
            pairs(&[
                ("openrevenues", "camden"),
                ("academy", "lambeth"),
                ("academy", "barnet")
            ])
        );
        assert_eq!(
            order(system_users(rows, &asked, false)),
            pairs(&[
                ("openrevenues", "camden"),
                ("academy", "barnet"),
                ("academy", "lambeth")
            ])
        );
    }

    fn rows() -> Vec<BoroughConfidence> {
        vec![
            confidence("lambeth", "academy", Some(5), Some(5)),
            confidence("camden", "academy", Some(3), None),
        ]
    }

    #[test]
    fn keyed_callers_see_the_confidence_order() {
        let items = system_users(rows(), &["academy".into()], true);
        assert_eq!(items[0].borough_id, "lambeth");
        assert_eq!(items[0].support_confidence, Some(5));
    }

    #[test]
    fn anonymous_callers_get_boroughs_by_id_without_figures() {
        let items = system_users(rows(), &["academy".into()], false);
        assert_eq!(items[0].borough_id, "camden");
        assert!(items
            .iter()
            .all(|u| u.support_confidence.is_none() && u.development_confidence.is_none()));
    }
}
