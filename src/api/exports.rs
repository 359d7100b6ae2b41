//! Contract lists in other standards: an RFC 5545 calendar of end dates and OCDS 1.1 release
//! packages. Both stream every matching contract, read from the database one row at a time, and
//! neither ever carries an assessment field.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use diesel::PgConnection;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::ToSchema;

use super::contracts::{money, ContractList};
use super::filters::contract_filter_query;
use super::params::ApiQuery;
use crate::auth::Caller;
use crate::config;
use crate::db::{self, DbConn, DbPool};
use crate::error::{ApiError, Problem};
use crate::queries::boroughs::BoroughFilter;
use crate::queries::contracts::{
    ContractCriteria, ContractFilter, ContractRecord, ContractSortKey,
};
use crate::queries::service_areas::ServiceAreaFilter;
use crate::queries::suppliers::SupplierCriteria;

/// Bytes gathered before a chunk is sent to the client.
const CHUNK: usize = 64 * 1024;
/// Chunks buffered between the database thread and the client.
const CHUNKS_IN_FLIGHT: usize = 8;

/// A streamed response body, written from a blocking task and sent to the client in chunks.
pub(crate) struct ExportStream {
    buffer: Vec<u8>,
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
}

impl ExportStream {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK + 4096));
        self.tx
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ExportStream {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

pub(crate) fn write_failed(error: io::Error) -> ApiError {
    ApiError::Internal(format!("writing an export: {error}"))
}

/// Streams what `produce` writes, as a download named `filename` when there is one. A failure
/// part way ends the stream with an error, so the client sees a broken transfer rather than a
/// short file.
pub(crate) fn stream<F>(
    conn: DbConn,
    content_type: &'static str,
    filename: Option<&str>,
    produce: F,
) -> HttpResponse
where
    F: FnOnce(&mut PgConnection, &mut ExportStream) -> Result<(), ApiError> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut conn = conn;
        let mut out = ExportStream {
            buffer: Vec::with_capacity(CHUNK + 4096),
            tx,
        };
        let outcome = produce(&mut conn, &mut out).and_then(|()| out.flush().map_err(write_failed));
        if let Err(error) = outcome {
            if !out.tx.is_closed() {
                log::error!("export stopped: {error}");
                let _ = out.tx.blocking_send(Err(io::Error::other("export failed")));
            }
        }
    });
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)));
    if let Some(filename) = filename {
        response.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ));
    }
    response.streaming(ReceiverStream::new(rx))
}

/// Feeds every matching contract to `write`, until it fails or answers false.
fn for_each_contract(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    sort: Option<(ContractSortKey, bool)>,
    mut write: impl FnMut(ContractRecord) -> Result<bool, ApiError>,
) -> Result<(), ApiError> {
    let mut failure = None;
    filter.for_each(conn, sort, |record| match write(record) {
        Ok(more) => more,
        Err(error) => {
            failure = Some(error);
            false
        }
    })?;
    failure.map_or(Ok(()), Err)
}

