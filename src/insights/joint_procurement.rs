//! Joint procurement: contracts in one service area (and optionally with one supplier) that end
//! close together.
//!
//! Within each key, contracts are taken in ascending end date (ties by id). A group starts at the
//! earliest contract not yet grouped and takes every following contract whose end date is at most
//! `window_months` after the group's first end date. Groups with fewer than `min_boroughs`
//! distinct boroughs are dropped.

use std::collections::{BTreeMap, BTreeSet};

use bigdecimal::BigDecimal;
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::queries::insights::{AreaContract, GroupMember};
use crate::representations::money;

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

/// A contract in a joint-procurement group.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GroupContract {
    pub id: i64,
    pub borough_id: String,
    pub supplier_id: String,
    pub system_id: Option<String>,
    pub end_date: NaiveDate,
    #[schema(example = "125000.00")]
    pub annual_value_gbp: Option<String>,
}

/// Contracts in one service area (and with one supplier, when grouped so) ending close together.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct JointProcurementGroup {
    #[schema(example = "council-tax")]
    pub service_area_id: String,
    /// Null unless grouped by supplier.
    pub supplier_id: Option<String>,
    pub first_end_date: NaiveDate,
    pub last_end_date: NaiveDate,
    #[schema(example = json!(["camden", "islington"]))]
    pub borough_ids: Vec<String>,
    pub contracts: Vec<GroupContract>,
    /// The sum of the known annual values.
    #[schema(example = "310000.00")]
    pub total_annual_value_gbp: String,
}

/// Joint-procurement groups, ordered by first end date then service area.
#[derive(Debug, Serialize, ToSchema)]
pub struct JointProcurement {
    pub items: Vec<JointProcurementGroup>,
    pub window_months: u32,
    pub min_boroughs: u32,
    pub group_by: GroupBy,
    /// Contracts that contributed, by source; `illustrative` ones are invented for demonstration.
    #[schema(example = json!({"illustrative": 709}))]
    pub sources: BTreeMap<String, i64>,
}

/// The sum of the known values (zero when none is known).
pub fn total_value<'a>(values: impl IntoIterator<Item = &'a Option<BigDecimal>>) -> BigDecimal {
    values.into_iter().flatten().sum()
}

/// A group as the answer lists it, with its contracts (`members`, as read).
pub fn group_answer(group: Group, members: Vec<GroupMember>) -> JointProcurementGroup {
    let total = total_value(members.iter().map(|c| &c.annual_value_gbp));
    let contracts = members
        .into_iter()
        .map(|c| GroupContract {
            id: c.id,
            borough_id: c.borough_id,
            supplier_id: c.supplier_id,
            system_id: c.system_id,
            end_date: c.end_date,
            annual_value_gbp: money(c.annual_value_gbp),
        })
        .collect();
    JointProcurementGroup {
        service_area_id: group.service_area_id,
        supplier_id: group.supplier_id,
        first_end_date: group.first_end_date,
        last_end_date: group.last_end_date,
        borough_ids: group.borough_ids,
        contracts,
        total_annual_value_gbp: money(Some(total)).unwrap_or_default(),
    }
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

    #[test]
    fn a_group_answer_lists_its_contracts_and_their_total() {
        let mut grouper = Grouper::new(12, 2);
        push(&mut grouper, "parking", None, 7, "camden", "2027-01-31");
        push(&mut grouper, "parking", None, 8, "hackney", "2027-03-31");
        let group = grouper.finish().remove(0);
        let member = |id: i64, borough: &str, value: Option<&str>| GroupMember {
            id,
            borough_id: borough.into(),
            supplier_id: "civica".into(),
            system_id: None,
            end_date: "2027-01-31".parse().unwrap(),
            annual_value_gbp: value.map(|v| v.parse().unwrap()),
        };
        let members = vec![
            member(7, "camden", Some("10.5")),
            member(8, "hackney", None),
        ];
        let answer = group_answer(group, members);
        assert_eq!(answer.total_annual_value_gbp, "10.50");
        assert_eq!(
            answer.contracts[0].annual_value_gbp.as_deref(),
            Some("10.50")
        );
        assert_eq!(answer.contracts[1].annual_value_gbp, None);
        assert_eq!(answer.borough_ids, vec!["camden", "hackney"]);
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
