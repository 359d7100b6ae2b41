//! OCDS release and record packages (JSON) from Contracts Finder and Find a Tender.
//!
//! The releases of one contracting process (`ocid`): planning, tender, award, amendments, are
//! merged oldest first (by `date`, then file order), each later release overriding what it
//! restates, so the contract holds the latest information. The buyer is matched by its `GB-LAE`
//! identifier or its name; suppliers come from the awards that are not cancelled or
//! unsuccessful; dates from the contract's period (`contracts`, else the award's
//! `contractPeriod`, else the tender's), with `maxExtentDate` as the end with every extension;
//! the value likewise; CPV codes from every classification.
//!
//! Contracts are keyed on the `ocid`, with `:{supplier}` added when several suppliers share it.

use std::collections::HashMap;

use serde_json::Value;

use super::classify::{cpv_codes, Signals};
use super::draft::{
    open_data, procurement_route, Context, Draft, Parsed, Provided, RowCheck, TenderDraft,
};
use super::normalize;
use super::register::sorted;
use super::report::SkipReason;
use super::source::{self, FileError, FileErrorKind};
use super::suppliers::SupplierFacts;
use crate::models::{NewContract, NewTender, ProcurementRoute, Source};

fn text<'v>(value: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut at = value;
    for key in path {
        at = at.get(key)?;
    }
    at.as_str().map(str::trim).filter(|s| !s.is_empty())
}

fn array<'v>(value: &'v Value, key: &str) -> &'v [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// An amount as written (a JSON number or a string) and its currency.
type Amount = (String, Option<String>);

/// A supplier named in an award: its party id and its name.
type Awardee = (Option<String>, String);