/// `scheme://host` as the client addressed the service, for absolute links.
fn origin(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// A contract's address in the API.
fn contract_url(origin: &str, id: i64) -> String {
    format!("{origin}/api/v1/contracts/{id}")
}

/// Said of every contract with `source = illustrative`, so that none passes for real data.
pub const ILLUSTRATIVE_NOTE: &str =
    "Illustrative: generated for demonstration; not survey data and not a real contract.";

// ---------------------------------------------------------------------------------------------
// The calendar

/// The media type of the calendar.
pub const TEXT_CALENDAR: &str = "text/calendar; charset=utf-8";
/// The calendar's `PRODID`.
pub const CALENDAR_PRODID: &str = "-//City Tools//City Tools API//EN";
/// The calendar's name, shown by calendar applications.
pub const CALENDAR_NAME: &str = "City Tools: London contract end dates";

contract_filter_query! {
    /// The contract filters of `/contracts`. There is no sort, paging or format: the calendar
    /// holds every matching contract that has an end date.
    CalendarQuery {}
}

/// Calendar of contract end dates
///
/// An RFC 5545 (iCalendar) calendar with an all-day event on the end date of every matching
/// contract, for calendar applications to subscribe to. Takes the contract filters of
/// `/contracts`; contracts without an end date are left out. Each event's UID is stable
/// (`contract-<id>@citytools`), so a subscribed calendar updates events rather than duplicating
/// them. Assessment fields are never included.
#[utoipa::path(
    tag = "contracts",
    params(CalendarQuery),
    responses(
        (status = 200, description = "The calendar, with one all-day event per contract end date",
         content((String = "text/calendar", example = json!(
             "BEGIN:VCALENDAR\r\n\
              VERSION:2.0\r\n\
              PRODID:-//City Tools//City Tools API//EN\r\n\
              CALSCALE:GREGORIAN\r\n\
              X-WR-CALNAME:City Tools: London contract end dates\r\n\
              X-WR-CALDESC:End dates of the contracts of London's boroughs\\, from the Cit\r\n\
              \x20y Tools API\r\n\
              REFRESH-INTERVAL;VALUE=DURATION:P1D\r\n\
              X-PUBLISHED-TTL:P1D\r\n\
              BEGIN:VEVENT\r\n\
              UID:contract-42@citytools\r\n\
              DTSTAMP:20250301T120000Z\r\n\
              DTSTART;VALUE=DATE:20270331\r\n\
              DTEND;VALUE=DATE:20270401\r\n\
              SUMMARY:Camden: Civica OpenRevenues contract ends (illustrative)\r\n\
              DESCRIPTION:Revenues and benefits system licence\\, support and maintenance\\\r\n\
              \x20nSupplier: Civica\\nService areas: business-rates\\, council-tax\\nEnd date: \r\n\
              \x202027-03-31\\nLatest end date with every extension: 2029-03-31\\nIllustrative\r\n\
              \x20: generated for demonstration\\; not survey data and not a real contract.\\n\r\n\
              \x20https://api.example/api/v1/contracts/42\r\n\
              URL:https://api.example/api/v1/contracts/42\r\n\
              CATEGORIES:business-rates,council-tax\r\n\
              TRANSP:TRANSPARENT\r\n\
              END:VEVENT\r\n\
              END:VCALENDAR\r\n")))),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/calendar.ics")]
pub async fn get_contracts_calendar(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    // Extracted so that a bad key is refused here as everywhere; the calendar has no field
    // that depends on the key.
    _caller: Caller,
    query: ApiQuery<CalendarQuery>,
) -> Result<HttpResponse, ApiError> {
    let criteria = query.0.criteria();
    let origin = origin(&req);
    let (conn, filter) = db::run_holding(&pool, move |conn| Ok(criteria.resolve(conn)?)).await?;
    Ok(stream(
        conn,
        TEXT_CALENDAR,
        Some("contract-end-dates.ics"),
        move |conn, out| write_calendar(conn, &filter, &origin, out),
    ))
}

fn write_calendar(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    origin: &str,
    out: &mut impl Write,
) -> Result<(), ApiError> {
    out.write_all(calendar_head().as_bytes())
        .map_err(write_failed)?;
    let by_end_date = Some((ContractSortKey::EndDate, false));
    for_each_contract(conn, filter, by_end_date, |record| {
        // Contracts without an end date sort last: the first of them ends the calendar.
        let Some(event) = calendar_event(&record, origin) else {
            return Ok(false);
        };
        out.write_all(event.as_bytes()).map_err(write_failed)?;
        Ok(true)
    })?;
    out.write_all(b"END:VCALENDAR\r\n").map_err(write_failed)
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

/// Octets a content line may hold, without its line break (RFC 5545, 3.1).
const LINE_OCTETS: usize = 75;

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
    let end = contract.end_date?;
    // DTEND is exclusive: an all-day event ends on the next day.
    let day_after = end.succ_opt()?;
    let url = contract_url(origin, contract.id);
    let illustrative = contract.source == "illustrative";
    let what = record.system_name.as_deref().unwrap_or(&contract.title);
    let mut summary = format!("{}: {what} contract ends", record.borough_name);
    if illustrative {
        summary.push_str(" (illustrative)");
    }
    let mut description = vec![
        contract.title.clone(),
        format!("Supplier: {}", record.supplier_name),
        format!("Service areas: {}", record.service_area_ids.join(", ")),
        format!("End date: {end}"),
        match contract.max_end_date {
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

// ---------------------------------------------------------------------------------------------
// OCDS

/// The licence of exported OCDS packages: the Open Government Licence v3.0, under which UK
/// public bodies publish open data.
pub const OCDS_LICENSE: &str =
    "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/";
/// The publisher named in exported OCDS packages.
pub const OCDS_PUBLISHER: &str = "City Tools: London";
/// The classification scheme of service areas given as OCDS item classifications.
pub const SERVICE_AREA_SCHEME: &str = "x_citytools_service_area";
/// The identifier scheme of ONS GSS codes (`E09000007`) given as buyers' additional identifiers.
pub const GSS_SCHEME: &str = "x_ons_gss";
/// The org-id.guide scheme of Companies House numbers.
pub const COMPANIES_HOUSE_SCHEME: &str = "GB-COH";

/// An OCDS 1.1 release package of every matching contract (`format=ocds`). It is streamed, so
/// `publishedDate` comes last. It validates against the OCDS 1.1 release-package schema except
/// when no contract matches: `releases` is then empty, where the schema asks for at least one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcdsReleasePackage {
    /// This package's address: the request's URL.
    #[schema(
        format = "uri",
        example = "https://api.example/api/v1/contracts?borough=camden&format=ocds"
    )]
    pub uri: String,
    /// The OCDS version.
    #[schema(example = "1.1")]
    pub version: &'static str,
    /// The publisher of the data.
    pub publisher: OcdsPublisher,
    /// The data's licence.
    #[schema(
        format = "uri",
        example = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
    )]
    pub license: &'static str,
    /// One release per contract.
    pub releases: Vec<OcdsRelease>,
    /// When the newest of the contracts last changed (now, when none matches).
    #[schema(format = DateTime)]
    pub published_date: String,
}

