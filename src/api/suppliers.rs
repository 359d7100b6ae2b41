//! `/suppliers`: companies that hold contracts or sell systems, with their other spellings.

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
use super::params::{ApiQuery, CommaList, QueryBool};
use super::resource::{Intent, RecordRequest, Resource};
use super::respond::list_envelope;
use crate::auth::Caller;
use crate::changelog;
use crate::db::DbPool;
use crate::error::{ApiError, Problem};
use crate::forms::supplier::{SupplierInput, SupplierPatch, SupplierReplacement};
use crate::forms::{self, supplier as form};
use crate::queries::contracts::Within;
use crate::queries::search_words;
use crate::queries::suppliers::{self as query, SupplierCriteria, SupplierSortKey, SupplierWrite};
use crate::representations::{self as wire, Supplier};

list_envelope!(SupplierList, Supplier, "suppliers");

catalogue_query! {
    /// Supplier filters, sort and paging.
    SupplierQuery sorted by SupplierSortKey, r"^-?(name|id)$" {
        /// Whether the supplier is an SME.
        #[param(value_type = Option<bool>)]
        sme: Option<QueryBool>,
        /// Suppliers with a system in these service areas; a group means every area under it.
        #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "waste")]
        service_area: Option<CommaList<String>>,
        /// Words that must each appear in the name or in one alias.
        q: Option<String>,
    }
}

/// List suppliers
///
/// The suppliers of the shared catalogue, by name unless `sort` says otherwise: filter by `sme`,
/// by the service areas they hold contracts in, or by words in the name (`q`); paged by `page` or
/// `cursor`, with `format=csv` (or `xlsx`) for every match.
#[utoipa::path(
    tag = "suppliers",
    params(SupplierQuery),
    responses(
        (status = 200, description = "A page of suppliers, or all of them as CSV", content((SupplierList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        ReadErrors, BadQuery,
    )
)]
#[get("/suppliers")]
pub async fn list_suppliers(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<SupplierQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut query = query.0;
    let request = query.list_request();
    let criteria = SupplierCriteria {
        sme: query.sme.map(|b| b.0),
        service_area: query
            .service_area
            .map(CommaList::into_inner)
            .unwrap_or_default(),
        words: query.q.as_deref().map(search_words).unwrap_or_default(),
    };
    let csv = CsvFile {
        name: "suppliers.csv",
        columns: wire::supplier::CSV_COLUMNS,
    };
    respond_list::<_, Supplier>(&req, &pool, request, csv, move |conn| {
        Ok(criteria.resolve(conn)?)
    })
    .await
}

/// Suppliers, as the resource flow writes them.
pub struct Suppliers;

impl Named for Suppliers {
    const WHAT: &'static str = "supplier";
    const ID: &'static str = "The supplier's id";
    const ID_EXAMPLE: Option<&'static str> = Some("civica");
    const WRITE_ID_EXAMPLE: Option<&'static str> = Some("liquidlogic");

    fn schema_name() -> String {
        Supplier::name().into_owned()
    }
}

impl Resource for Suppliers {
    const TABLE: &'static str = "suppliers";
    const PATH: &'static str = "/api/v1/suppliers";
    const LOG: changelog::Resource = changelog::Resource::Suppliers;
    type Write = SupplierWrite;

    fn stored(conn: &mut PgConnection, key: &str) -> Result<Option<Value>, ApiError> {
        Ok(wire::supplier::current(conn, key)?)
    }

    fn check(
        conn: &mut PgConnection,
        _: &Caller,
        body: Map<String, Value>,
        intent: &Intent,
    ) -> Result<SupplierWrite, ApiError> {
        // Stored aliases that a merge patch does not mention are kept as they are, even several
        // spellings of one normalized form (as the seeds hold them).
        let one_per_form = !matches!(intent, Intent::Patch { sent } if !sent.contains("aliases"));
        Ok(form::check(conn, forms::read(body)?, one_per_form)?)
    }

    fn insert(conn: &mut PgConnection, write: &SupplierWrite) -> Result<String, ApiError> {
        query::insert(conn, write)?;
        Ok(write.supplier.id.clone())
    }

    fn update(conn: &mut PgConnection, key: &str, write: &SupplierWrite) -> Result<(), ApiError> {
        Ok(query::update(conn, key, write)?)
    }

    fn delete(conn: &mut PgConnection, key: &str) -> Result<(), ApiError> {
        if let Some(detail) = query::references(conn, key)? {
            return Err(ApiError::Conflict(detail));
        }
        Ok(query::delete(conn, key)?)
    }
}

/// Get a supplier
///
/// One supplier by id (case-insensitive), with its aliases and whether it is an SME. The `ETag`
/// answers `If-None-Match` with 304, and is the `If-Match` a change needs. Its contracts are at
/// `/suppliers/{id}/contracts`, where it works at `/suppliers/{id}/footprint`.
#[utoipa::path(
    tag = "suppliers",
    params(ReadId<Suppliers>),
    responses(
        GetResponses<Suppliers>,
    )
)]
#[get("/suppliers/{id}")]
pub async fn get_supplier(record: RecordRequest) -> Result<HttpResponse, ApiError> {
    record.get::<Suppliers>().await
}

