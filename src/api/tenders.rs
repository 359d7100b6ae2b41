//! `/tenders`: what London authorities are buying now, beside who holds the work today.

use actix_web::{get, web, HttpRequest, HttpResponse};
use utoipa::ToSchema;

use super::docs::{BadQuery, GetResponses, Named, ReadErrors, ReadId};
use super::pagination::{respond_list, CsvFile, Cursor, ListRequest, PageNumber, PerPage};
use super::params::{ApiQuery, CommaList, ListFormat, NoQuery, QueryBool, QueryDate, Sort};
use super::resource::not_found;
use super::respond::{self, list_envelope};
use crate::auth::Caller;
use crate::db::{self, DbPool};
use crate::error::ApiError;
use crate::queries::search_words;
use crate::queries::tenders::{self as query, TenderCriteria, TenderSortKey};
use crate::representations::{self as wire, Tender};

list_envelope!(TenderList, Tender, "tenders");

/// Declares a query-parameter struct holding every tender filter plus `$extra` fields, with
/// `criteria(today)` turning the filters into [`TenderCriteria`].
macro_rules! tender_filter_query {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$field_meta:meta])* $field:ident : $type:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// Borough slugs or GSS codes.
            #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "croydon")]
            pub borough: Option<CommaList<String>>,
            /// Service areas; a group means every area under it.
            #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "revenues-and-benefits")]
            pub service_area: Option<CommaList<String>>,
            /// Tenders where one of these suppliers holds an incumbent contract (a current
            /// contract of the borough in one of the tender's service areas).
            #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "civica")]
            pub supplier: Option<CommaList<String>>,
            /// Bids close on or after this date (YYYY-MM-DD).
            #[param(value_type = Option<String>, format = Date, example = "2026-12-01")]
            pub closes_after: Option<QueryDate>,
            /// Bids close on or before this date (YYYY-MM-DD).
            #[param(value_type = Option<String>, format = Date, example = "2027-03-31")]
            pub closes_before: Option<QueryDate>,
            /// `true`: only tenders still taking bids (or about to): planned or active, closing
            /// today or later.
            #[param(value_type = Option<bool>)]
            pub open: Option<QueryBool>,
            /// `planned`, `active`, `complete`, `cancelled`, `unsuccessful`, `withdrawn`.
            #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "active")]
            pub status: Option<CommaList<String>>,
            /// Words that must each appear in the title or the description.
            pub q: Option<String>,
            $( $(#[$field_meta])* pub $field: $type, )*
        }

        impl $name {
            /// The filters, as the query layer takes them, with `open` as of `today`.
            pub fn criteria(&self, today: chrono::NaiveDate) -> TenderCriteria {
                fn values(v: &Option<CommaList<String>>) -> Vec<String> {
                    v.as_ref().map(|list| list.0.clone()).unwrap_or_default()
                }
                TenderCriteria {
                    borough: values(&self.borough),
                    service_area: values(&self.service_area),
                    supplier: values(&self.supplier),
                    closes_after: self.closes_after.map(|d| d.0),
                    closes_before: self.closes_before.map(|d| d.0),
                    open_on: self.open.filter(|open| open.0).map(|_| today),
                    status: values(&self.status),
                    words: self.q.as_deref().map(search_words).unwrap_or_default(),
                }
            }
        }
    };
}

tender_filter_query! {
    /// Tender filters, sort and paging. Multi-value filters take comma-separated values.
    TenderQuery {
        /// Sort key, `-` prefix for descending; ties are broken by id. Tenders without the
        /// value come last either way.
        #[param(value_type = Option<String>, pattern = r"^-?(closing_date|published_date|value_gbp|title)$")]
        sort: Option<Sort<TenderSortKey>>,
        /// Page number, from 1; a page may start at most 10,000 records in (page deeper with
        /// `cursor`).
        #[param(value_type = Option<u32>, minimum = 1, maximum = 1000000)]
        page: Option<PageNumber>,
        /// Records per page, 1 to 500 (default 50).
        #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
        per_page: Option<PerPage>,
        /// Keyset paging: empty (`cursor=`) for the first page, then each page's
        /// `meta.next_cursor` (an opaque token; the `Link` header's `next` carries it too).
        /// Keep the same `sort`; not with `page`; ignored by CSV, which holds every matching
        /// record.
        #[param(value_type = Option<String>, example = "")]
        cursor: Option<Cursor<String>>,
        /// `csv` for every matching row as CSV (the same as `Accept: text/csv`).
        #[param(value_type = Option<ListFormat>)]
        format: Option<ListFormat>,
    }
}

tender_filter_query! {
    /// The tender filters alone, as a watch holds them.
    TenderFilters {}
}

/// List tenders
///
/// Tender and planning notices of London authorities' technology buying, synced from Contracts
/// Finder and Find a Tender (or imported as OCDS), each with its **incumbents**: the borough's
/// current contracts in the same service areas, so the opportunity and who holds the work today
/// are seen together. `awarded_contract_ids` links a tender to the contracts its award became.
/// The default order is by id; `sort=closing_date` lists the soonest to close first.
#[utoipa::path(
    tag = "tenders",
    params(TenderQuery),
    responses(
        (status = 200, description = "A page of tenders, or all of them as CSV", content((TenderList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        ReadErrors, BadQuery,
    )
)]
#[get("/tenders")]
pub async fn list_tenders(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<TenderQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut query = query.0;
    let criteria = query.criteria(chrono::Utc::now().date_naive());
    let request = ListRequest {
        sort: query.sort.take().map(|s| (s.key, s.descending)),
        page: query.page.take(),
        per_page: query.per_page.take(),
        cursor: query.cursor.take(),
        format: query.format.take(),
    };
    let csv = CsvFile {
        name: "tenders.csv",
        columns: wire::tender::CSV_COLUMNS,
    };
    respond_list::<_, Tender>(&req, &pool, request, csv, move |conn| {
        Ok(criteria.resolve(conn)?)
    })
    .await
}

/// Tenders, as the documentation names them.
pub struct Tenders;

impl Named for Tenders {
    const WHAT: &'static str = "tender";
    const ID: &'static str = "The tender's id";
    const ID_EXAMPLE: Option<&'static str> = None;
    const NUMERIC_ID: bool = true;

    fn schema_name() -> String {
        Tender::name().into_owned()
    }
}

/// Get a tender
///
/// One tender with its incumbents and the contracts its award became.
#[utoipa::path(
    tag = "tenders",
    params(ReadId<Tenders>),
    responses(GetResponses<Tenders>)
)]
#[get("/tenders/{id}")]
pub async fn get_tender(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    // Read from the match, not a `web::Path`, which would document the parameter twice.
    let key = req.match_info().get("id").unwrap_or_default().to_owned();
    let id: i64 = key.parse().map_err(|_| not_found::<Tenders>(&key))?;
    let record = db::run(&pool, move |conn| Ok(query::find(conn, id)?)).await?;
    let tender = Tender::from(record.ok_or_else(|| not_found::<Tenders>(&key))?);
    respond::single(&req, &tender)
}