/// The publisher of an OCDS package.
#[derive(Debug, Serialize, ToSchema)]
pub struct OcdsPublisher {
    /// The publisher's name.
    #[schema(example = "City Tools: London")]
    pub name: &'static str,
}

/// The JSON body of a contract list: a page of contracts, or with `format=ocds` an OCDS 1.1
/// release package of every matching contract.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ContractListBody {
    Page(ContractList),
    Ocds(OcdsReleasePackage),
}

/// An OCDS release: everything known about one contract.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcdsRelease {
    /// The contracting process: the configured prefix and the contract's id.
    #[schema(example = "ocds-citytools-42")]
    pub ocid: String,
    /// This release: the contract's id and version, so it changes whenever the contract does.
    #[schema(example = "42-3")]
    pub id: String,
    /// When the contract last changed.
    #[schema(format = DateTime)]
    pub date: String,
    /// Always `award` and `contract`.
    pub tag: Vec<&'static str>,
    /// Always `tender`, the only value OCDS 1.1 allows.
    pub initiation_type: &'static str,
    /// The language of the text: `en`.
    pub language: &'static str,
    /// The buyer (the borough) and the supplier.
    pub parties: Vec<OcdsParty>,
    /// The borough.
    pub buyer: OcdsReference,
    /// The award of the contract to its supplier.
    pub awards: Vec<OcdsAward>,
    /// The contract.
    pub contracts: Vec<OcdsContract>,
}

/// An organisation taking part: the buyer or the supplier.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcdsParty {
    /// `borough-<id>` for buyers; `GB-COH-<number>` for suppliers with a Companies House
    /// number, else `supplier-<id>`.
    #[schema(example = "borough-camden")]
    pub id: String,
    /// The organisation's name.
    #[schema(example = "London Borough of Camden")]
    pub name: String,
    /// The supplier's Companies House number, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<OcdsIdentifier>,
    /// The buyer's ONS GSS code.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_identifiers: Vec<OcdsIdentifier>,
    /// `buyer` or `supplier`.
    pub roles: Vec<&'static str>,
}

/// An organisation's identifier in a register.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcdsIdentifier {
    /// The register: `GB-COH` (Companies House) or `x_ons_gss` (ONS GSS codes).
    #[schema(example = "x_ons_gss")]
    pub scheme: &'static str,
    /// The identifier in that register.
    #[schema(example = "E09000007")]
    pub id: String,
    /// The organisation's legal name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_name: Option<String>,
}

