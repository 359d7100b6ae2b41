//! `/service-areas`: a two-level tree of groups (such as `social-care`) and their areas.

use actix_web::web::Bytes;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use diesel::PgConnection;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::docs::{
    AdminOnly, BadQuery, ChangeId, CreateResponses, DeleteId, DeleteResponses, GetResponses, Named,
    ReadErrors, ReadId, ReplaceResponses, UpdateResponses,
};
use super::pagination::{catalogue_query, respond_list, CsvFile};
use super::params::{ApiQuery, CommaList};
use super::resource::{Intent, RecordRequest, Resource};
use super::respond::list_envelope;
use crate::auth::Caller;
use crate::changelog;
use crate::db::DbPool;
use crate::error::{ApiError, Problem};
use crate::forms::service_area::{ServiceAreaInput, ServiceAreaPatch, ServiceAreaReplacement};
use crate::forms::{self, service_area as form};
use crate::models;
use crate::queries::search_words;
use crate::queries::service_areas::{self as query, Level, ServiceAreaFilter, ServiceAreaSortKey};
use crate::representations::{self as wire, ServiceArea};

list_envelope!(ServiceAreaList, ServiceArea, "service areas");

catalogue_query! {
    /// Service-area filters, sort and paging.
    ServiceAreaQuery sorted by ServiceAreaSortKey, r"^-?(name|id)$" {
        /// Only the areas under these groups.
        #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "social-care")]
        parent: Option<CommaList<String>>,
        /// `group` for groups only, `area` for areas only.
        #[param(value_type = Option<String>, pattern = "^(group|area)$")]
        level: Option<Level>,
        /// Words that must each appear in the name or description.
        q: Option<String>,
    }
}

/// List service areas
///
/// Groups (no parent) and the areas within them.
#[utoipa::path(
    tag = "service-areas",
    params(ServiceAreaQuery),
    responses(
        (status = 200, description = "A page of service areas, or all of them as CSV", content((ServiceAreaList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        ReadErrors, BadQuery,
    )
)]
#[get("/service-areas")]
pub async fn list_service_areas(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<ServiceAreaQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut query = query.0;
    let request = query.list_request();
    let filter = ServiceAreaFilter {
        parent: query.parent.map(CommaList::into_inner).unwrap_or_default(),
        level: query.level,
        words: query.q.as_deref().map(search_words).unwrap_or_default(),
    };
    let csv = CsvFile {
        name: "service-areas.csv",
        columns: wire::service_area::CSV_COLUMNS,
    };
    respond_list::<_, ServiceArea>(&req, &pool, request, csv, move |conn| {
        filter.check(conn)?;
        Ok(filter)
    })
    .await
}

/// Get a service area
///
/// One service area or group by id (case-insensitive), with its `parent_id` (null for a group).
/// The `ETag` answers `If-None-Match` with 304, and is the `If-Match` a change needs.
#[utoipa::path(
    tag = "service-areas",
    params(ReadId<ServiceAreas>),
    responses(
        GetResponses<ServiceAreas>,
    )
)]
#[get("/service-areas/{id}")]
pub async fn get_service_area(record: RecordRequest) -> Result<HttpResponse, ApiError> {
    record.get::<ServiceAreas>().await
}

/// Service areas, as the resource flow writes them.
pub struct ServiceAreas;

impl Named for ServiceAreas {
    const WHAT: &'static str = "service area";
    const ID: &'static str = "The service area's or group's id";
    const ID_EXAMPLE: Option<&'static str> = Some("adult-social-care");

    fn schema_name() -> String {
        ServiceArea::name().into_owned()
    }
}

impl Resource for ServiceAreas {
    const TABLE: &'static str = "service_areas";
    const PATH: &'static str = "/api/v1/service-areas";
    const LOG: changelog::Resource = changelog::Resource::ServiceAreas;
    type Write = models::NewServiceArea;

    fn stored(conn: &mut PgConnection, key: &str) -> Result<Option<Value>, ApiError> {
        Ok(wire::service_area::current(conn, key)?)
    }

    fn check(
        conn: &mut PgConnection,
        _: &Caller,
        body: Map<String, Value>,
        intent: &Intent,
    ) -> Result<Self::Write, ApiError> {
        Ok(form::check(
            conn,
            forms::read(body)?,
            *intent != Intent::Create,
        )?)
    }

    fn insert(conn: &mut PgConnection, write: &Self::Write) -> Result<String, ApiError> {
        query::insert(conn, write)?;
        Ok(write.id.clone())
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

/// Create a service area
///
/// A group when `parent_id` is null or absent; otherwise an area within that group.
#[utoipa::path(
    tag = "service-areas",
    security(("bearer" = [])),
    request_body(content = ServiceAreaInput, description = "The new service area or group", content_type = "application/json"),
    responses(
        (status = 409, description = "The id is taken", body = Problem, content_type = "application/problem+json"),
        CreateResponses<ServiceAreas>, AdminOnly,
    )
)]
#[post("/service-areas")]
pub async fn create_service_area(
    record: RecordRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    record.create::<ServiceAreas>(body).await
}

/// Replace a service area
///
/// Every field is replaced; the id cannot change.
#[utoipa::path(
    tag = "service-areas",
    security(("bearer" = [])),
    params(ChangeId<ServiceAreas>),
    request_body(content = ServiceAreaReplacement, description = "The whole service area or group", content_type = "application/json"),
    responses(
        ReplaceResponses<ServiceAreas>, AdminOnly,
    )
)]
#[put("/service-areas/{id}")]
pub async fn replace_service_area(
    record: RecordRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    record.change::<ServiceAreas>(body, false).await
}

/// Update a service area
///
/// A JSON merge patch: the fields sent replace the stored ones (null clears one); the rest stay.
#[utoipa::path(
    tag = "service-areas",
    security(("bearer" = [])),
    params(ChangeId<ServiceAreas>),
    request_body(content = ServiceAreaPatch, description = "The fields to change", content_type = "application/merge-patch+json",
                 example = json!({"description": "Assessments, care planning, safeguarding and reviews for adults."})),
    responses(
        UpdateResponses<ServiceAreas>, AdminOnly,
    )
)]
#[patch("/service-areas/{id}")]
pub async fn update_service_area(
    record: RecordRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    record.change::<ServiceAreas>(body, true).await
}

/// Delete a service area
///
/// Only a service area nothing refers to: 409 names the areas under it, systems and contracts
/// that still do.
#[utoipa::path(
    tag = "service-areas",
    security(("bearer" = [])),
    params(DeleteId<ServiceAreas>),
    responses(
        (status = 409, description = "Service areas under it, systems or contracts still refer to it", body = Problem, content_type = "application/problem+json"),
        DeleteResponses<ServiceAreas>, AdminOnly,
    )
)]
#[delete("/service-areas/{id}")]
pub async fn delete_service_area(record: RecordRequest) -> Result<HttpResponse, ApiError> {
    record.delete::<ServiceAreas>().await
}