/// An amount as written: a JSON number or a string.
fn amount(value: &Value) -> Option<Amount> {
    let amount = match value.get("amount")? {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    Some((
        amount,
        value
            .get("currency")
            .and_then(Value::as_str)
            .map(str::to_owned),
    ))
}

/// A period's start, end and maximum extent, as text.
#[derive(Debug, Clone, Default)]
struct Period {
    start: Option<String>,
    end: Option<String>,
    max_extent: Option<String>,
}

impl Period {
    fn of(value: Option<&Value>) -> Option<Period> {
        let value = value?;
        let period = Period {
            start: text(value, &["startDate"]).map(str::to_owned),
            end: text(value, &["endDate"]).map(str::to_owned),
            max_extent: text(value, &["maxExtentDate"]).map(str::to_owned),
        };
        (period.start.is_some() || period.end.is_some() || period.max_extent.is_some())
            .then_some(period)
    }
}

/// An award as the merged releases leave it.
#[derive(Debug, Clone, Default)]
struct Award {
    status: Option<String>,
    suppliers: Vec<Awardee>,
    value: Option<Amount>,
    period: Option<Period>,
}

/// One contracting process, its releases merged.
#[derive(Debug, Default)]
struct Process {
    /// Positions (from 1) of its releases in the file.
    rows: Vec<usize>,
    ocid: String,
    buyer_id: Option<String>,
    buyer_name: Option<String>,
    parties: HashMap<String, Value>,
    title: Option<String>,
    cpv: Vec<String>,
    method: Option<String>,
    method_details: Option<String>,
    framework: bool,
    tender_value: Option<Amount>,
    tender_period: Option<Period>,
    awards: Vec<(String, Award)>,
    /// Contract periods and values, by the award they implement.
    contracts: HashMap<String, (Option<Period>, Option<Amount>)>,
    url: Option<String>,
    /// Whether a release of the process is a tender or planning notice (or an amendment of
    /// one): the process is, or was, a call for bids.
    tendered: bool,
    /// Whether its only notices so far are plans.
    planned_only: bool,
    description: Option<String>,
    /// The tender's status as the source last gave it.
    status: Option<String>,
    /// When the tender was first published: its `datePublished`, else its first release's date.
    published: Option<String>,
    /// When bids close (`tenderPeriod.endDate`).
    closing: Option<String>,
    /// The date of the latest release merged.
    released_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Process {
    fn merge(&mut self, release: &Value) {
        if let Some(date) =
            text(release, &["date"]).and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        {
            let date = date.with_timezone(&chrono::Utc);
            self.released_at = Some(self.released_at.map_or(date, |known| known.max(date)));
        }
        if let Some(buyer) = release.get("buyer") {
            if let Some(id) = text(buyer, &["id"]) {
                self.buyer_id = Some(id.to_owned());
            }
            if let Some(name) = text(buyer, &["name"]) {
                self.buyer_name = Some(name.to_owned());
            }
        }
        for party in array(release, "parties") {
            if let Some(id) = text(party, &["id"]) {
                self.parties.insert(id.to_owned(), party.clone());
            }
            let is_buyer = array(party, "roles")
                .iter()
                .any(|r| r.as_str() == Some("buyer"));
            if is_buyer && self.buyer_id.is_none() {
                self.buyer_id = text(party, &["id"]).map(str::to_owned);
                self.buyer_name = self
                    .buyer_name
                    .take()
                    .or(text(party, &["name"]).map(str::to_owned));
            }
        }
        let mut cpv_from = |item: &Value| {
            for classification in std::iter::once(item.get("classification"))
                .flatten()
                .chain(array(item, "additionalClassifications"))
            {
                let scheme = text(classification, &["scheme"]).unwrap_or("CPV");
                if scheme.eq_ignore_ascii_case("CPV") {
                    if let Some(id) = text(classification, &["id"]) {
                        for code in cpv_codes(id) {
                            if !self.cpv.contains(&code) {
                                self.cpv.push(code);
                            }
                        }
                    }
                }
            }
        };
        let tags: Vec<&str> = array(release, "tag")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let planning = tags.iter().any(|tag| tag.starts_with("planning"));
        if planning || tags.iter().any(|tag| tag.starts_with("tender")) {
            self.planned_only = planning && (!self.tendered || self.planned_only);
            self.tendered = true;
            if self.published.is_none() {
                self.published = text(release, &["date"]).map(str::to_owned);
            }
        }
        if let Some(tender) = release.get("tender") {
            if let Some(published) = text(tender, &["datePublished"]) {
                self.published = Some(published.to_owned());
            }
            if let Some(description) = text(tender, &["description"]) {
                self.description = Some(description.to_owned());
            }
            if let Some(status) = text(tender, &["status"]) {
                self.status = Some(status.to_owned());
            }
            if let Some(closing) = text(tender, &["tenderPeriod", "endDate"]) {
                self.closing = Some(closing.to_owned());
            }
            cpv_from(tender);
            for item in array(tender, "items") {
                cpv_from(item);
            }
            if let Some(title) = text(tender, &["title"]) {
                self.title = Some(title.to_owned());
            }
            if let Some(method) = text(tender, &["procurementMethod"]) {
                self.method = Some(method.to_owned());
            }
            if let Some(details) = text(tender, &["procurementMethodDetails"]) {
                self.method_details = Some(details.to_owned());
            }
            if tender
                .pointer("/techniques/hasFrameworkAgreement")
                .and_then(Value::as_bool)
                == Some(true)
            {
                self.framework = true;
            }
            if let Some(value) = tender.get("value").and_then(amount) {
                self.tender_value = Some(value);
            }
            if let Some(period) = Period::of(tender.get("contractPeriod")) {
                self.tender_period = Some(period);
            }
            self.url = notice_url(tender).or(self.url.take());
        }
        for award in array(release, "awards") {
            for item in array(award, "items") {
                cpv_from(item);
            }
            let id = text(award, &["id"]).unwrap_or("").to_owned();
            let index = match self.awards.iter().position(|(known, _)| *known == id) {
                Some(index) => index,
                None => {
                    self.awards.push((id, Award::default()));
                    self.awards.len() - 1
                }
            };
            let merged = &mut self.awards[index].1;
            if let Some(status) = text(award, &["status"]) {
                merged.status = Some(status.to_owned());
            }
            if award.get("suppliers").is_some() {
                merged.suppliers = array(award, "suppliers")
                    .iter()
                    .filter_map(|s| {
                        let name = text(s, &["name"])?;
                        Some((text(s, &["id"]).map(str::to_owned), name.to_owned()))
                    })
                    .collect();
            }
            if let Some(value) = award.get("value").and_then(amount) {
                merged.value = Some(value);
            }
            if let Some(period) = Period::of(award.get("contractPeriod")) {
                merged.period = Some(period);
            }
            if self.title.is_none() {
                self.title = text(award, &["title"]).map(str::to_owned);
            }
            self.url = notice_url(award).or(self.url.take());
        }
        for contract in array(release, "contracts") {
            for item in array(contract, "items") {
                cpv_from(item);
            }
            let award_id = text(contract, &["awardID"]).unwrap_or("").to_owned();
            let entry = self.contracts.entry(award_id).or_default();
            if let Some(period) = Period::of(contract.get("period")) {
                entry.0 = Some(period);
            }
            if let Some(value) = contract.get("value").and_then(amount) {
                entry.1 = Some(value);
            }
            if self.title.is_none() {
                self.title = text(contract, &["title"]).map(str::to_owned);
            }
        }
    }

    /// The buyer's borough, by identifier first and then by name.
    fn borough<'a>(&self, ctx: &'a Context) -> Option<&'a str> {
        let party = self.buyer_id.as_ref().and_then(|id| self.parties.get(id));
        let mut identifiers: Vec<(&str, &str)> = Vec::new();
        if let Some(id) = &self.buyer_id {
            identifiers.push(("", id));
        }
        if let Some(party) = party {
            for identifier in std::iter::once(party.get("identifier"))
                .flatten()
                .chain(array(party, "additionalIdentifiers"))
            {
                if let (Some(scheme), Some(id)) =
                    (text(identifier, &["scheme"]), text(identifier, &["id"]))
                {
                    identifiers.push((scheme, id));
                }
            }
        }
        if let Some(found) = identifiers
            .iter()
            .find_map(|(scheme, id)| ctx.authorities.by_identifier(scheme, id))
        {
            return Some(found);
        }
        let names = [
            self.buyer_name.as_deref(),
            party.and_then(|p| text(p, &["name"])),
            party.and_then(|p| text(p, &["identifier", "legalName"])),
        ];
        names
            .into_iter()
            .flatten()
            .find_map(|name| ctx.authorities.by_name(name))
    }

    /// What the source says about a supplier, from its party.
    fn supplier_facts(&self, party_id: Option<&str>) -> SupplierFacts {
        let Some(party) = party_id.and_then(|id| self.parties.get(id)) else {
            return SupplierFacts::default();
        };
        let company = std::iter::once(party.get("identifier"))
            .flatten()
            .chain(array(party, "additionalIdentifiers"))
            .find(|i| text(i, &["scheme"]) == Some("GB-COH"))
            .and_then(|i| text(i, &["id"]))
            .and_then(SupplierFacts::companies_house);
        let sme = match text(party, &["details", "scale"]) {
            Some("sme" | "micro" | "small" | "medium") => Some(true),
            Some("large") => Some(false),
            _ => None,
        };
        SupplierFacts {
            companies_house_number: company,
            sme,
        }
    }

    fn route(&self) -> (ProcurementRoute, bool) {
        if self.framework {
            return (ProcurementRoute::Framework, true);
        }
        let from_details = procurement_route(self.method_details.as_deref().unwrap_or(""));
        let route = match (from_details, self.method.as_deref()) {
            (ProcurementRoute::Unknown, Some("open" | "selective")) => ProcurementRoute::OpenTender,
            (ProcurementRoute::Unknown, Some("limited" | "direct")) => {
                ProcurementRoute::DirectAward
            }
            (route, _) => route,
        };
        (
            route,
            self.method.is_some() || self.method_details.is_some(),
        )
    }
}

