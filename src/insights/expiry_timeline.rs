//! Expiry timeline: contracts ending in each quarter or year.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::queries::insight_rows::PeriodTotals;
use crate::representations::money;

/// The length of a timeline period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    #[default]
    Quarter,
    Year,
}

impl Interval {
    /// The unit as PostgreSQL's `date_trunc` names it.
    pub fn unit(self) -> &'static str {
        match self {
            Interval::Quarter => "quarter",
            Interval::Year => "year",
        }
    }

    /// The label of the period starting on `start`: `2026-Q1` for a quarter, `2026` for a year.
    pub fn label(self, start: NaiveDate) -> String {
        match self {
            Interval::Quarter => format!("{}-Q{}", start.year(), start.month0() / 3 + 1),
            Interval::Year => start.year().to_string(),
        }
    }
}

/// Contracts ending in one period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Period {
    #[schema(example = "2027-Q2")]
    pub period: String,
    pub start_date: NaiveDate,
    pub contracts: i64,
    pub boroughs: i64,
    #[schema(example = "2310000.00")]
    pub annual_value_gbp: Option<String>,
}

/// Contract end dates by period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiryTimeline {
    pub interval: Interval,
    /// Periods with at least one contract ending, in order.
    pub items: Vec<Period>,
    /// Contracts that contributed, by source; `illustrative` ones are invented for demonstration.
    #[schema(example = json!({"illustrative": 709}))]
    pub sources: BTreeMap<String, i64>,
}

/// The CSV's columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "period",
    "start_date",
    "contracts",
    "boroughs",
    "annual_value_gbp",
];

/// The periods' totals, labelled, with the contracts' `sources`.
pub fn timeline(
    rows: Vec<PeriodTotals>,
    interval: Interval,
    sources: BTreeMap<String, i64>,
) -> ExpiryTimeline {
    let items = rows
        .into_iter()
        .map(|row| Period {
            period: interval.label(row.period_start),
            start_date: row.period_start,
            contracts: row.totals.contracts,
            boroughs: row.totals.boroughs,
            annual_value_gbp: money(row.totals.annual_value_gbp),
        })
        .collect();
    ExpiryTimeline {
        interval,
        items,
        sources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queries::insight_rows::Totals;

    #[test]
    fn periods_are_labelled() {
        let date = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        assert_eq!(Interval::Quarter.label(date), "2026-Q4");
        assert_eq!(Interval::Year.label(date), "2026");
        assert_eq!(
            Interval::Quarter.label(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()),
            "2027-Q1"
        );
    }

    #[test]
    fn a_timeline_labels_its_periods() {
        let row = PeriodTotals {
            period_start: NaiveDate::from_ymd_opt(2027, 4, 1).unwrap(),
            totals: Totals {
                contracts: 3,
                boroughs: 2,
                annual_value_gbp: None,
            },
        };
        let answer = timeline(vec![row], Interval::Quarter, BTreeMap::new());
        assert_eq!(answer.items[0].period, "2027-Q2");
        assert_eq!(
            (answer.items[0].contracts, answer.items[0].boroughs),
            (3, 2)
        );
        assert_eq!(answer.items[0].annual_value_gbp, None);
    }

    #[test]
    fn units_are_the_databases() {
        assert_eq!(Interval::Quarter.unit(), "quarter");
        assert_eq!(Interval::Year.unit(), "year");
    }
}
