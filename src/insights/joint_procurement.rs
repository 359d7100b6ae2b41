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
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::queries::insights::AreaContract;

/// How joint-procurement groups are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One service area.
    #[default]
    ServiceArea,
    /// One service area and one supplier.
    Supplier,
}

/// The sum of the known values (zero when none is known).
pub fn total_value<'a>(values: impl IntoIterator<Item = &'a Option<BigDecimal>>) -> BigDecimal {
    values.into_iter().flatten().sum()
}

/// Contracts of one key ending within one window: their ids, in order of end date then id.
/// The contracts themselves are read afterwards, a group at a time, so that memory holds ids
/// rather than every contract of every group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub service_area_id: String,
    pub supplier_id: Option<String>,
    pub first_end_date: NaiveDate,
    pub last_end_date: NaiveDate,
    /// Sorted.
    pub borough_ids: Vec<String>,
    pub contract_ids: Vec<i64>,
}

/// A group being gathered.
struct Open {
    group: Group,
    boroughs: BTreeSet<String>,
}

/// Groups contracts fed in order of (key, end date, id), one key at a time.
pub struct Grouper {
    window: Months,
    min_boroughs: usize,
    current: Option<Open>,
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
    pub fn push(
        &mut self,
        service_area_id: &str,
        supplier_id: Option<&str>,
        id: i64,
        borough_id: &str,
        end_date: NaiveDate,
    ) {
        let joins = self.current.as_ref().is_some_and(|open| {
            open.group.service_area_id == service_area_id
                && open.group.supplier_id.as_deref() == supplier_id
                && open
                    .group
                    .first_end_date
                    .checked_add_months(self.window)
                    .is_none_or(|limit| end_date <= limit)
        });
        if !joins {
            self.close();
            self.current = Some(Open {
                group: Group {
                    service_area_id: service_area_id.to_owned(),
                    supplier_id: supplier_id.map(str::to_owned),
                    first_end_date: end_date,
                    last_end_date: end_date,
                    borough_ids: Vec::new(),
                    contract_ids: Vec::new(),
                },
                boroughs: BTreeSet::new(),
            });
        }
        let open = self.current.as_mut().expect("a current group");
        open.group.last_end_date = end_date;
        open.group.contract_ids.push(id);
        if !open.boroughs.contains(borough_id) {
            open.boroughs.insert(borough_id.to_owned());
        }
    }

    /// Adds the next row of the scan, keyed as `group_by` says.
    pub fn push_row(&mut self, row: &AreaContract, group_by: GroupBy) {
        let supplier = (group_by == GroupBy::Supplier).then_some(row.supplier_id.as_str());
        self.push(
            &row.service_area_id,
            supplier,
            row.id,
            &row.borough_id,
            row.end_date,
        );
    }

    fn close(&mut self) {
        if let Some(Open {
            mut group,
            boroughs,
        }) = self.current.take()
        {
            if boroughs.len() >= self.min_boroughs {
                group.borough_ids = boroughs.into_iter().collect();
                group.contract_ids.shrink_to_fit();
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

    #[test]
    fn the_total_is_of_the_known_values() {
        let values = [
            Some("100.50".parse().unwrap()),
            None,
            Some("0.25".parse().unwrap()),
        ];
        assert_eq!(
            total_value(&values),
            "100.75".parse::<BigDecimal>().unwrap()
        );
        assert_eq!(total_value(&[None]), BigDecimal::from(0));
    }

    fn push(
        grouper: &mut Grouper,
        key: &str,
        supplier: Option<&str>,
        id: i64,
        borough: &str,
        end: &str,
    ) {
        grouper.push(key, supplier, id, borough, end.parse().unwrap());
    }

    #[test]
    fn a_window_is_measured_from_the_first_end_date_inclusive() {
        let mut grouper = Grouper::new(12, 2);
        push(&mut grouper, "council-tax", None, 1, "camden", "2027-01-31");
        push(
            &mut grouper,
            "council-tax",
            None,
            2,
            "hackney",
            "2027-06-30",
        );
        // Exactly 12 months after the first: still in the group.
        push(
            &mut grouper,
            "council-tax",
            None,
            3,
            "islington",
            "2028-01-31",
        );
        // A day later: starts a new group, which has one borough and is dropped.
        push(&mut grouper, "council-tax", None, 4, "camden", "2028-02-01");
        let groups = grouper.finish();
        assert_eq!(groups.len(), 1);
        let group = &groups[0];
        assert_eq!(group.contract_ids, vec![1, 2, 3]);
        assert_eq!(group.borough_ids, vec!["camden", "hackney", "islington"]);
        assert_eq!(group.last_end_date.to_string(), "2028-01-31");
    }

    #[test]
    fn groups_do_not_cross_keys_and_count_distinct_boroughs() {
        let mut grouper = Grouper::new(12, 2);
        push(&mut grouper, "council-tax", None, 1, "camden", "2027-01-01");
        push(&mut grouper, "council-tax", None, 2, "camden", "2027-02-01");
        push(&mut grouper, "parking", None, 1, "hackney", "2027-03-01");
        push(&mut grouper, "parking", None, 3, "lambeth", "2027-03-01");
        let groups = grouper.finish();
        assert_eq!(groups.len(), 1, "two Camden contracts are one borough");
        assert_eq!(groups[0].service_area_id, "parking");
        assert_eq!(groups[0].contract_ids.len(), 2);
    }

    #[test]
    fn grouping_by_supplier_splits_an_area() {
        let mut grouper = Grouper::new(24, 1);
        push(
            &mut grouper,
            "waste",
            Some("bartec"),
            1,
            "camden",
            "2027-01-01",
        );
        push(
            &mut grouper,
            "waste",
            Some("whitespace"),
            2,
            "hackney",
            "2027-01-02",
        );
        let groups = grouper.finish();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[1].supplier_id.as_deref(), Some("whitespace"));
    }

    #[test]
    fn groups_are_ordered_by_first_end_date_then_area() {
        let mut grouper = Grouper::new(1, 1);
        push(&mut grouper, "a-area", None, 1, "camden", "2028-01-01");
        push(&mut grouper, "b-area", None, 2, "camden", "2027-01-01");
        push(&mut grouper, "c-area", None, 3, "camden", "2027-01-01");
        let order: Vec<String> = grouper
            .finish()
            .into_iter()
            .map(|g| g.service_area_id)
            .collect();
        assert_eq!(order, vec!["b-area", "c-area", "a-area"]);
    }
}