/// The address of the notice on its publisher's site, from a release part's documents.
fn notice_url(part: &Value) -> Option<String> {
    let documents = array(part, "documents");
    let notice = documents
        .iter()
        .find(|d| {
            text(d, &["documentType"]).is_some_and(|t| t.ends_with("Notice") || t == "notice")
        })
        .or(documents.first())?;
    let url = text(notice, &["url"])?;
    (url.starts_with("https://") || url.starts_with("http://")).then(|| url.to_owned())
}

/// The releases of a package, with their positions from 1.
fn releases(package: &Value) -> Result<Vec<(usize, &Value)>, FileError> {
    let not_ocds = |what: &str| {
        FileError::new(
            FileErrorKind::NotOcds,
            format!("the JSON is not an OCDS release or record package: {what}"),
        )
    };
    if let Some(releases) = package.get("releases") {
        let releases = releases
            .as_array()
            .ok_or_else(|| not_ocds("`releases` is not an array"))?;
        return Ok(releases
            .iter()
            .enumerate()
            .map(|(i, r)| (i + 1, r))
            .collect());
    }
    if let Some(records) = package.get("records") {
        let records = records
            .as_array()
            .ok_or_else(|| not_ocds("`records` is not an array"))?;
        let mut found = Vec::new();
        for record in records {
            match record.get("compiledRelease") {
                Some(compiled) => found.push(compiled),
                None => found.extend(
                    array(record, "releases")
                        .iter()
                        .filter(|r| r.get("ocid").is_some()),
                ),
            }
        }
        return Ok(found
            .into_iter()
            .enumerate()
            .map(|(i, r)| (i + 1, r))
            .collect());
    }
    match package {
        Value::Array(items) => Ok(items.iter().enumerate().map(|(i, r)| (i + 1, r)).collect()),
        Value::Object(release) if release.contains_key("ocid") => Ok(vec![(1, package)]),
        _ => Err(not_ocds("it has no `releases` or `records` array")),
    }
}

