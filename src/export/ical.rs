//! An RFC 5545 (iCalendar) calendar of contract end dates: one all-day event per contract,
//! written a contract at a time. Assessment fields are never read.

use std::io::{self, Write};

use super::{is_illustrative, ILLUSTRATIVE_NOTE};
use crate::queries::contracts::ContractRecord;

/// The media type of the calendar.
pub const TEXT_CALENDAR: &str = "text/calendar; charset=utf-8";
/// The calendar's `PRODID`.
pub const CALENDAR_PRODID: &str = "-//City Tools//City Tools API//EN";
/// The calendar's name, shown by calendar applications.
pub const CALENDAR_NAME: &str = "City Tools: London contract end dates";
/// The line that closes the calendar, after its last event.
pub const CALENDAR_END: &str = "END:VCALENDAR\r\n";

/// Octets a content line may hold, without its line break (RFC 5545, 3.1).
const LINE_OCTETS: usize = 75;

/// A contract's address in the API.
fn contract_url(origin: &str, id: i64) -> String {
    format!("{origin}/api/v1/contracts/{id}")
}

/// The calendar's opening lines, up to its first event.
pub fn calendar_head() -> String {
    let mut head = String::new();
    content_line(&mut head, "BEGIN", "VCALENDAR");
    content_line(&mut head, "VERSION", "2.0");
    content_line(&mut head, "PRODID", &text_value(CALENDAR_PRODID));
    content_line(&mut head, "CALSCALE", "GREGORIAN");
    content_line(&mut head, "X-WR-CALNAME", &text_value(CALENDAR_NAME));
    content_line(
        &mut head,
        "X-WR-CALDESC",
        &text_value("End dates of the contracts of London's boroughs, from the City Tools API"),
    );
    // RFC 7986 and its common predecessor: how often subscribers should fetch it again.
    content_line(&mut head, "REFRESH-INTERVAL;VALUE=DURATION", "P1D");
    content_line(&mut head, "X-PUBLISHED-TTL", "P1D");
    head
}

/// Writes the event of `record` when it has an end date; false (and nothing written) when it
/// has none.
pub fn write_event(
    out: &mut impl Write,
    record: &ContractRecord,
    origin: &str,
) -> io::Result<bool> {
    match calendar_event(record, origin) {
        Some(event) => out.write_all(event.as_bytes()).map(|()| true),
        None => Ok(false),
    }
}

/// Appends the content line `name:value`, folded onto continuation lines (a CRLF and a space)
/// so that no line is longer than 75 octets, and never inside a UTF-8 character.
fn content_line(out: &mut String, name: &str, value: &str) {
    let line = format!("{name}:{value}");
    let mut rest = line.as_str();
    // A continuation line's leading space counts.
    let mut room = LINE_OCTETS;
    while rest.len() > room {
        let mut cut = room;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        room = LINE_OCTETS - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

/// A TEXT value (RFC 5545, 3.3.11): backslashes, semicolons and commas escaped, line breaks as
/// `\n`, and no other control characters, which the format does not allow.
fn text_value(text: &str) -> String {
    let mut value = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.push_str("\\\\"),
            ';' => value.push_str("\\;"),
            ',' => value.push_str("\\,"),
            '\r' => {
                chars.next_if_eq(&'\n');
                value.push_str("\\n");
            }
            '\n' => value.push_str("\\n"),
            c if c.is_control() && c != '\t' => {}
            c => value.push(c),
        }
    }
    value
}