/// A reference to a party of the release.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OcdsReference {
    /// The party's id in `parties`.
    #[schema(example = "borough-camden")]
    pub id: String,
    /// The party's name.
    #[schema(example = "London Borough of Camden")]
    pub name: String,
}

/// The award of a contract to its supplier.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OcdsAward {
    /// The contract's id.
    #[schema(example = "42")]
    pub id: String,
    /// Always `active`: the award was made.
    pub status: &'static str,
    /// The supplier holding the contract.
    pub suppliers: Vec<OcdsReference>,
}

/// A contract, in OCDS terms.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcdsContract {
    /// The contract's id.
    #[schema(example = "42")]
    pub id: String,
    /// The award's id (the contract's id).
    #[serde(rename = "awardID")]
    #[schema(example = "42")]
    pub award_id: String,
    /// The contract's title.
    pub title: String,
    /// Said of illustrative contracts: they are not real.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `pending` before the start date, `terminated` after the end date, else `active`.
    #[schema(example = "active")]
    pub status: &'static str,
    /// Start, end and latest end with every extension taken.
    pub period: OcdsPeriod,
    /// The total value, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<OcdsValue>,
    /// One item per service area the contract covers.
    pub items: Vec<OcdsItem>,
}

/// A contract's period. Dates are given as times: the start of the first day and the end of the
/// last one, in UTC.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcdsPeriod {
    /// The start date, at 00:00:00Z.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime, example = "2022-04-01T00:00:00Z")]
    pub start_date: Option<String>,
    /// The end date, at 23:59:59Z.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime, example = "2027-03-31T23:59:59Z")]
    pub end_date: Option<String>,
    /// The end date with every extension option taken, at 23:59:59Z.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime, example = "2029-03-31T23:59:59Z")]
    pub max_extent_date: Option<String>,
}

/// An amount of money.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OcdsValue {
    /// Pounds and pence, written exactly as the stored decimal.
    #[schema(value_type = f64, example = 625000.00)]
    pub amount: Box<RawValue>,
    /// Always `GBP`.
    pub currency: &'static str,
}

/// What a contract covers: one of its service areas.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OcdsItem {
    /// The service area's id.
    #[schema(example = "council-tax")]
    pub id: String,
    /// The service area's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The service area as a classification.
    pub classification: OcdsClassification,
}

/// A service area as an OCDS item classification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OcdsClassification {
    /// Always `x_citytools_service_area`.
    pub scheme: &'static str,
    /// The service area's id.
    #[schema(example = "council-tax")]
    pub id: String,
    /// The service area's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The service area's address in the API.
    #[schema(format = "uri")]
    pub uri: String,
}

/// A borough as an OCDS buyer.
#[derive(Debug, Clone)]
struct BuyerFacts {
    gss_code: String,
    official_name: String,
}

/// What an OCDS release needs beside the contract: where the API is, the ocid prefix, today's
/// date (for contract statuses) and the registers of boroughs, suppliers and service areas.
#[derive(Debug, Clone)]
pub struct OcdsContext {
    ocid_prefix: String,
    origin: String,
    today: NaiveDate,
    boroughs: HashMap<String, BuyerFacts>,
    /// Companies House numbers by supplier id.
    companies: HashMap<String, String>,
    /// Service-area names by id.
    service_areas: HashMap<String, String>,
}

impl OcdsContext {
    /// A context without registers: parties get the names on the contract and no identifiers.
    pub fn new(ocid_prefix: &str, origin: &str, today: NaiveDate) -> OcdsContext {
        OcdsContext {
            ocid_prefix: ocid_prefix.to_owned(),
            origin: origin.to_owned(),
            today,
            boroughs: HashMap::new(),
            companies: HashMap::new(),
            service_areas: HashMap::new(),
        }
    }

