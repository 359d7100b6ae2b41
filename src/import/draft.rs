//! What a format's reader hands the runner: contracts to be ("drafts"), with the rows they came
//! from, what was skipped and why, and every problem found, row by row.

use std::collections::BTreeMap;

use bigdecimal::BigDecimal;
use chrono::NaiveDate;

use super::authorities::Authorities;
use super::classify::{Catalogue, Classification};
use super::columns::ColumnUse;
use super::report::{RowIssue, SkipReason};
use super::suppliers::SupplierIndex;
use super::{dates, money, Options};
use crate::forms::{text_problem, MAX_TEXT};
use crate::models::{DataAccess, Hosting, NewContract, NewTender, ProcurementRoute, Source};

/// Which optional fields a format sets. On an update, the fields it does not set keep their
/// stored values (a borough's assessment of an open-data contract survives its re-import).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Provided {
    pub system: bool,
    pub start_date: bool,
    pub end_date: bool,
    pub max_end_date: bool,
    pub annual_value: bool,
    pub total_value: bool,
    pub hosting: bool,
    pub procurement_route: bool,
    pub framework_name: bool,
    pub data_access: bool,
    pub source_url: bool,
    pub satisfaction: bool,
    pub value_for_money: bool,
    pub support_confidence: bool,
    pub development_confidence: bool,
    pub notes: bool,
}

impl Provided {
    /// `incoming` with every field it does not provide taken from `stored`.
    pub fn overlay(&self, stored: &NewContract, incoming: &NewContract) -> NewContract {
        fn pick<T: Clone>(provided: bool, new: &Option<T>, old: &Option<T>) -> Option<T> {
            if provided { new } else { old }.clone()
        }
        NewContract {
            borough_id: incoming.borough_id.clone(),
            supplier_id: incoming.supplier_id.clone(),
            system_id: pick(self.system, &incoming.system_id, &stored.system_id),
            title: incoming.title.clone(),
            start_date: pick(self.start_date, &incoming.start_date, &stored.start_date),
            end_date: pick(self.end_date, &incoming.end_date, &stored.end_date),
            max_end_date: pick(
                self.max_end_date,
                &incoming.max_end_date,
                &stored.max_end_date,
            ),
            annual_value_gbp: pick(
                self.annual_value,
                &incoming.annual_value_gbp,
                &stored.annual_value_gbp,
            ),
            total_value_gbp: pick(
                self.total_value,
                &incoming.total_value_gbp,
                &stored.total_value_gbp,
            ),
            hosting: if self.hosting {
                &incoming.hosting
            } else {
                &stored.hosting
            }
            .clone(),
            procurement_route: if self.procurement_route {
                &incoming.procurement_route
            } else {
                &stored.procurement_route
            }
            .clone(),
            framework_name: pick(
                self.framework_name,
                &incoming.framework_name,
                &stored.framework_name,
            ),
            data_access: if self.data_access {
                &incoming.data_access
            } else {
                &stored.data_access
            }
            .clone(),
            source: incoming.source.clone(),
            source_reference: incoming.source_reference.clone(),
            source_url: pick(self.source_url, &incoming.source_url, &stored.source_url),
            satisfaction: pick(
                self.satisfaction,
                &incoming.satisfaction,
                &stored.satisfaction,
            ),
            value_for_money: pick(
                self.value_for_money,
                &incoming.value_for_money,
                &stored.value_for_money,
            ),
            support_confidence: pick(
                self.support_confidence,
                &incoming.support_confidence,
                &stored.support_confidence,
            ),
            development_confidence: pick(
                self.development_confidence,
                &incoming.development_confidence,
                &stored.development_confidence,
            ),
            notes: pick(self.notes, &incoming.notes, &stored.notes),
        }
    }
}

/// Whether two contracts hold the same values (money compared as amounts).
pub fn same_contract(a: &NewContract, b: &NewContract) -> bool {
    a.borough_id == b.borough_id
        && a.supplier_id == b.supplier_id
        && a.system_id == b.system_id
        && a.title == b.title
        && a.start_date == b.start_date
        && a.end_date == b.end_date
        && a.max_end_date == b.max_end_date
        && a.annual_value_gbp == b.annual_value_gbp
        && a.total_value_gbp == b.total_value_gbp
        && a.hosting == b.hosting
        && a.procurement_route == b.procurement_route
        && a.framework_name == b.framework_name
        && a.data_access == b.data_access
        && a.source == b.source
        && a.source_reference == b.source_reference
        && a.source_url == b.source_url
        && a.satisfaction == b.satisfaction
        && a.value_for_money == b.value_for_money
        && a.support_confidence == b.support_confidence
        && a.development_confidence == b.development_confidence
        && a.notes == b.notes
}

