//! `/systems`: products, each sold by one vendor and serving one or more service areas.

use actix_web::web::Bytes;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use diesel::PgConnection;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::contracts::{respond_within, ContractQuery};
use super::docs::{
    AdminOnly, BadQuery, ChangeId, CreateResponses, DeleteId, DeleteResponses, GetResponses, Named,
    NestedContractResponses, ReadErrors, ReadId, ReplaceResponses, UpdateResponses,
};
use super::pagination::{catalogue_query, respond_list, CsvFile};
use super::params::{ApiQuery, CommaList};
use super::resource::{Intent, RecordRequest, Resource};
use super::respond::list_envelope;
use crate::auth::Caller;
use crate::changelog;
use crate::db::DbPool;
use crate::error::{ApiError, Problem};
use crate::forms::system::{SystemInput, SystemPatch, SystemReplacement};
use crate::forms::{self, system as form};
use crate::queries::contracts::Within;
use crate::queries::search_words;
use crate::queries::systems::{self as query, SystemCriteria, SystemSortKey, SystemWrite};
use crate::representations::{self as wire, System};

list_envelope!(SystemList, System, "systems");

catalogue_query! {
    /// System filters, sort and paging.
    SystemQuery sorted by SystemSortKey, r"^-?(name|id|supplier)$" {
        /// Vendors, by id.
        #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "civica")]
        supplier: Option<CommaList<String>>,
        /// Systems serving these service areas; a group means every area under it.
        #[param(value_type = Option<Vec<String>>, style = Form, explode = false)]
        service_area: Option<CommaList<String>>,
        /// Words that must each appear in the name or description.
        q: Option<String>,
    }
}

/// List systems
///
/// The systems (products) of the catalogue, by name unless `sort` says otherwise: filter by the
/// supplier that makes them, by the service areas they serve, or by words (`q`); paged by `page`
/// or `cursor`, with `format=csv` (or `xlsx`) for every match.
#[utoipa::path(
    tag = "systems",
    params(SystemQuery),
    responses(
        (status = 200, description = "A page of systems, or all of them as CSV", content((SystemList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        ReadErrors, BadQuery,
    )
)]
#[get("/systems")]
pub async fn list_systems(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<SystemQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut query = query.0;
    let request = query.list_request();
    let criteria = SystemCriteria {
        supplier: query
            .supplier
            .map(CommaList::into_inner)
            .unwrap_or_default(),
        service_area: query
            .service_area
            .map(CommaList::into_inner)
            .unwrap_or_default(),
        words: query.q.as_deref().map(search_words).unwrap_or_default(),
    };
    let csv = CsvFile {
        name: "systems.csv",
        columns: wire::system::CSV_COLUMNS,
    };
    respond_list::<_, System>(&req, &pool, request, csv, move |conn| {
        Ok(criteria.resolve(conn)?)
    })
    .await
}

/// Get a system
///
/// One system by id (case-insensitive), with its maker and the service areas it serves. The `ETag`
/// answers `If-None-Match` with 304, and is the `If-Match` a change needs. Which boroughs use it,
/// and how well they know it: `/insights/expertise?system={id}`.
#[utoipa::path(
    tag = "systems",
    params(ReadId<Systems>),
    responses(
        GetResponses<Systems>,
    )
)]
#[get("/systems/{id}")]
pub async fn get_system(record: RecordRequest) -> Result<HttpResponse, ApiError> {
    record.get::<Systems>().await
}

/// List a system's contracts
///
/// The contracts for the system, with the same filters, sort, paging and CSV as `/contracts`.
#[utoipa::path(
    tag = "systems",
    params(ReadId<Systems>, ContractQuery),
    responses(NestedContractResponses<Systems>)
)]
#[get("/systems/{id}/contracts")]
pub async fn list_system_contracts(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    query: ApiQuery<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    respond_within::<Systems>(req, &pool, &caller, query.0, Within::System).await
}

/// Systems, as the resource flow writes them.
pub struct Systems;

