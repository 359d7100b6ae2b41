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

use crate::queries::insights::{AreaContract, GroupMember, GroupSpan, SpanTotals};
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
    /// How many contracts the group holds.
    #[schema(example = 2)]
    pub contract_count: i64,
    /// The sum of the known annual values.
    #[schema(example = "310000.00")]
    pub total_annual_value_gbp: String,
    /// The contract list that gives exactly this group's contracts: the request's filters with
    /// the group's service area (and supplier) and end dates.
    #[schema(
        example = "/api/v1/contracts?service_area=council-tax&ends_after=2027-03-31&ends_before=2027-11-30"
    )]
    pub contracts_url: String,
    /// The contracts, by end date then id; only with `include=contracts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contracts: Option<Vec<GroupContract>>,
}

/// Where a page of groups ends.
#[derive(Debug, Serialize, ToSchema)]
pub struct JointProcurementMeta {
    /// How many groups there are in all (ended ones left out unless `include=ended`).
    pub total: i64,
    pub per_page: u32,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Joint-procurement groups, ordered by first end date, then service area, then supplier.
#[derive(Debug, Serialize, ToSchema)]
pub struct JointProcurement {
    pub items: Vec<JointProcurementGroup>,
    pub window_months: u32,
    pub min_boroughs: u32,
    pub group_by: GroupBy,
    /// Contracts that contributed, by source; `illustrative` ones are invented for demonstration.
    #[schema(example = json!({"illustrative": 709}))]
    pub sources: BTreeMap<String, i64>,
    pub meta: JointProcurementMeta,
}

/// The sum of the known values (zero when none is known).
pub fn total_value<'a>(values: impl IntoIterator<Item = &'a Option<BigDecimal>>) -> BigDecimal {
    values.into_iter().flatten().sum()
}

/// A member as a group lists it.
pub fn group_contract(member: GroupMember) -> GroupContract {
    GroupContract {
        id: member.id,
        borough_id: member.borough_id,
        supplier_id: member.supplier_id,
        system_id: member.system_id,
        end_date: member.end_date,
        annual_value_gbp: money(member.annual_value_gbp),
    }
}

/// Contracts of one key ending within one window, summed up as they were scanned: only the
/// summary is held, so memory grows with the number of groups, not of contracts.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub service_area_id: String,
    pub supplier_id: Option<String>,
    pub first_end_date: NaiveDate,
    pub last_end_date: NaiveDate,
    /// Sorted.
    pub borough_ids: Vec<String>,
    pub contract_count: i64,
    pub total_annual_value: BigDecimal,
}

impl Group {
    /// Where the group stands in the order of the answer.
    pub fn position(&self) -> (NaiveDate, &str, Option<&str>) {
        (
            self.first_end_date,
            &self.service_area_id,
            self.supplier_id.as_deref(),
        )
    }

    /// A group known so far only by where it lies; [`Group::fill`] gives it its figures.
    pub fn spanning(span: GroupSpan) -> Group {
        Group {
            service_area_id: span.service_area_id,
            supplier_id: None,
            first_end_date: span.first_end_date,
            last_end_date: span.last_end_date,
            borough_ids: Vec::new(),
            contract_count: 0,
            total_annual_value: BigDecimal::from(0),
        }
    }

    /// Where the group lies, to read its figures with.
    pub fn span(&self) -> GroupSpan {
        GroupSpan {
            service_area_id: self.service_area_id.clone(),
            first_end_date: self.first_end_date,
            last_end_date: self.last_end_date,
        }
    }

    /// Takes the figures read for its span.
    pub fn fill(&mut self, totals: SpanTotals) {
        self.borough_ids = totals.borough_ids;
        self.contract_count = totals.contracts;
        self.total_annual_value = totals.annual_value_gbp;
    }

    /// The group as the answer lists it.
    pub fn answer(
        self,
        contracts_url: String,
        contracts: Option<Vec<GroupContract>>,
    ) -> JointProcurementGroup {
        JointProcurementGroup {
            service_area_id: self.service_area_id,
            supplier_id: self.supplier_id,
            first_end_date: self.first_end_date,
            last_end_date: self.last_end_date,
            borough_ids: self.borough_ids,
            contract_count: self.contract_count,
            total_annual_value_gbp: money(Some(self.total_annual_value)).unwrap_or_default(),
            contracts_url,
            contracts,
        }
    }
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
        borough_id: &str,
        end_date: NaiveDate,
        annual_value: Option<&BigDecimal>,
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
                    contract_count: 0,
                    total_annual_value: BigDecimal::from(0),
                },
                boroughs: BTreeSet::new(),
            });
        }
        let open = self.current.as_mut().expect("a current group");
        open.group.last_end_date = end_date;
        open.group.contract_count += 1;
        if let Some(value) = annual_value {
            open.group.total_annual_value += value;
        }
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
            &row.borough_id,
            row.end_date,
            row.annual_value_gbp.as_ref(),
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
                self.groups.push(group);
            }
        }
    }

    /// The groups kept, ordered by first end date, then service area, then supplier.
    pub fn finish(mut self) -> Vec<Group> {
        self.close();
        self.groups.sort_by(|a, b| a.position().cmp(&b.position()));
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
    fn a_group_sums_the_known_values_of_its_contracts() {
        let mut grouper = Grouper::new(12, 2);
        let value: BigDecimal = "10.5".parse().unwrap();
        grouper.push("parking", None, "camden", date("2027-01-31"), Some(&value));
        grouper.push("parking", None, "hackney", date("2027-03-31"), None);
        let answer = grouper.finish().remove(0).answer(String::new(), None);
        assert_eq!(answer.total_annual_value_gbp, "10.50");
        assert_eq!(answer.contract_count, 2);
        assert_eq!(answer.borough_ids, vec!["camden", "hackney"]);
        let member = GroupMember {
            id: 7,
            borough_id: "camden".into(),
            supplier_id: "civica".into(),
            system_id: None,
            end_date: date("2027-01-31"),
            annual_value_gbp: Some(value),
        };
        assert_eq!(
            group_contract(member).annual_value_gbp.as_deref(),
            Some("10.50")
        );
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// Pushes contract `id`, worth `id` pounds a year (so a group's total names its members).
    fn push(
        grouper: &mut Grouper,
        key: &str,
        supplier: Option<&str>,
        id: i64,
        borough: &str,
        end: &str,
    ) {
        let value = BigDecimal::from(id);
        grouper.push(key, supplier, borough, date(end), Some(&value));
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
        assert_eq!(group.contract_count, 3);
        assert_eq!(group.total_annual_value, BigDecimal::from(1 + 2 + 3));
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
        assert_eq!(groups[0].contract_count, 2);
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