/// One contract a file describes.
#[derive(Debug, Clone)]
pub struct Draft {
    pub row: usize,
    pub contract: NewContract,
    /// Sorted, at least one.
    pub service_area_ids: Vec<String>,
    pub provided: Provided,
}

impl Draft {
    pub fn source_reference(&self) -> &str {
        self.contract
            .source_reference
            .as_deref()
            .unwrap_or_default()
    }
}

/// One tender a file describes: a call for bids or a plan to buy, not yet a contract.
#[derive(Debug, Clone)]
pub struct TenderDraft {
    pub row: usize,
    pub tender: NewTender,
    /// Sorted, at least one.
    pub service_area_ids: Vec<String>,
    /// An award of a process whose tender notice is not in this file: it only marks a stored
    /// tender of the process `complete`, and makes none.
    pub completes_only: bool,
}

/// Everything a format's reader found in one file.
#[derive(Debug, Default)]
pub struct Parsed {
    pub read: usize,
    pub records: usize,
    pub columns: Vec<ColumnUse>,
    pub drafts: Vec<Draft>,
    /// Tenders (only OCDS tender and planning releases make them).
    pub tenders: Vec<TenderDraft>,
    pub skipped: BTreeMap<SkipReason, usize>,
    /// Records with at least one error.
    pub failed: usize,
    pub errors: Vec<RowIssue>,
    pub warnings: Vec<RowIssue>,
}

impl Parsed {
    /// Nothing found yet in a table of `rows` records whose columns were read as `columns`.
    pub fn for_table(rows: usize, columns: Vec<ColumnUse>) -> Parsed {
        Parsed {
            read: rows,
            records: rows,
            columns,
            ..Parsed::default()
        }
    }

    pub fn skip(&mut self, reason: SkipReason) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    /// Takes in one record's checks: its errors count it as failed, else its drafts are kept.
    pub fn add(&mut self, check: RowCheck, drafts: Vec<Draft>) {
        self.add_with_tender(check, drafts, None);
    }

    /// Takes in one record's checks, its contracts and its tender: its errors count it as
    /// failed, else they are kept.
    pub fn add_with_tender(
        &mut self,
        check: RowCheck,
        drafts: Vec<Draft>,
        tender: Option<TenderDraft>,
    ) {
        if check.errors.is_empty() {
            self.drafts.extend(drafts);
            self.tenders.extend(tender);
        } else {
            self.failed += 1;
        }
        self.errors.extend(check.errors);
        self.warnings.extend(check.warnings);
    }
}

/// A text as a report quotes it: its first 100 characters, NULs shown as `\0`.
fn shortened(text: &str) -> String {
    let mut quoted: String = text.chars().take(100).collect();
    if quoted.len() < text.len() {
        quoted.push('…');
    }
    quoted.replace('\0', "\\0")
}

/// A contract as published open data gives it: the parties, title and route, under its
/// reference; dates, values, system and link for the reader to add. What open data never says
/// (hosting, data access, the assessments, notes) is unknown or empty.
pub fn open_data(
    borough_id: String,
    supplier_id: String,
    title: &str,
    route: ProcurementRoute,
    reference: String,
) -> NewContract {
    NewContract {
        borough_id,
        supplier_id,
        system_id: None,
        title: title.to_owned(),
        start_date: None,
        end_date: None,
        max_end_date: None,
        annual_value_gbp: None,
        total_value_gbp: None,
        hosting: Hosting::Unknown.as_str().to_owned(),
        procurement_route: route.as_str().to_owned(),
        framework_name: None,
        data_access: DataAccess::Unknown.as_str().to_owned(),
        source: Source::OpenData.as_str().to_owned(),
        source_reference: Some(reference),
        source_url: None,
        satisfaction: None,
        value_for_money: None,
        support_confidence: None,
        development_confidence: None,
        notes: None,
    }
}

/// What every reader consults: the request and the database's boroughs, suppliers, systems and
/// service areas, loaded once per file.
pub struct Context<'a> {
    pub options: &'a Options,
    /// The borough the import is for, resolved to its slug.
    pub borough: Option<String>,
    pub authorities: Authorities,
    pub suppliers: SupplierIndex,
    pub catalogue: Catalogue,
}