    /// A context with the registers loaded: a row per borough, supplier and service area, never
    /// one per contract.
    pub fn load(
        conn: &mut PgConnection,
        ocid_prefix: &str,
        origin: &str,
        today: NaiveDate,
    ) -> Result<OcdsContext, ApiError> {
        let mut context = OcdsContext::new(ocid_prefix, origin, today);
        BoroughFilter::default().for_each(conn, None, |borough| {
            context.boroughs.insert(
                borough.id,
                BuyerFacts {
                    gss_code: borough.gss_code,
                    official_name: borough.official_name,
                },
            );
            true
        })?;
        SupplierCriteria::default()
            .resolve(conn)?
            .for_each(conn, None, |record| {
                if let Some(number) = record.supplier.companies_house_number {
                    context.companies.insert(record.supplier.id, number);
                }
                true
            })?;
        ServiceAreaFilter::default().for_each(conn, None, |area| {
            context.service_areas.insert(area.id, area.name);
            true
        })?;
        Ok(context)
    }

    /// The release of one contract. Assessment fields are never read.
    pub fn release(&self, record: &ContractRecord) -> OcdsRelease {
        let contract = &record.contract;
        let id = contract.id.to_string();

        let borough = self.boroughs.get(&contract.borough_id);
        let buyer = OcdsReference {
            id: format!("borough-{}", contract.borough_id),
            name: borough.map_or_else(|| record.borough_name.clone(), |b| b.official_name.clone()),
        };
        let company = self.companies.get(&contract.supplier_id);
        let supplier = OcdsReference {
            id: match company {
                Some(number) => format!("{COMPANIES_HOUSE_SCHEME}-{number}"),
                None => format!("supplier-{}", contract.supplier_id),
            },
            name: record.supplier_name.clone(),
        };
        let parties = vec![
            OcdsParty {
                id: buyer.id.clone(),
                name: buyer.name.clone(),
                identifier: None,
                additional_identifiers: borough
                    .map(|b| OcdsIdentifier {
                        scheme: GSS_SCHEME,
                        id: b.gss_code.clone(),
                        legal_name: Some(b.official_name.clone()),
                    })
                    .into_iter()
                    .collect(),
                roles: vec!["buyer"],
            },
            OcdsParty {
                id: supplier.id.clone(),
                name: supplier.name.clone(),
                identifier: company.map(|number| OcdsIdentifier {
                    scheme: COMPANIES_HOUSE_SCHEME,
                    id: number.clone(),
                    legal_name: None,
                }),
                additional_identifiers: Vec::new(),
                roles: vec!["supplier"],
            },
        ];

        let items = record
            .service_area_ids
            .iter()
            .map(|area| {
                let name = self.service_areas.get(area).cloned();
                OcdsItem {
                    id: area.clone(),
                    description: name.clone(),
                    classification: OcdsClassification {
                        scheme: SERVICE_AREA_SCHEME,
                        id: area.clone(),
                        description: name,
                        uri: format!("{}/api/v1/service-areas/{area}", self.origin),
                    },
                }
            })
            .collect();
        let value = money(contract.total_value_gbp.clone())
            .and_then(|amount| RawValue::from_string(amount).ok())
            .map(|amount| OcdsValue {
                amount,
                currency: "GBP",
            });

        OcdsRelease {
            ocid: format!("{}-{id}", self.ocid_prefix),
            id: format!("{id}-{}", contract.version),
            date: timestamp(contract.updated_at),
            tag: vec!["award", "contract"],
            initiation_type: "tender",
            language: "en",
            parties,
            buyer,
            awards: vec![OcdsAward {
                id: id.clone(),
                status: "active",
                suppliers: vec![supplier],
            }],
            contracts: vec![OcdsContract {
                id: id.clone(),
                award_id: id,
                title: contract.title.clone(),
                description: (contract.source == "illustrative")
                    .then(|| ILLUSTRATIVE_NOTE.to_owned()),
                status: contract_status(contract.start_date, contract.end_date, self.today),
                period: OcdsPeriod {
                    start_date: contract.start_date.map(start_of_day),
                    end_date: contract.end_date.map(end_of_day),
                    max_extent_date: contract.max_end_date.map(end_of_day),
                },
                value,
                items,
            }],
        }
    }
}