impl Named for Systems {
    const WHAT: &'static str = "system";
    const ID: &'static str = "The system's id";
    const ID_EXAMPLE: Option<&'static str> = Some("civica-openrevenues");

    fn schema_name() -> String {
        System::name().into_owned()
    }
}

impl Resource for Systems {
    const TABLE: &'static str = "systems";
    const PATH: &'static str = "/api/v1/systems";
    const LOG: changelog::Resource = changelog::Resource::Systems;
    type Write = SystemWrite;

    fn stored(conn: &mut PgConnection, key: &str) -> Result<Option<Value>, ApiError> {
        Ok(wire::system::current(conn, key)?)
    }

    fn check(
        conn: &mut PgConnection,
        _: &Caller,
        body: Map<String, Value>,
        _: &Intent,
    ) -> Result<Self::Write, ApiError> {
        Ok(form::check(conn, forms::read(body)?)?)
    }

    fn insert(conn: &mut PgConnection, write: &Self::Write) -> Result<String, ApiError> {
        query::insert(conn, write)?;
        Ok(write.system.id.clone())
    }

    fn update(conn: &mut PgConnection, key: &str, write: &Self::Write) -> Result<(), ApiError> {
        Ok(query::update(conn, key, write)?)
    }

    fn delete(conn: &mut PgConnection, key: &str) -> Result<(), ApiError> {
        if let Some(detail) = query::references(conn, key)? {
            return Err(ApiError::Conflict(detail));
        }
        Ok(query::delete(conn, key)?)
    }
}

/// Create a system
///
/// A system the catalogue lacks (an admin key): `id`, `name`, `supplier_id` (its maker) and the
/// `service_area_ids` it serves. Answers 201 with the system, its `Location` and `ETag`; the write
/// is logged in the change feed.
#[utoipa::path(
    tag = "systems",
    security(("bearer" = [])),
    request_body(content = SystemInput, description = "The new system", content_type = "application/json"),
    responses(
        (status = 409, description = "The id is taken", body = Problem, content_type = "application/problem+json"),
        CreateResponses<Systems>, AdminOnly,
    )
)]
#[post("/systems")]
pub async fn create_system(record: RecordRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    record.create::<Systems>(body).await
}

/// Replace a system
///
/// Every field is replaced, service areas included; the id cannot change.
#[utoipa::path(
    tag = "systems",
    security(("bearer" = [])),
    params(ChangeId<Systems>),
    request_body(content = SystemReplacement, description = "The whole system", content_type = "application/json"),
    responses(
        ReplaceResponses<Systems>, AdminOnly,
    )
)]
#[put("/systems/{id}")]
pub async fn replace_system(record: RecordRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    record.change::<Systems>(body, false).await
}

/// Update a system
///
/// A JSON merge patch: the fields sent replace the stored ones (null clears one); the rest stay.
/// `service_area_ids`, when sent, replaces the whole set.
#[utoipa::path(
    tag = "systems",
    security(("bearer" = [])),
    params(ChangeId<Systems>),
    request_body(content = SystemPatch, description = "The fields to change", content_type = "application/merge-patch+json",
                 example = json!({"service_area_ids": ["council-tax", "business-rates"]})),
    responses(
        UpdateResponses<Systems>, AdminOnly,
    )
)]
#[patch("/systems/{id}")]
pub async fn update_system(record: RecordRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    record.change::<Systems>(body, true).await
}

/// Delete a system
///
/// Only a system no contract refers to: 409 names the contracts that still do. Its service-area
/// links go with it.
#[utoipa::path(
    tag = "systems",
    security(("bearer" = [])),
    params(DeleteId<Systems>),
    responses(
        (status = 409, description = "Contracts still refer to the system", body = Problem, content_type = "application/problem+json"),
        DeleteResponses<Systems>, AdminOnly,
    )
)]
#[delete("/systems/{id}")]
pub async fn delete_system(record: RecordRequest) -> Result<HttpResponse, ApiError> {
    record.delete::<Systems>().await
}
