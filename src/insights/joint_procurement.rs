//! Joint procurement: contracts in one service area (and optionally with one supplier) that end
//! close together.
//!
//! Within each key, contracts are taken in ascending end date (ties by id). A group starts at the
//! earliest contract not yet grouped and takes every following contract whose end date is at most
//! `window_months` after the group's first end date. Groups with fewer than `min_boroughs`
//! distinct boroughs are dropped.

use std::collections::BTreeSet;

use bigdecimal::BigDecimal;
use chrono::{Months, NaiveDate};

/// A contract as the scan sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: i64,
    pub borough_id: String,
    pub supplier_id: String,
    pub system_id: Option<String>,
    pub end_date: NaiveDate,
    pub annual_value_gbp: Option<BigDecimal>,
}

/// Contracts of one key ending within one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub service_area_id: String,
    pub supplier_id: Option<String>,
    pub first_end_date: NaiveDate,
    pub last_end_date: NaiveDate,
    pub borough_ids: Vec<String>,
    pub contracts: Vec<Member>,
    pub total_annual_value_gbp: BigDecimal,
}

/// Groups contracts fed in order of (key, end date, id), one key at a time.
pub struct Grouper {
    window: Months,
    min_boroughs: usize,
    current: Option<Group>,
    groups: Vec<Group>,
}

impl Grouper {
    pub fn new(window_months: u32, min_boroughs: usize) -> Grouper {
        Grouper {
            window: Months::new(window_months),
            min_boroughs,
            current: None,
            groups: Vec::new(),
        }
    }

    /// Adds the next contract of `service_area_id` (and `supplier_id` when grouping by supplier).
    pub fn push(&mut self, service_area_id: &str, supplier_id: Option<&str>, member: Member) {
        let joins = self.current.as_ref().is_some_and(|group| {
            group.service_area_id == service_area_id
                && group.supplier_id.as_deref() == supplier_id
                && group
                    .first_end_date
                    .checked_add_months(self.window)
                    .is_none_or(|limit| member.end_date <= limit)
        });
        if !joins {
            self.close();
            self.current = Some(Group {
                service_area_id: service_area_id.to_owned(),
                supplier_id: supplier_id.map(str::to_owned),
                first_end_date: member.end_date,
                last_end_date: member.end_date,
                borough_ids: Vec::new(),
                contracts: Vec::new(),
                total_annual_value_gbp: BigDecimal::from(0),
            });
        }
        let group = self.current.as_mut().expect("a current group");
        group.last_end_date = member.end_date;
        if let Some(value) = &member.annual_value_gbp {
            group.total_annual_value_gbp += value;
        }
        group.contracts.push(member);
    }

    fn close(&mut self) {
        if let Some(mut group) = self.current.take() {
            let boroughs: BTreeSet<&str> = group
                .contracts
                .iter()
                .map(|c| c.borough_id.as_str())
                .collect();
            if boroughs.len() >= self.min_boroughs {
                group.borough_ids = boroughs.into_iter().map(str::to_owned).collect();
                self.groups.push(group);
            }
        }
    }

    /// The groups kept, ordered by first end date, then service area, then supplier.
    pub fn finish(mut self) -> Vec<Group> {
        self.close();
        self.groups.sort_by(|a, b| {
            (a.first_end_date, &a.service_area_id, &a.supplier_id).cmp(&(
                b.first_end_date,
                &b.service_area_id,
                &b.supplier_id,
            ))
        });
        self.groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: i64, borough: &str, end: &str, value: Option<&str>) -> Member {
        Member {
            id,
            borough_id: borough.into(),
            supplier_id: "civica".into(),
            system_id: None,
            end_date: end.parse().unwrap(),
            annual_value_gbp: value.map(|v| v.parse().unwrap()),
        }
    }

    #[test]
    fn a_window_is_measured_from_the_first_end_date_inclusive() {
        let mut grouper = Grouper::new(12, 2);
        grouper.push(
            "council-tax",
            None,
            member(1, "camden", "2027-01-31", Some("100.00")),
        );
        grouper.push(
            "council-tax",
            None,
            member(2, "hackney", "2027-06-30", None),
        );
        // Exactly 12 months after the first: still in the group.
        grouper.push(
            "council-tax",
            None,
            member(3, "islington", "2028-01-31", Some("50.50")),
        );
        // A day later: starts a new group, which has one borough and is dropped.
        grouper.push(
            "council-tax",
            None,
            member(4, "camden", "2028-02-01", Some("1.00")),
        );
        let groups = grouper.finish();
        assert_eq!(groups.len(), 1);
        let group = &groups[0];
        assert_eq!(
            group.contracts.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(group.borough_ids, vec!["camden", "hackney", "islington"]);
        assert_eq!(group.last_end_date.to_string(), "2028-01-31");
        assert_eq!(group.total_annual_value_gbp.to_string(), "150.50");
    }

    #[test]
    fn groups_do_not_cross_keys_and_count_distinct_boroughs() {
        let mut grouper = Grouper::new(12, 2);
        grouper.push("council-tax", None, member(1, "camden", "2027-01-01", None));
        grouper.push("council-tax", None, member(2, "camden", "2027-02-01", None));
        grouper.push("parking", None, member(1, "hackney", "2027-03-01", None));
        grouper.push("parking", None, member(3, "lambeth", "2027-03-01", None));
        let groups = grouper.finish();
        assert_eq!(groups.len(), 1, "two Camden contracts are one borough");
        assert_eq!(groups[0].service_area_id, "parking");
        assert_eq!(groups[0].contracts.len(), 2);
    }

    #[test]
    fn grouping_by_supplier_splits_an_area() {
        let mut grouper = Grouper::new(24, 1);
        grouper.push(
            "waste",
            Some("bartec"),
            member(1, "camden", "2027-01-01", None),
        );
        grouper.push(
            "waste",
            Some("whitespace"),
            member(2, "hackney", "2027-01-02", None),
        );
        let groups = grouper.finish();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[1].supplier_id.as_deref(), Some("whitespace"));
    }

    #[test]
    fn groups_are_ordered_by_first_end_date_then_area() {
        let mut grouper = Grouper::new(1, 1);
        grouper.push("a-area", None, member(1, "camden", "2028-01-01", None));
        grouper.push("b-area", None, member(2, "camden", "2027-01-01", None));
        grouper.push("c-area", None, member(3, "camden", "2027-01-01", None));
        let order: Vec<String> = grouper
            .finish()
            .into_iter()
            .map(|g| g.service_area_id)
            .collect();
        assert_eq!(order, vec!["b-area", "c-area", "a-area"]);
    }
}
