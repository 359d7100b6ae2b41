//! Money as source data writes it: `£1,234.56`, `1234`, `£1.2m`, `GBP 25,000`, or blank.
//! Amounts are exact decimals (never floats), in pounds, rounded to pence.

use std::str::FromStr;

use bigdecimal::{BigDecimal, RoundingMode};

use super::columns::is_blank;

/// Cell values that mean "no amount given", besides those that mean nothing in any column.
const BLANKS: &[&str] = &["various", "variable"];

/// Largest amount the database holds (NUMERIC(14, 2)).
const MAX_POUNDS: &str = "999999999999.99";

/// A parsed amount, and whether it had to be rounded to whole pence.
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    pub pounds: BigDecimal,
    pub rounded: bool,
}

/// A money cell: `Ok(None)` when blank, an error message otherwise.
pub fn parse(text: &str) -> Result<Option<Amount>, String> {
    let original = text.trim();
    let lower = original.to_lowercase();
    if is_blank(&lower, BLANKS) {
        return Ok(None);
    }
    let bad = || {
        format!("{original:?} is not an amount in pounds: use 1234.56, £1,234.56, 1234 or £1.2m")
    };
    let mut text = lower.replace(['£', ' ', '\u{a0}'], "");
    for currency in ["gbp", "stg"] {
        if let Some(rest) = text.strip_prefix(currency) {
            text = rest.to_owned();
        }
        if let Some(rest) = text.strip_suffix(currency) {
            text = rest.to_owned();
        }
    }
    if text.starts_with('-') || (text.starts_with('(') && text.ends_with(')')) {
        return Err(format!("{original:?} is negative; amounts cannot be"));
    }
    let (number, multiplier) = if let Some(n) = text.strip_suffix("million") {
        (n, 1_000_000)
    } else if let Some(n) = text.strip_suffix("bn") {
        (n, 1_000_000_000)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 1_000_000)
    } else if let Some(n) = text.strip_suffix('k') {
        (n, 1_000)
    } else {
        (text.as_str(), 1)
    };
    let digits = without_thousands_separators(number).ok_or_else(bad)?;
    let amount = BigDecimal::from_str(&digits).map_err(|_| bad())? * BigDecimal::from(multiplier);
    let pence = amount.with_scale_round(2, RoundingMode::HalfEven);
    if pence > BigDecimal::from_str(MAX_POUNDS).expect("constant") {
        return Err(format!("{original:?} is larger than £{MAX_POUNDS}"));
    }
    Ok(Some(Amount {
        rounded: pence != amount,
        pounds: pence,
    }))
}

/// `1,234,567.89` as `1234567.89`; None when the commas are not thousands separators or the
/// text is not a plain decimal.
fn without_thousands_separators(text: &str) -> Option<String> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    if whole.is_empty() && fraction.is_none_or(str::is_empty) {
        return None;
    }
    if whole.contains(',') {
        let mut groups = whole.split(',');
        let first = groups.next()?;
        if first.is_empty() || first.len() > 3 || groups.any(|g| g.len() != 3) {
            return None;
        }
    }
    let whole = whole.replace(',', "");
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !plain(&whole) || !fraction.is_none_or(|f| !f.is_empty() && plain(f)) {
        return None;
    }
    let whole = if whole.is_empty() { "0" } else { &whole };
    Some(match fraction {
        Some(fraction) => format!("{whole}.{fraction}"),
        None => whole.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn pounds(text: &str) -> String {
        parse(text).unwrap().unwrap().pounds.to_string()
    }

    #[test]
    fn the_forms_in_registers_are_read() {
        assert_eq!(pounds("£1,234.56"), "1234.56");
        assert_eq!(pounds("1234"), "1234.00");
        assert_eq!(pounds(" £ 25,000 "), "25000.00");
        assert_eq!(pounds("GBP 1,000,000"), "1000000.00");
        assert_eq!(pounds("1000 GBP"), "1000.00");
        assert_eq!(pounds("£1.2m"), "1200000.00");
        assert_eq!(pounds("£500k"), "500000.00");
        assert_eq!(pounds("2.5 million"), "2500000.00");
        assert_eq!(pounds(".5"), "0.50");
        assert_eq!(pounds("36254.4"), "36254.40");
    }

    #[test]
    fn blanks_are_no_amount() {
        for text in ["", " ", "-", "N/A", "TBC", "Various"] {
            assert_eq!(parse(text), Ok(None), "{text}");
        }
    }

    #[test]
    fn fractions_of_a_penny_are_rounded_and_flagged() {
        let amount = parse("1234.565").unwrap().unwrap();
        assert_eq!(amount.pounds.to_string(), "1234.56");
        assert!(amount.rounded);
        assert!(!parse("1234.50").unwrap().unwrap().rounded);
    }

    #[test]
    fn bad_amounts_say_why() {
        for text in [
            "1,23",
            "12,34,567",
            "1.234,56",
            "abc",
            "£",
            "1.2.3",
            "£1,234 per annum",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
        assert!(parse("-5").unwrap_err().contains("negative"));
        assert!(parse("(1,000)").unwrap_err().contains("negative"));
        assert!(parse("9999999999999").unwrap_err().contains("larger"));
    }
}