pub fn read(bytes: &[u8], ctx: &mut Context) -> Result<Parsed, FileError> {
    let package = source::json(bytes)?;
    let releases = releases(&package)?;
    let mut parsed = Parsed {
        read: releases.len(),
        ..Parsed::default()
    };
    // Group by ocid, in order of first appearance; each group oldest first.
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<(usize, &Value)>> = HashMap::new();
    for (position, release) in releases {
        let Some(ocid) = text(release, &["ocid"]) else {
            parsed.records += 1;
            let mut check = RowCheck::new(position);
            check.error("ocid", "", "every release needs an ocid");
            parsed.add(check, Vec::new());
            continue;
        };
        if !groups.contains_key(ocid) {
            order.push(ocid.to_owned());
        }
        groups
            .entry(ocid.to_owned())
            .or_default()
            .push((position, release));
    }
    parsed.records += order.len();
    for ocid in order {
        let mut group = groups.remove(&ocid).unwrap_or_default();
        // RFC 3339 times from one publisher compare as text once their offsets agree; a stable
        // sort keeps file order for equal or missing dates.
        group.sort_by_key(|(_, release)| {
            text(release, &["date"])
                .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                .map(|d| d.timestamp())
                .unwrap_or(i64::MIN)
        });
        let mut process = Process {
            ocid,
            ..Process::default()
        };
        for (position, release) in &group {
            process.rows.push(*position);
            process.merge(release);
        }
        read_process(&process, ctx, &mut parsed);
    }
    Ok(parsed)
}

