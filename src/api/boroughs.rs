//! `/boroughs`: the 32 London boroughs and the City of London.

use actix_web::web::Bytes;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use diesel::PgConnection;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::contracts::{respond_within, ContractQuery};
use super::docs::{
    AdminOnly, ChangeId, CreateResponses, DeleteId, DeleteResponses, GetResponses, Named,
    NestedContractResponses, ReadErrors, ReadId, ReplaceResponses, UpdateResponses,
};
use super::pagination::{catalogue_query, respond_list, CsvFile};
use super::params::{ApiQuery, CommaList, QueryBool};
use super::resource::{Intent, RecordRequest, Resource};
use super::respond::list_envelope;
use crate::auth::Caller;
use crate::changelog;
use crate::db::DbPool;
use crate::error::{ApiError, Problem};
use crate::forms::borough::{BoroughInput, BoroughPatch, BoroughReplacement};
use crate::forms::{self, borough as form};
use crate::models;
use crate::models::BoroughKind;
use crate::queries::boroughs::{self as query, BoroughFilter, BoroughSortKey};
use crate::queries::contracts::Within;
use crate::queries::search_words;
use crate::representations::{self as wire, Borough};

list_envelope!(BoroughList, Borough, "boroughs");

catalogue_query! {
    /// Borough filters, sort and paging.
    BoroughQuery sorted by BoroughSortKey, r"^-?(name|gss_code|id)$" {
        /// Kinds of authority.
        #[param(value_type = Option<Vec<BoroughKind>>, style = Form, explode = false)]
        kind: Option<CommaList<BoroughKind>>,
        /// Inner London by the statutory (1963) definition.
        #[param(value_type = Option<bool>)]
        inner_london_statutory: Option<QueryBool>,
        /// Inner London by the ONS definition.
        #[param(value_type = Option<bool>)]
        inner_london_ons: Option<QueryBool>,
        /// The borough's `surveyed` flag (invented in the seed data: see the field).
        #[param(value_type = Option<bool>)]
        surveyed: Option<QueryBool>,
        /// Words that must each appear in the name or official name.
        q: Option<String>,
    }
}

/// List boroughs
///
/// The 32 London boroughs and the City of London, with their GSS codes.
#[utoipa::path(
    tag = "boroughs",
    params(BoroughQuery),
    responses(
        (status = 200, description = "A page of boroughs, or all of them as CSV", content((BoroughList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        (status = 400, description = "An unknown parameter or a malformed value", body = Problem, content_type = "application/problem+json"),
        ReadErrors,
    )
)]
#[get("/boroughs")]
pub async fn list_boroughs(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<BoroughQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut query = query.0;
    let request = query.list_request();
    let filter = BoroughFilter {
        kind: query.kind.map(CommaList::into_inner).unwrap_or_default(),
        inner_london_statutory: query.inner_london_statutory.map(|b| b.0),
        inner_london_ons: query.inner_london_ons.map(|b| b.0),
        surveyed: query.surveyed.map(|b| b.0),
        words: query.q.as_deref().map(search_words).unwrap_or_default(),
    };
    let csv = CsvFile {
        name: "boroughs.csv",
        columns: wire::borough::CSV_COLUMNS,
    };
    respond_list::<_, Borough>(&req, &pool, request, csv, move |_| Ok(filter)).await
}

/// Get a borough
///
/// By slug (`camden`) or GSS code (`E09000007`).
#[utoipa::path(
    tag = "boroughs",
    params(ReadId<Boroughs>),
    responses(
        GetResponses<Boroughs>,
    )
)]
#[get("/boroughs/{id}")]
pub async fn get_borough(record: RecordRequest) -> Result<HttpResponse, ApiError> {
    record.get::<Boroughs>().await
}

/// List a borough's contracts
///
/// The same filters, sort, paging and CSV as `/contracts`, within one borough.
#[utoipa::path(
    tag = "boroughs",
    params(ReadId<Boroughs>, ContractQuery),
    responses(NestedContractResponses<Boroughs>)
)]
#[get("/boroughs/{id}/contracts")]
pub async fn list_borough_contracts(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    query: ApiQuery<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    respond_within::<Boroughs>(req, &pool, &caller, query.0, Within::Borough).await
}

