//! Dates as councils and Contracts Finder write them: `31/03/2024`, `31-Mar-24`, `2024-03-31`,
//! `31 March 2024`, ISO timestamps, or blank. Always day first: UK data never puts the month first.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::columns::is_blank;

/// Cell values that mean "no date given", besides those that mean nothing in any column.
const BLANKS: &[&str] = &["ongoing"];

/// A date cell: `Ok(None)` when blank, an error message naming the accepted forms otherwise.
pub fn parse(text: &str) -> Result<Option<NaiveDate>, String> {
    let text = text.trim();
    if is_blank(&text.to_lowercase(), BLANKS) {
        return Ok(None);
    }
    if let Some(date) = parse_date(text) {
        return match super::normalize::date_problem(date) {
            Some(problem) => Err(problem),
            None => Ok(Some(date)),
        };
    }
    let hint = if month_first(text) {
        "; dates are read day first (31/03/2024), and this one only works month first"
    } else {
        ""
    };
    Err(format!(
        "{text:?} is not a date: use 2024-03-31, 31/03/2024, 31-Mar-24 or 31 March 2024{hint}"
    ))
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    // ISO timestamps (OCDS, Contracts Finder): the date as written, before any offset is applied.
    if text.len() > 10
        && text
            .as_bytes()
            .get(10)
            .is_some_and(|b| *b == b'T' || *b == b' ')
    {
        if let Ok(stamp) = DateTime::parse_from_rfc3339(text) {
            return Some(stamp.date_naive());
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(stamp) = NaiveDateTime::parse_from_str(text, format) {
                return Some(stamp.date());
            }
        }
    }
    // "31/03/2024 00:00:00" from spreadsheet exports: the time is dropped.
    let text = match text.split_once(' ') {
        Some((date, time)) if time.contains(':') && !date.is_empty() => date,
        _ => text,
    };
    // Each form with the separator it needs: only forms whose separator the text has are tried.
    const FORMATS: &[(char, &str)] = &[
        ('-', "%Y-%m-%d"),
        ('/', "%d/%m/%Y"),
        ('-', "%d-%m-%Y"),
        ('.', "%d.%m.%Y"),
        (' ', "%d %B %Y"),
        (' ', "%d %b %Y"),
        ('-', "%d-%b-%Y"),
        ('-', "%d-%B-%Y"),
        ('/', "%d/%b/%Y"),
        (',', "%d %b, %Y"),
        ('/', "%Y/%m/%d"),
    ];
    for format in FORMATS
        .iter()
        .filter(|(separator, _)| text.contains(*separator))
        .map(|(_, format)| format)
    {
        if let Ok(date) = NaiveDate::parse_from_str(text, format) {
            if (1900..=2199).contains(&chrono::Datelike::year(&date)) {
                return Some(date);
            }
        }
    }
    two_digit_year(text)
}

/// `31/03/24`, `31-Mar-24`, `31 Mar 24`: years 00 to 69 are 2000 to 2069, 70 to 99 are 1970 to 1999.
fn two_digit_year(text: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = text.split(['/', '-', ' ', '.']).collect();
    let [day, month, year] = parts.as_slice() else {
        return None;
    };
    if year.len() != 2 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let year = if year < 70 { 2000 + year } else { 1900 + year };
    let day: u32 = day.parse().ok()?;
    let month = month.parse::<u32>().ok().or_else(|| month_number(month))?;
    NaiveDate::from_ymd_opt(year, month, day)
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = name.to_lowercase();
    let short = lower.get(..3)?;
    let index = MONTHS.iter().position(|m| *m == short)?;
    // "Sept" and full names are fine; "Marchx" is not.
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    (lower.len() == 3 || FULL[index].starts_with(&lower) || lower == "sept")
        .then_some(index as u32 + 1)
}

/// Whether `text` is a valid date only when read month first (03/31/2024).
fn month_first(text: &str) -> bool {
    ["%m/%d/%Y", "%m-%d-%Y"]
        .iter()
        .any(|format| NaiveDate::parse_from_str(text, format).is_ok())
}

#[cfg(test)]
mod tests {
    use super::parse;
    use chrono::NaiveDate;

    fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn the_forms_councils_publish_are_read() {
        for text in [
            "31/03/2024",
            "31-Mar-24",
            "2024-03-31",
            "31 March 2024",
            "31 Mar 2024",
            "31-03-2024",
            "31.03.2024",
            "31/03/24",
            "31-Mar-2024",
            "31/03/2024 00:00:00",
            "2024-03-31T00:00:00Z",
            "2024-03-31T23:59:59+01:00",
            "2024-03-31T00:00:00",
            " 31/03/2024 ",
        ] {
            assert_eq!(parse(text), Ok(date(2024, 3, 31)), "{text}");
        }
        assert_eq!(parse("01-Sept-25"), Ok(date(2025, 9, 1)));
        assert_eq!(parse("1/4/1999"), Ok(date(1999, 4, 1)));
        assert_eq!(parse("01/04/99"), Ok(date(1999, 4, 1)));
    }

    #[test]
    fn blanks_are_no_date() {
        for text in ["", "  ", "-", "N/A", "TBC", "Ongoing"] {
            assert_eq!(parse(text), Ok(None), "{text}");
        }
    }

    #[test]
    fn bad_dates_say_why() {
        assert!(parse("31/02/2024").unwrap_err().contains("not a date"));
        assert!(parse("soon").is_err());
        assert!(parse("03/31/2024").unwrap_err().contains("day first"));
        assert!(parse("31-Marchx-24").is_err());
    }
}