fn read_process(process: &Process, ctx: &mut Context, parsed: &mut Parsed) {
    let row = process.rows.last().copied().unwrap_or(1);
    let Some(borough) = process.borough(ctx).map(str::to_owned) else {
        parsed.skip(SkipReason::BuyerOutsideLondon);
        return;
    };
    if ctx.borough.as_ref().is_some_and(|b| *b != borough) {
        parsed.skip(SkipReason::OtherBorough);
        return;
    }
    let awarded: Vec<(&str, &Award, &Awardee)> = process
        .awards
        .iter()
        .filter(|(_, a)| !matches!(a.status.as_deref(), Some("cancelled" | "unsuccessful")))
        .flat_map(|(id, a)| a.suppliers.iter().map(move |s| (id.as_str(), a, s)))
        .collect();
    let title = process.title.as_deref().unwrap_or("");
    let facts: Vec<SupplierFacts> = awarded
        .iter()
        .map(|(_, _, (party, _))| process.supplier_facts(party.as_deref()))
        .collect();
    let known: Vec<Option<String>> = awarded
        .iter()
        .zip(&facts)
        .map(|((_, _, (_, name)), facts)| ctx.suppliers.find(name, facts).map(str::to_owned))
        .collect();
    let class = ctx.catalogue.classify(&Signals {
        title,
        cpv: &process.cpv,
        supplier_id: known.iter().flatten().next().map(String::as_str),
        supplier_is_software: known
            .iter()
            .flatten()
            .any(|id| ctx.suppliers.is_software(id)),
        ..Signals::default()
    });
    if !class.technology && !ctx.options.all {
        parsed.skip(SkipReason::NotTechnology);
        return;
    }
    if awarded.is_empty() && !process.tendered {
        parsed.skip(SkipReason::NoSupplier);
        return;
    }
    if class.areas.is_empty() {
        parsed.skip(SkipReason::NoServiceArea);
        return;
    }

    let mut check = RowCheck::new(row);
    let title = check.required("tender.title", title);
    // An award of a process whose tender an earlier file brought in completes that tender.
    let tender = tender_draft(
        process,
        &borough,
        title,
        &class.areas,
        !awarded.is_empty(),
        &mut check,
    );
    let (route, route_given) = process.route();
    let several = awarded.len() > 1;
    let mut drafts = Vec::new();
    for ((award_id, award, (_, name)), facts) in awarded.iter().zip(&facts) {
        let (contract_period, contract_value) = process
            .contracts
            .get(*award_id)
            .cloned()
            .unwrap_or_default();
        let period = contract_period
            .or(award.period.clone())
            .or(process.tender_period.clone())
            .unwrap_or_default();
        let start = check.date(
            "contractPeriod.startDate",
            period.start.as_deref().unwrap_or(""),
        );
        let end = check.date(
            "contractPeriod.endDate",
            period.end.as_deref().unwrap_or(""),
        );
        let max_end = check.date(
            "contractPeriod.maxExtentDate",
            period.max_extent.as_deref().unwrap_or(""),
        );
        check.date_order(
            start,
            end,
            max_end,
            [
                "contractPeriod.startDate",
                "contractPeriod.endDate",
                "contractPeriod.maxExtentDate",
            ],
        );
        // One supplier's award value is its contract's; a value shared by several is no one's.
        let value = contract_value
            .or(award.value.clone())
            .or(process.tender_value.clone().filter(|_| !several));
        let total = match value {
            Some((amount, currency)) if currency.as_deref().is_none_or(|c| c == "GBP") => {
                if award.suppliers.len() > 1 {
                    None
                } else {
                    check.money("value.amount", &amount)
                }
            }
            Some((amount, currency)) => {
                check.warn(
                    "value.currency",
                    currency.as_deref().unwrap_or(""),
                    format!("the value {amount} is not in pounds; left out"),
                );
                None
            }
            None => None,
        };
        let Some(matched) = ctx.suppliers.resolve(name, facts, row) else {
            check.error("awards.suppliers.name", name, "has no letters or digits");
            continue;
        };
        let Some(title) = title else { continue };
        let mut reference = process.ocid.clone();
        if several {
            reference.push(':');
            reference.push_str(&normalize::slug(&normalize::supplier_name(name)));
        }
        drafts.push(Draft {
            row,
            contract: NewContract {
                system_id: class.system_id.clone(),
                start_date: start,
                end_date: end,
                max_end_date: max_end,
                total_value_gbp: total,
                source_url: process.url.clone(),
                ..open_data(borough.clone(), matched.id, title, route, reference)
            },
            service_area_ids: sorted(class.areas.clone()),
            provided: Provided {
                system: class.system_id.is_some(),
                start_date: true,
                end_date: true,
                max_end_date: true,
                total_value: true,
                procurement_route: route_given,
                source_url: process.url.is_some(),
                ..Provided::default()
            },
        });
    }
    // Several suppliers under one name (the same company named twice) make one contract.
    drafts.dedup_by(|a, b| a.contract.source_reference == b.contract.source_reference);
    parsed.add_with_tender(check, drafts, tender);
}