impl Context<'_> {
    /// Why a classified row is left out, if it is: not technology (unless every contract was
    /// asked for), or no service area found.
    pub fn rejects(&self, class: &Classification) -> Option<SkipReason> {
        if !class.technology && !self.options.all {
            Some(SkipReason::NotTechnology)
        } else if class.areas.is_empty() {
            Some(SkipReason::NoServiceArea)
        } else {
            None
        }
    }
}

/// The checks of one row: values read one by one, every problem kept.
#[derive(Debug)]
pub struct RowCheck {
    pub row: usize,
    pub errors: Vec<RowIssue>,
    pub warnings: Vec<RowIssue>,
}

impl RowCheck {
    pub fn new(row: usize) -> RowCheck {
        RowCheck {
            row,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub fn error(&mut self, field: &str, value: &str, message: impl Into<String>) {
        self.errors
            .push(RowIssue::new(self.row, field, value, message));
    }

    pub fn warn(&mut self, field: &str, value: &str, message: impl Into<String>) {
        self.warnings
            .push(RowIssue::new(self.row, field, value, message));
    }

    pub fn date(&mut self, field: &str, text: &str) -> Option<NaiveDate> {
        dates::parse(text).unwrap_or_else(|message| {
            self.error(field, text, message);
            None
        })
    }

    pub fn money(&mut self, field: &str, text: &str) -> Option<BigDecimal> {
        match money::parse(text) {
            Ok(Some(amount)) => {
                if amount.rounded {
                    self.warn(
                        field,
                        text,
                        format!("rounded to the penny: {}", amount.pounds),
                    );
                }
                Some(amount.pounds)
            }
            Ok(None) => None,
            Err(message) => {
                self.error(field, text, message);
                None
            }
        }
    }

    /// A required text: an error when blank or too long, as the API would say. Invisible
    /// characters are not an error here: the runner removes them from every text it stores.
    pub fn required<'t>(&mut self, field: &str, text: &'t str) -> Option<&'t str> {
        let text = text.trim();
        if text.is_empty() {
            self.error(field, text, "is required");
            None
        } else if let Some(problem) = text_problem(&crate::normalize::clean_text(text)) {
            self.error(field, &shortened(text), problem);
            None
        } else {
            Some(text)
        }
    }

    /// An optional long text (a description): empty is absent; one longer than the API takes
    /// is cut to its first [`MAX_TEXT`] characters, with a warning; NULs are dropped, with a
    /// warning.
    pub fn description(&mut self, field: &str, text: &str) -> Option<String> {
        let mut text = text.trim().to_owned();
        if text.contains('\0') {
            self.warn(field, &shortened(&text), "NUL characters removed");
            text.retain(|c| c != '\0');
        }
        if text.chars().count() > MAX_TEXT {
            self.warn(
                field,
                &shortened(&text),
                format!("cut to its first {MAX_TEXT} characters"),
            );
            text = text.chars().take(MAX_TEXT).collect();
        }
        (!text.is_empty()).then_some(text)
    }

    /// An http(s) URL, or None with a warning when the cell holds something else.
    pub fn url(&mut self, field: &str, text: &str) -> Option<String> {
        let url = text.split_whitespace().next()?;
        if (url.starts_with("https://") || url.starts_with("http://")) && url.len() > 10 {
            Some(url.to_owned())
        } else {
            self.warn(field, text, "not an http or https URL; left out");
            None
        }
    }

    /// A row's `start_date`, `end_date` and `max_end_date` cells, each read and their order
    /// checked.
    pub fn contract_dates<'r>(
        &mut self,
        cell: impl Fn(&str) -> &'r str,
    ) -> (Option<NaiveDate>, Option<NaiveDate>, Option<NaiveDate>) {
        const FIELDS: [&str; 3] = ["start_date", "end_date", "max_end_date"];
        let [start, end, max_end] = FIELDS.map(|field| self.date(field, cell(field)));
        self.date_order(start, end, max_end, FIELDS);
        (start, end, max_end)
    }

    /// Checks the order of the dates: start, then end, then the end with every extension.
    pub fn date_order(
        &mut self,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
        max_end: Option<NaiveDate>,
        fields: [&str; 3],
    ) {
        if let (Some(start), Some(end)) = (start, end) {
            if end < start {
                self.error(
                    fields[1],
                    &end.to_string(),
                    format!("{end} is before the start date {start}"),
                );
            }
        }
        if let Some(max_end) = max_end {
            match (end, start) {
                (Some(end), _) if max_end < end => self.error(
                    fields[2],
                    &max_end.to_string(),
                    format!("{max_end} is before the end date {end}"),
                ),
                (None, Some(start)) if max_end < start => self.error(
                    fields[2],
                    &max_end.to_string(),
                    format!("{max_end} is before the start date {start}"),
                ),
                _ => {}
            }
        }
    }
}