/// The all-day event on a contract's end date, or None when the end date is not known.
pub fn calendar_event(record: &ContractRecord, origin: &str) -> Option<String> {
    let contract = &record.contract;
    let end = contract.form.end_date?;
    // DTEND is exclusive: an all-day event ends on the next day.
    let day_after = end.succ_opt()?;
    let url = contract_url(origin, contract.id);
    let illustrative = is_illustrative(contract);
    let what = record
        .system_name
        .as_deref()
        .unwrap_or(&contract.form.title);
    let mut summary = format!("{}: {what} contract ends", record.borough_name);
    if illustrative {
        summary.push_str(" (illustrative)");
    }
    let mut description = vec![
        contract.form.title.clone(),
        format!("Supplier: {}", record.supplier_name),
        format!("Service areas: {}", record.service_area_ids.join(", ")),
        format!("End date: {end}"),
        match contract.form.max_end_date {
            Some(max_end) => format!("Latest end date with every extension: {max_end}"),
            None => "Latest end date with every extension: not recorded".to_owned(),
        },
    ];
    if illustrative {
        description.push(ILLUSTRATIVE_NOTE.to_owned());
    }
    description.push(url.clone());
    let categories: Vec<String> = record
        .service_area_ids
        .iter()
        .map(|area| text_value(area))
        .collect();

    let mut event = String::with_capacity(1024);
    content_line(&mut event, "BEGIN", "VEVENT");
    content_line(
        &mut event,
        "UID",
        &text_value(&format!("contract-{}@citytools", contract.id)),
    );
    // Without a METHOD, DTSTAMP is when the event last changed: stable between requests.
    content_line(
        &mut event,
        "DTSTAMP",
        &contract.updated_at.format("%Y%m%dT%H%M%SZ").to_string(),
    );
    content_line(
        &mut event,
        "DTSTART;VALUE=DATE",
        &end.format("%Y%m%d").to_string(),
    );
    content_line(
        &mut event,
        "DTEND;VALUE=DATE",
        &day_after.format("%Y%m%d").to_string(),
    );
    content_line(&mut event, "SUMMARY", &text_value(&summary));
    content_line(
        &mut event,
        "DESCRIPTION",
        &text_value(&description.join("\n")),
    );
    content_line(&mut event, "URL", &url);
    if !categories.is_empty() {
        content_line(&mut event, "CATEGORIES", &categories.join(","));
    }
    content_line(&mut event, "TRANSP", "TRANSPARENT");
    content_line(&mut event, "END", "VEVENT");
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixtures::record;

    #[test]
    fn calendar_event_is_escaped_folded_and_all_day() {
        let title = format!("Licence; support, and {}", "maintenance ".repeat(12));
        let mut record = record(&title);
        record.contract.form.title = format!("{title}\r\nsecond line");
        let event = calendar_event(&record, "https://api.example").unwrap();
        assert!(event.ends_with("END:VEVENT\r\n"));
        for line in event.split_terminator("\r\n") {
            assert!(line.len() <= 75, "{line:?} is longer than 75 octets");
            assert!(!line.contains('\r') && !line.contains('\n'));
        }
        let unfolded = event.replace("\r\n ", "");
        assert!(unfolded.contains("DTSTART;VALUE=DATE:20270331\r\n"));
        assert!(unfolded.contains("DTEND;VALUE=DATE:20270401\r\n"));
        assert!(unfolded.contains("UID:contract-42@citytools\r\n"));
        assert!(unfolded.contains("DTSTAMP:20250301T120000Z\r\n"));
        assert!(unfolded.contains("Licence\\; support\\, and maintenance"));
        assert!(unfolded.contains("\\nsecond line\\nSupplier: Civica\\n"));
        assert!(unfolded.contains("URL:https://api.example/api/v1/contracts/42\r\n"));
        assert!(!unfolded.contains("secret remark"));

        record.contract.form.end_date = None;
        assert_eq!(calendar_event(&record, "https://api.example"), None);
    }

    #[test]
    fn illustrative_events_say_so() {
        let mut record = record("Licence");
        let plain = calendar_event(&record, "http://h").unwrap();
        assert!(!plain.contains("illustrative") && !plain.contains("Illustrative"));
        record.contract.form.source = "illustrative".into();
        let event = calendar_event(&record, "http://h")
            .unwrap()
            .replace("\r\n ", "");
        assert!(
            event.contains("SUMMARY:Camden: Civica OpenRevenues contract ends (illustrative)\r\n")
        );
        assert!(event.contains("Illustrative: generated for demonstration\\; not survey data"));
    }

    #[test]
    fn write_event_skips_contracts_without_an_end_date() {
        let mut record = record("Licence");
        let mut out = Vec::new();
        assert!(write_event(&mut out, &record, "http://h").unwrap());
        assert_eq!(
            out,
            calendar_event(&record, "http://h").unwrap().into_bytes()
        );
        record.contract.form.end_date = None;
        let mut none = Vec::new();
        assert!(!write_event(&mut none, &record, "http://h").unwrap());
        assert!(none.is_empty());
    }

    #[test]
    fn content_lines_fold_at_75_octets_between_characters() {
        let mut out = String::new();
        let value = "é".repeat(100) + &"x".repeat(200);
        content_line(&mut out, "SUMMARY", &value);
        assert!(out.ends_with("\r\n"));
        let lines: Vec<&str> = out.split_terminator("\r\n").collect();
        assert!(lines.len() > 3);
        for (index, line) in lines.iter().enumerate() {
            assert!(line.len() <= 75, "line {index} has {} octets", line.len());
            assert_eq!(index > 0, line.starts_with(' '));
        }
        assert_eq!(
            lines[0].len(),
            75 - 1,
            "the cut moves back to a character boundary"
        );
        assert_eq!(out.replace("\r\n ", ""), format!("SUMMARY:{value}\r\n"));

        let mut exact = String::new();
        content_line(&mut exact, "X", &"y".repeat(73));
        assert_eq!(exact.len(), 75 + 2, "75 octets fit on one line");
    }

    #[test]
    fn text_values_are_escaped() {
        assert_eq!(
            text_value("a,b;c\\d\r\ne\rf\ng\u{7}\th"),
            "a\\,b\\;c\\\\d\\ne\\nf\\ng\th"
        );
    }

    #[test]
    fn calendar_head_names_the_calendar() {
        let head = calendar_head();
        assert!(head.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(head.contains(&format!("X-WR-CALNAME:{CALENDAR_NAME}\r\n")));
        assert!(head.contains("REFRESH-INTERVAL;VALUE=DURATION:P1D\r\n"));
    }
}
