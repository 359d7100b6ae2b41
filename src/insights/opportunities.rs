//! Opportunities: contracts ending soon, where, and who holds them.

use chrono::{Months, NaiveDate};

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
