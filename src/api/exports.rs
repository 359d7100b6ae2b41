//! Contract lists in other standards: an RFC 5545 calendar of end dates and OCDS 1.1 release
//! packages. Both stream every matching contract, read from the database one row at a time, and
//! neither ever carries an assessment field. The encoders are in [`crate::export`]; this file
//! reads the rows and answers the requests.

use std::io::Write;
use std::sync::OnceLock;

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, Utc};
use diesel::PgConnection;
use serde::Serialize;
use utoipa::ToSchema;

use super::contracts::ContractList;
use super::docs::{BadQuery, ReadErrors};
use super::filters::contract_filter_query;
use super::params::ApiQuery;
use super::stream::BodyWriter;
use crate::auth::Caller;
use crate::config;
use crate::db::{self, DbPool};
use crate::error::ApiError;
use crate::export::ical::{self, TEXT_CALENDAR};
use crate::export::ocds::{OcdsContext, OcdsReleasePackage, PackageWriter};
use crate::queries::boroughs::BoroughFilter;
use crate::queries::contracts::{
    ContractCriteria, ContractFilter, ContractRecord, ContractSortKey,
};
use crate::queries::list::ListFilter;
use crate::queries::service_areas::ServiceAreaFilter;
use crate::queries::suppliers::SupplierCriteria;

// The insights stream their JSON bodies through these names.
pub use super::stream::{stream, write_failed};

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

/// `CITYTOOLS_PUBLIC_URL`, as app data.
#[derive(Debug, Clone, Default)]
pub struct PublicUrl(pub Option<String>);

/// The service's address for absolute links: `CITYTOOLS_PUBLIC_URL` when set, else the
/// request's own `Host` (never `Forwarded` or `X-Forwarded-*`, which any client can send), over
/// https when the connection is TLS. Without a `Host`, or with one that is not a host name or
/// address (and port), the server's own name.
pub(crate) fn origin(req: &HttpRequest) -> String {
    let configured = req
        .app_data::<web::Data<PublicUrl>>()
        .and_then(|url| url.0.clone());
    if let Some(url) = configured {
        return url;
    }
    let host = req
        .headers()
        .get(actix_web::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| req.app_config().host().to_owned());
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

// ---------------------------------------------------------------------------------------------
// The calendar

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
        ReadErrors, BadQuery,
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

/// Writes the calendar of every contract `filter` selects that has an end date.
fn write_calendar(
    conn: &mut PgConnection,
    filter: &ContractFilter,
    origin: &str,
    out: &mut BodyWriter,
) -> Result<(), ApiError> {
    out.write_all(ical::calendar_head().as_bytes())
        .map_err(write_failed)?;
    let by_end_date = Some((ContractSortKey::EndDate, false));
    // Contracts without an end date sort last: the first of them ends the calendar.
    for_each_contract(conn, filter, by_end_date, |record| {
        ical::write_event(out, &record, origin).map_err(write_failed)
    })?;
    out.write_all(ical::CALENDAR_END.as_bytes())
        .map_err(write_failed)
}

// ---------------------------------------------------------------------------------------------
// OCDS

/// The JSON body of a contract list: a page of contracts, or with `format=ocds` an OCDS 1.1
/// release package of every matching contract.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ContractListBody {
    Page(ContractList),
    Ocds(OcdsReleasePackage),
}

/// The OCDS context with the registers read from the database: a row per borough, supplier and
/// service area, never one per contract.
pub fn ocds_context(
    conn: &mut PgConnection,
    ocid_prefix: &str,
    origin: &str,
    today: NaiveDate,
) -> Result<OcdsContext, ApiError> {
    let mut context = OcdsContext::new(ocid_prefix, origin, today);
    BoroughFilter::default().for_each(conn, None, &mut |borough| {
        context.add_borough(borough);
        true
    })?;
    let suppliers = SupplierCriteria::default().resolve(conn)?;
    suppliers.for_each(conn, None, &mut |record| {
        context.add_supplier(record.supplier);
        true
    })?;
    ServiceAreaFilter::default().for_each(conn, None, &mut |area| {
        context.add_service_area(area);
        true
    })?;
    Ok(context)
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
        let context = ocds_context(conn, ocid_prefix(), &origin, today)?;
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