/// OCDS contract status on `today`.
fn contract_status(
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    today: NaiveDate,
) -> &'static str {
    match (start, end) {
        (Some(start), _) if start > today => "pending",
        (_, Some(end)) if end < today => "terminated",
        _ => "active",
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn start_of_day(day: NaiveDate) -> String {
    format!("{day}T00:00:00Z")
}

fn end_of_day(day: NaiveDate) -> String {
    format!("{day}T23:59:59Z")
}

/// `CITYTOOLS_OCID_PREFIX`, read once (`serve` has already refused a malformed one).
fn ocid_prefix() -> &'static str {
    static PREFIX: OnceLock<String> = OnceLock::new();
    PREFIX.get_or_init(|| {
        config::ocid_prefix(|name| std::env::var(name).ok()).unwrap_or_else(|error| {
            log::error!("{error}; using {}", config::DEFAULT_OCID_PREFIX);
            config::DEFAULT_OCID_PREFIX.to_owned()
        })
    })
}

/// Writes an [`OcdsReleasePackage`] a release at a time.
pub struct PackageWriter {
    releases: usize,
    newest: Option<DateTime<Utc>>,
}

impl PackageWriter {
    /// Writes everything before the first release.
    pub fn begin(out: &mut impl Write, uri: &str) -> io::Result<PackageWriter> {
        #[derive(Serialize)]
        struct Head<'a> {
            uri: &'a str,
            version: &'static str,
            publisher: OcdsPublisher,
            license: &'static str,
        }
        let mut head = serde_json::to_vec(&Head {
            uri,
            version: "1.1",
            publisher: OcdsPublisher {
                name: OCDS_PUBLISHER,
            },
            license: OCDS_LICENSE,
        })?;
        // Reopen the object to add the releases to it.
        head.pop();
        out.write_all(&head)?;
        out.write_all(b",\"releases\":[")?;
        Ok(PackageWriter {
            releases: 0,
            newest: None,
        })
    }

    /// Writes one release, of a contract last changed at `updated_at`.
    pub fn release(
        &mut self,
        out: &mut impl Write,
        release: &OcdsRelease,
        updated_at: DateTime<Utc>,
    ) -> io::Result<()> {
        if self.releases > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, release)?;
        self.releases += 1;
        self.newest = self.newest.max(Some(updated_at));
        Ok(())
    }

    /// Writes the publication date and closes the package.
    pub fn finish(self, out: &mut impl Write) -> io::Result<()> {
        let published = timestamp(self.newest.unwrap_or_else(Utc::now));
        write!(out, "],\"publishedDate\":\"{published}\"}}")
    }
}

