//! Expiry timeline: contracts ending in each quarter or year.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn units_are_the_databases() {
        assert_eq!(Interval::Quarter.unit(), "quarter");
        assert_eq!(Interval::Year.unit(), "year");
    }
}