/// Procurement routes as sources describe them in words ("Call-off from a framework agreement",
/// "Open", "Direct award", "Single tender action").
pub fn procurement_route(text: &str) -> ProcurementRoute {
    // Contracts Finder writes them in CamelCase: "CallOffFromFrameworkAgreement", "OpenOJEU".
    let mut spaced = String::with_capacity(text.len() + 8);
    let mut previous_lower = false;
    for c in text.chars() {
        if c.is_uppercase() && previous_lower {
            spaced.push(' ');
        }
        previous_lower = c.is_lowercase();
        spaced.push(c);
    }
    let words = super::normalize::words(&spaced);
    let has = |phrase: &str| words.contains(&format!(" {phrase}"));
    if has("framework")
        || has("call off")
        || has("calloff")
        || has("further competition")
        || has("mini competition")
        || has("dynamic purchasing")
    {
        ProcurementRoute::Framework
    } else if has("joint") || has("collaborative") {
        ProcurementRoute::JointProcurement
    } else if has("direct")
        || has("waiver")
        || has("exemption")
        || has("single tender")
        || has("single source")
        || has("without prior publication")
        || has("without publication")
        || has("limited")
    {
        ProcurementRoute::DirectAward
    } else if has("open")
        || has("restricted")
        || has("competitive")
        || has("tender")
        || has("negotiated")
        || has("innovation partnership")
    {
        ProcurementRoute::OpenTender
    } else {
        ProcurementRoute::Unknown
    }
}

/// A value of one of the closed sets as people write it: `on_premises`, "On premises",
/// "On-premises" and "ON PREMISES" are the same.
pub fn choice<T: std::str::FromStr>(text: &str) -> Option<T> {
    let key: String = text
        .trim()
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    key.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Hosting;

    #[test]
    fn routes_are_read_from_words() {
        assert_eq!(
            procurement_route("Call-off from a framework agreement"),
            ProcurementRoute::Framework
        );
        assert_eq!(procurement_route("Open "), ProcurementRoute::OpenTender);
        assert_eq!(
            procurement_route("Award without prior publication"),
            ProcurementRoute::DirectAward
        );
        assert_eq!(procurement_route("Other"), ProcurementRoute::Unknown);
        assert_eq!(
            procurement_route("CallOffFromFrameworkAgreement "),
            ProcurementRoute::Framework
        );
        assert_eq!(procurement_route("OpenOJEU "), ProcurementRoute::OpenTender);
        assert_eq!(
            procurement_route("NegotiatedProcedureWithoutPriorPublicationOJEU "),
            ProcurementRoute::DirectAward
        );
        assert_eq!(
            procurement_route("SingleTenderActionNonOJEU "),
            ProcurementRoute::DirectAward
        );
        assert_eq!(
            procurement_route("NotSpecified "),
            ProcurementRoute::Unknown
        );
        assert_eq!(procurement_route(""), ProcurementRoute::Unknown);
    }

    #[test]
    fn texts_are_held_to_the_api_limits() {
        let mut check = RowCheck::new(3);
        assert_eq!(check.required("title", "  Payroll "), Some("Payroll"));
        let long = "x".repeat(MAX_TEXT + 1);
        assert_eq!(check.required("title", &long), None);
        // Invisible characters are the runner's to remove, not an error.
        assert_eq!(
            check.required("title", "a\0b\u{202e}"),
            Some("a\0b\u{202e}")
        );
        assert_eq!(check.errors.len(), 1);
        assert!(check.errors[0].message.contains("longer than 10000"));

        let mut check = RowCheck::new(4);
        assert_eq!(
            check.description("d", &long).map(|d| d.chars().count()),
            Some(MAX_TEXT)
        );
        assert_eq!(check.description("d", "a\0b").as_deref(), Some("ab"));
        assert_eq!(check.description("d", "  "), None);
        assert!(check.errors.is_empty());
        assert_eq!(check.warnings.len(), 2);
    }

    #[test]
    fn choices_ignore_case_and_punctuation() {
        assert_eq!(choice::<Hosting>("On-premises"), Some(Hosting::OnPremises));
        assert_eq!(choice::<Hosting>("SaaS"), Some(Hosting::Saas));
        assert_eq!(choice::<Hosting>("cloud"), None);
    }
}