/// List a supplier's contracts
///
/// The contracts the supplier holds, with the same filters, sort, paging and CSV as `/contracts`.
#[utoipa::path(
    tag = "suppliers",
    params(ReadId<Suppliers>, ContractQuery),
    responses(NestedContractResponses<Suppliers>)
)]
#[get("/suppliers/{id}/contracts")]
pub async fn list_supplier_contracts(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    query: ApiQuery<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    respond_within::<Suppliers>(req, &pool, &caller, query.0, Within::Supplier).await
}

/// Create a supplier
///
/// A supplier the catalogue lacks (an admin key): `id`, `name`, `aliases` (the names it trades
/// or is registered under, which imports match), `companies_house_number`, `website`, `sme`.
/// Answers 201 with the supplier, its `Location` and `ETag`; the write is logged in the change
/// feed. Imports match suppliers by name and alias (names that only look alike included) rather
/// than adding new ones unreviewed.
#[utoipa::path(
    tag = "suppliers",
    security(("bearer" = [])),
    request_body(content = SupplierInput, description = "The new supplier", content_type = "application/json"),
    responses(
        (status = 409, description = "The id is taken, or an alias belongs to another supplier", body = Problem, content_type = "application/problem+json"),
        CreateResponses<Suppliers>, AdminOnly,
    )
)]
#[post("/suppliers")]
pub async fn create_supplier(record: RecordRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    record.create::<Suppliers>(body).await
}

/// Replace a supplier
///
/// Every field is replaced, aliases included; the id cannot change.
#[utoipa::path(
    tag = "suppliers",
    security(("bearer" = [])),
    params(ChangeId<Suppliers>),
    request_body(content = SupplierReplacement, description = "The whole supplier", content_type = "application/json"),
    responses(
        (status = 409, description = "An alias belongs to another supplier", body = Problem, content_type = "application/problem+json"),
        ReplaceResponses<Suppliers>, AdminOnly,
    )
)]
#[put("/suppliers/{id}")]
pub async fn replace_supplier(
    record: RecordRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    record.change::<Suppliers>(body, false).await
}

/// Update a supplier
///
/// A JSON merge patch: the fields sent replace the stored ones (null clears one); the rest stay.
/// `aliases`, when sent, replaces the whole set.
#[utoipa::path(
    tag = "suppliers",
    security(("bearer" = [])),
    params(ChangeId<Suppliers>),
    request_body(content = SupplierPatch, description = "The fields to change", content_type = "application/merge-patch+json",
                 example = json!({"sme": true})),
    responses(
        (status = 409, description = "An alias belongs to another supplier", body = Problem, content_type = "application/problem+json"),
        UpdateResponses<Suppliers>, AdminOnly,
    )
)]
#[patch("/suppliers/{id}")]
pub async fn update_supplier(record: RecordRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    record.change::<Suppliers>(body, true).await
}

/// Delete a supplier
///
/// Only a supplier nothing refers to: 409 names the systems and contracts that still do. Its
/// aliases go with it.
#[utoipa::path(
    tag = "suppliers",
    security(("bearer" = [])),
    params(DeleteId<Suppliers>),
    responses(
        (status = 409, description = "Systems or contracts still refer to the supplier", body = Problem, content_type = "application/problem+json"),
        DeleteResponses<Suppliers>, AdminOnly,
    )
)]
#[delete("/suppliers/{id}")]
pub async fn delete_supplier(record: RecordRequest) -> Result<HttpResponse, ApiError> {
    record.delete::<Suppliers>().await
}