/// Streams every contract `criteria` selects, in `sort` order, as an OCDS release package.
pub(crate) async fn ocds_package(
    req: &HttpRequest,
    pool: &DbPool,
    criteria: ContractCriteria,
    sort: Option<(ContractSortKey, bool)>,
) -> Result<HttpResponse, ApiError> {
    let origin = origin(req);
    let uri = format!(
        "{origin}{}",
        req.uri()
            .path_and_query()
            .map_or_else(|| req.path(), |p| p.as_str())
    );
    let today = Utc::now().date_naive();
    let (conn, (filter, context)) = db::run_holding(pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        let context = OcdsContext::load(conn, ocid_prefix(), &origin, today)?;
        Ok((filter, context))
    })
    .await?;
    Ok(stream(
        conn,
        "application/json",
        Some("contracts.ocds.json"),
        move |conn, out| {
            let mut package = PackageWriter::begin(out, &uri).map_err(write_failed)?;
            for_each_contract(conn, &filter, sort, |record| {
                let release = context.release(&record);
                package
                    .release(out, &release, record.contract.updated_at)
                    .map_err(write_failed)?;
                Ok(true)
            })?;
            package.finish(out).map_err(write_failed)
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Contract;
    use bigdecimal::BigDecimal;
    use std::str::FromStr;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::from_str(text).unwrap()
    }

    fn record(title: &str) -> ContractRecord {
        let at = DateTime::parse_from_rfc3339("2025-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        ContractRecord {
            contract: Contract {
                id: 42,
                borough_id: "camden".into(),
                supplier_id: "civica".into(),
                system_id: Some("civica-openrevenues".into()),
                title: title.into(),
                start_date: Some(day("2022-04-01")),
                end_date: Some(day("2027-03-31")),
                max_end_date: Some(day("2029-03-31")),
                annual_value_gbp: Some(BigDecimal::from_str("125000.10").unwrap()),
                total_value_gbp: Some(BigDecimal::from_str("625000.5").unwrap()),
                hosting: "saas".into(),
                procurement_route: "framework".into(),
                framework_name: None,
                data_access: "included".into(),
                source: "survey".into(),
                source_reference: None,
                source_url: None,
                satisfaction: Some(2),
                value_for_money: Some(1),
                support_confidence: None,
                development_confidence: None,
                notes: Some("secret remark".into()),
                created_at: at,
                updated_at: at,
                version: 3,
            },
            service_area_ids: vec!["business-rates".into(), "council-tax".into()],
            borough_name: "Camden".into(),
            supplier_name: "Civica".into(),
            system_name: Some("Civica OpenRevenues".into()),
        }
    }

    #[test]
    fn ocid_takes_the_prefix_given() {
        let context = OcdsContext::new("ocds-a1b2c3", "https://api.example", day("2026-01-01"));
        let release = context.release(&record("Licence"));
        assert_eq!(release.ocid, "ocds-a1b2c3-42");
        assert_eq!(release.id, "42-3");
        assert_eq!(
            release.contracts[0].items[1].classification.uri,
            "https://api.example/api/v1/service-areas/council-tax"
        );
    }

    #[test]
    fn release_carries_exact_money_and_no_assessment() {
        let context = OcdsContext::new("ocds-x", "http://h", day("2026-01-01"));
        let json = serde_json::to_string(&context.release(&record("Licence"))).unwrap();
        assert!(json.contains(r#""value":{"amount":625000.50,"currency":"GBP"}"#));
        assert!(!json.contains("secret remark"));
        assert!(!json.contains("satisfaction"));
    }

    #[test]
    fn contract_status_follows_the_dates() {
        let today = day("2026-06-01");
        let (start, end) = (Some(day("2025-01-01")), Some(day("2027-01-01")));
        assert_eq!(contract_status(start, end, today), "active");
        assert_eq!(
            contract_status(start, Some(day("2026-05-31")), today),
            "terminated"
        );
        assert_eq!(
            contract_status(Some(day("2026-06-02")), end, today),
            "pending"
        );
        assert_eq!(contract_status(None, None, today), "active");
    }

    #[test]
    fn streamed_package_matches_its_documented_shape() {
        let context = OcdsContext::new("ocds-x", "http://h", day("2026-01-01"));
        let record = record("Licence");
        let release = context.release(&record);
        let mut out = Vec::new();
        let mut writer = PackageWriter::begin(&mut out, "http://h/api/v1/contracts").unwrap();
        writer
            .release(&mut out, &release, record.contract.updated_at)
            .unwrap();
        writer.finish(&mut out).unwrap();
        let streamed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let documented = serde_json::to_value(OcdsReleasePackage {
            uri: "http://h/api/v1/contracts".into(),
            version: "1.1",
            publisher: OcdsPublisher {
                name: OCDS_PUBLISHER,
            },
            license: OCDS_LICENSE,
            releases: vec![release],
            published_date: "2025-03-01T12:00:00Z".into(),
        })
        .unwrap();
        assert_eq!(streamed, documented);
    }

    #[test]
    fn calendar_event_is_escaped_folded_and_all_day() {
        let title = format!("Licence; support, and {}", "maintenance ".repeat(12));
        let mut record = record(&title);
        record.contract.title = format!("{title}\r\nsecond line");
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

        record.contract.end_date = None;
        assert_eq!(calendar_event(&record, "https://api.example"), None);
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
    fn documented_calendar_is_what_the_writer_writes() {
        let document = serde_json::to_value(crate::app::openapi()).unwrap();
        let example = &document["paths"]["/api/v1/contracts/calendar.ics"]["get"]["responses"]
            ["200"]["content"]["text/calendar"]["example"];
        let mut record = record("Revenues and benefits system licence, support and maintenance");
        record.contract.source = "illustrative".into();
        let written = format!(
            "{}{}END:VCALENDAR\r\n",
            calendar_head(),
            calendar_event(&record, "https://api.example").unwrap()
        );
        assert_eq!(example.as_str(), Some(written.as_str()));
    }

    #[test]
    fn calendar_head_names_the_calendar() {
        let head = calendar_head();
        assert!(head.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(head.contains(&format!("X-WR-CALNAME:{CALENDAR_NAME}\r\n")));
        assert!(head.contains("REFRESH-INTERVAL;VALUE=DURATION:P1D\r\n"));
    }
}