/// The tender a process's tender and planning notices make, checked as a contract's fields are.
fn tender_draft(
    process: &Process,
    borough: &str,
    title: Option<&str>,
    areas: &[String],
    awarded: bool,
    check: &mut RowCheck,
) -> Option<TenderDraft> {
    if !process.tendered && !awarded {
        return None;
    }
    let published = check.date(
        "tender.datePublished",
        process.published.as_deref().unwrap_or(""),
    );
    let closing = check.date(
        "tender.tenderPeriod.endDate",
        process.closing.as_deref().unwrap_or(""),
    );
    let value = match &process.tender_value {
        Some((amount, currency)) if currency.as_deref().is_none_or(|c| c == "GBP") => {
            check.money("tender.value.amount", amount)
        }
        Some((amount, currency)) => {
            check.warn(
                "tender.value.currency",
                currency.as_deref().unwrap_or(""),
                format!("the value {amount} is not in pounds; left out"),
            );
            None
        }
        None => None,
    };
    let description = process
        .description
        .as_deref()
        .and_then(|d| check.description("tender.description", d));
    Some(TenderDraft {
        row: process.rows.last().copied().unwrap_or(1),
        tender: NewTender {
            ocid: process.ocid.clone(),
            borough_id: borough.to_owned(),
            title: title?.to_owned(),
            description,
            published_date: published,
            closing_date: closing,
            value_gbp: value,
            status: tender_status(process.status.as_deref(), process.planned_only, awarded)
                .to_owned(),
            source: Source::OpenData.as_str().to_owned(),
            source_url: process.url.clone(),
            released_at: process.released_at,
        },
        service_area_ids: sorted(areas.to_vec()),
        completes_only: !process.tendered,
    })
}

/// A tender's status from the source's (`planning` is `planned`); with none given, `planned`
/// for plans and `active` for calls for bids; an awarded process is `complete` unless the
/// source says it was cancelled or withdrawn.
fn tender_status(given: Option<&str>, planned_only: bool, awarded: bool) -> &'static str {
    let status = match given {
        Some("planning" | "planned") => "planned",
        Some("active") => "active",
        Some("complete") => "complete",
        Some("cancelled") => "cancelled",
        Some("unsuccessful") => "unsuccessful",
        Some("withdrawn") => "withdrawn",
        _ if planned_only => "planned",
        _ => "active",
    };
    match status {
        "cancelled" | "withdrawn" => status,
        _ if awarded => "complete",
        _ => status,
    }
}

#[cfg(test)]
mod tests {
    use super::tender_status;

    #[test]
    fn a_tender_status_follows_the_source_and_its_award() {
        assert_eq!(tender_status(Some("planning"), true, false), "planned");
        assert_eq!(tender_status(None, true, false), "planned");
        assert_eq!(tender_status(None, false, false), "active");
        assert_eq!(tender_status(Some("active"), false, true), "complete");
        assert_eq!(tender_status(Some("cancelled"), false, true), "cancelled");
        assert_eq!(tender_status(Some("withdrawn"), false, false), "withdrawn");
        assert_eq!(tender_status(Some("unknown"), false, false), "active");
    }
}
