//! Opportunities: contracts ending soon, where, and who holds them.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use crate::queries::insight_rows::AreaTotals;
use crate::representations::money;

/// Contracts, boroughs and annual value of the contracts in one service area.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AreaTotal {
    pub service_area_id: String,
    pub contracts: i64,
    pub boroughs: i64,
    #[schema(example = "1250000.00")]
    pub annual_value_gbp: Option<String>,
}

/// The window searched.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpportunitiesMeta {
    pub total: i64,
    /// This page, from 1; absent in cursor mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub page: Option<u32>,
    pub per_page: u32,
    /// In cursor mode only: the `cursor` of the next page, or null on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<Option<String>>,
    pub ends_after: NaiveDate,
    pub ends_before: NaiveDate,
}

/// How far ahead the window reaches when the caller does not say.
const DEFAULT_MONTHS: u32 = 18;

/// The window searched: from `ends_after` (default `today`) to `ends_before` (default 18 months
/// after the window's start).
pub fn window(
    today: NaiveDate,
    ends_after: Option<NaiveDate>,
    ends_before: Option<NaiveDate>,
) -> (NaiveDate, NaiveDate) {
    let after = ends_after.unwrap_or(today);
    let before = ends_before.unwrap_or_else(|| {
        after
            .checked_add_months(Months::new(DEFAULT_MONTHS))
            .unwrap_or(after)
    });
    (after, before)
}

/// The totals by service area, as the answer lists them.
pub fn area_totals(rows: Vec<AreaTotals>) -> Vec<AreaTotal> {
    rows.into_iter()
        .map(|a| AreaTotal {
            service_area_id: a.service_area_id,
            contracts: a.totals.contracts,
            boroughs: a.totals.boroughs,
            annual_value_gbp: money(a.totals.annual_value_gbp),
        })
        .collect()
}

/// Contracts ending in a window, soonest first, with totals by service area.
#[derive(Debug, Serialize, ToSchema)]
pub struct Opportunities {
    /// This page of the contracts ending in the window: borough, incumbent supplier, system,
    /// dates and value.
    pub items: Vec<crate::representations::Contract>,
    /// Every contract in the window, totalled by service area.
    pub by_service_area: Vec<AreaTotal>,
    pub meta: OpportunitiesMeta,
    /// Contracts that contributed, by source; `illustrative` ones are invented for demonstration.
    #[schema(example = json!({"illustrative": 709}))]
    pub sources: BTreeMap<String, i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_default_window_is_eighteen_months_from_its_start() {
        let today = day("2026-11-27");
        assert_eq!(window(today, None, None), (today, day("2028-05-27")));
        assert_eq!(
            window(today, Some(day("2027-01-31")), None),
            (day("2027-01-31"), day("2028-07-31"))
        );
        assert_eq!(
            window(today, None, Some(day("2026-12-01"))),
            (today, day("2026-12-01"))
        );
    }
}