/// Boroughs, as the resource flow writes them.
pub struct Boroughs;

impl Named for Boroughs {
    const WHAT: &'static str = "borough";
    const ID: &'static str = "Slug or GSS code";
    const ID_EXAMPLE: Option<&'static str> = Some("camden");

    fn schema_name() -> String {
        Borough::name().into_owned()
    }
}

impl Resource for Boroughs {
    const TABLE: &'static str = "boroughs";
    const PATH: &'static str = "/api/v1/boroughs";
    const LOG: changelog::Resource = changelog::Resource::Boroughs;
    type Write = models::NewBorough;

    fn key(conn: &mut PgConnection, id: &str) -> Result<String, ApiError> {
        // The URL may name the borough by GSS code; the row is keyed by slug.
        query::find(conn, id)?
            .map(|b| b.id)
            .ok_or_else(|| ApiError::NotFound(format!("no borough with id or GSS code {id:?}")))
    }

    fn stored(conn: &mut PgConnection, key: &str) -> Result<Option<Value>, ApiError> {
        Ok(wire::borough::current(conn, key)?)
    }

    fn check(
        _: &mut PgConnection,
        _: &Caller,
        body: Map<String, Value>,
        _: &Intent,
    ) -> Result<Self::Write, ApiError> {
        Ok(form::check(forms::read(body)?)?)
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

/// Create a borough
///
/// An authority the catalogue lacks (an admin key): `id` (a lowercase slug), `gss_code` (its ONS
/// code, unique), `name`, `official_name` and `kind`. Answers 201 with the borough, its `Location`
/// and `ETag`; the write is logged in the change feed.
#[utoipa::path(
    tag = "boroughs",
    security(("bearer" = [])),
    request_body(content = BoroughInput, description = "The new borough", content_type = "application/json"),
    responses(
        (status = 409, description = "The id or GSS code is taken", body = Problem, content_type = "application/problem+json"),
        CreateResponses<Boroughs>, AdminOnly,
    )
)]
#[post("/boroughs")]
pub async fn create_borough(record: RecordRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    record.create::<Boroughs>(body).await
}

/// Replace a borough
///
/// Every field is replaced; the id cannot change.
#[utoipa::path(
    tag = "boroughs",
    security(("bearer" = [])),
    params(ChangeId<Boroughs>),
    request_body(content = BoroughReplacement, description = "The whole borough", content_type = "application/json"),
    responses(
        (status = 409, description = "The GSS code is taken", body = Problem, content_type = "application/problem+json"),
        ReplaceResponses<Boroughs>, AdminOnly,
    )
)]
#[put("/boroughs/{id}")]
pub async fn replace_borough(record: RecordRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    record.change::<Boroughs>(body, false).await
}

/// Update a borough
///
/// A JSON merge patch: the fields sent replace the stored ones; the rest stay.
#[utoipa::path(
    tag = "boroughs",
    security(("bearer" = [])),
    params(ChangeId<Boroughs>),
    request_body(content = BoroughPatch, description = "The fields to change", content_type = "application/merge-patch+json",
                 example = json!({"surveyed": true})),
    responses(
        (status = 409, description = "The GSS code is taken", body = Problem, content_type = "application/problem+json"),
        UpdateResponses<Boroughs>, AdminOnly,
    )
)]
#[patch("/boroughs/{id}")]
pub async fn update_borough(record: RecordRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    record.change::<Boroughs>(body, true).await
}

/// Delete a borough
///
/// Only a borough nothing refers to: 409 names the contracts and keys that still do.
#[utoipa::path(
    tag = "boroughs",
    security(("bearer" = [])),
    params(DeleteId<Boroughs>),
    responses(
        (status = 409, description = "Contracts or keys still refer to the borough", body = Problem, content_type = "application/problem+json"),
        DeleteResponses<Boroughs>, AdminOnly,
    )
)]
#[delete("/boroughs/{id}")]
pub async fn delete_borough(record: RecordRequest) -> Result<HttpResponse, ApiError> {
    record.delete::<Boroughs>().await
}
