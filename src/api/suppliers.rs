//! `/suppliers`: companies that hold contracts or sell systems, with their other spellings.

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::contracts::{respond_with_contracts, ContractQuery};
use super::exports::ContractListBody;
use super::input::{json_object, merge, Fields};
use super::params::{
    ApiQuery, CommaList, ListFormat, NoQuery, PageNumber, Paging, PerPage, QueryBool, Sort,
};
use super::respond::{self, list_envelope};
use super::writes::{
    as_object, check_body_id, merge_patch_schema, replacement_schema, written, IfMatch, Target,
    Write,
};
use crate::auth::Caller;
use crate::db::{self, DbPool};
use crate::error::{ApiError, Problem};
use crate::import::normalize;
use crate::models;
use crate::queries::changes::Resource;
use crate::queries::contracts::Within;
use crate::queries::search_words;
use crate::queries::suppliers::{
    self as query, SupplierCriteria, SupplierRecord, SupplierSortKey, SupplierWrite,
};

/// A supplier of software or services to boroughs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Supplier {
    #[schema(example = "civica")]
    pub id: String,
    #[schema(example = "Civica")]
    pub name: String,
    /// Other spellings seen in source data, used to match imports.
    #[schema(example = json!(["Civica UK Ltd", "Civica UK Limited"]))]
    pub aliases: Vec<String>,
    /// Companies House registration number.
    pub companies_house_number: Option<String>,
    pub website: Option<String>,
    /// Whether the supplier is a small or medium-sized enterprise.
    pub sme: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes on every write.
    pub version: i32,
}

impl From<SupplierRecord> for Supplier {
    fn from(record: SupplierRecord) -> Self {
        let s = record.supplier;
        Supplier {
            id: s.id,
            name: s.name,
            aliases: record.aliases,
            companies_house_number: s.companies_house_number,
            website: s.website,
            sme: s.sme,
            created_at: s.created_at,
            updated_at: s.updated_at,
            version: s.version,
        }
    }
}

const CSV_COLUMNS: &[&str] = &[
    "id",
    "name",
    "aliases",
    "companies_house_number",
    "website",
    "sme",
    "created_at",
    "updated_at",
    "version",
];

list_envelope!(SupplierList, Supplier, "suppliers");

/// Supplier filters, sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SupplierQuery {
    /// Whether the supplier is an SME.
    #[param(value_type = Option<bool>)]
    pub sme: Option<QueryBool>,
    /// Suppliers with a system in these service areas; a group means every area under it.
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "waste")]
    pub service_area: Option<CommaList<String>>,
    /// Words that must each appear in the name or in one alias.
    pub q: Option<String>,
    /// Sort key, `-` prefix for descending; ties are broken by id.
    #[param(value_type = Option<String>, pattern = r"^-?(name|id)$")]
    pub sort: Option<Sort<SupplierSortKey>>,
    /// Page number, from 1.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000000)]
    pub page: Option<PageNumber>,
    /// Records per page, 1 to 500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub per_page: Option<PerPage>,
    /// `csv` for every matching row as CSV (the same as `Accept: text/csv`).
    #[param(value_type = Option<ListFormat>)]
    pub format: Option<ListFormat>,
}

/// List suppliers
#[utoipa::path(
    tag = "suppliers",
    params(SupplierQuery),
    responses(
        (status = 200, description = "A page of suppliers, or all of them as CSV", content((SupplierList = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links to the first, previous, next and last pages"))),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/suppliers")]
pub async fn list_suppliers(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    query: ApiQuery<SupplierQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let criteria = SupplierCriteria {
        sme: query.sme.map(|b| b.0),
        service_area: query
            .service_area
            .map(CommaList::into_inner)
            .unwrap_or_default(),
        words: query.q.as_deref().map(search_words).unwrap_or_default(),
    };
    let sort = query.sort.map(|s| (s.key, s.descending));
    if respond::wants_csv(&req, query.format) {
        let (conn, filter) =
            db::run_holding(&pool, move |conn| Ok(criteria.resolve(conn)?)).await?;
        return Ok(respond::csv(
            conn,
            "suppliers.csv",
            CSV_COLUMNS.to_vec(),
            move |conn, sink| {
                filter.for_each(conn, sort, |row| sink.write(&Supplier::from(row)))?;
                Ok(())
            },
        ));
    }
    let paging = Paging::new(query.page, query.per_page);
    let (rows, total) = db::run(&pool, move |conn| {
        let filter = criteria.resolve(conn)?;
        let total = filter.count(conn)?;
        Ok((
            filter.page(conn, sort, paging.offset(), paging.limit())?,
            total,
        ))
    })
    .await?;
    let body = SupplierList {
        items: rows.into_iter().map(Supplier::from).collect(),
        meta: respond::ListMeta {
            total,
            page: paging.page,
            per_page: paging.per_page,
        },
    };
    Ok(respond::page(&req, &body, total, paging))
}

async fn find_supplier(pool: &DbPool, id: &str) -> Result<SupplierRecord, ApiError> {
    let key = id.to_owned();
    db::run(pool, move |conn| Ok(query::find(conn, &key)?))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no supplier with id {id:?}")))
}

/// Get a supplier
#[utoipa::path(
    tag = "suppliers",
    params(("id" = String, Path, description = "The supplier's id", example = "civica")),
    responses(
        (status = 200, description = "The supplier", body = Supplier,
         headers(("ETag" = String, description = "Changes whenever the representation changes"))),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such supplier", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/suppliers/{id}")]
pub async fn get_supplier(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    _caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let supplier = find_supplier(&pool, &id).await?;
    respond::single(&req, &Supplier::from(supplier))
}

/// List a supplier's contracts
///
/// The contracts the supplier holds, with the same filters, sort, paging and CSV as `/contracts`.
#[utoipa::path(
    tag = "suppliers",
    params(("id" = String, Path, description = "The supplier's id", example = "civica"), ContractQuery),
    responses(
        (status = 200, description = "A page of the supplier's contracts, or all of them as CSV or (`format=ocds`) as an OCDS release package", content((ContractListBody = "application/json"), (String = "text/csv")),
         headers(("Link" = String, description = "RFC 8288 links: by page number `first`, `prev`, `next` and `last` (no `last` when `meta.total_exact` is false); in cursor mode `first` (`cursor=`) and `next`"))),
        (status = 401, description = "A malformed, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "An unknown parameter or a malformed or unknown value", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such supplier", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/suppliers/{id}/contracts")]
pub async fn list_supplier_contracts(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    query: ApiQuery<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    let supplier = find_supplier(&pool, &id).await?;
    respond_with_contracts(
        req,
        &pool,
        &caller,
        query.0,
        Some(Within::Supplier(supplier.supplier.id)),
    )
    .await
}

/// A supplier as written with `POST`, `PUT` and `PATCH` (admin keys only). Read-only fields
/// (timestamps, `version`) may be sent back as read and are ignored.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "liquidlogic",
    "name": "Liquidlogic",
    "aliases": ["Liquidlogic Ltd", "Liquidlogic Limited", "Liquid Logic"],
    "companies_house_number": "04006349",
    "website": "https://www.liquidlogic.co.uk",
    "sme": false
}))]
pub struct SupplierInput {
    /// Slug; required when creating, and fixed afterwards.
    pub id: String,
    pub name: String,
    /// Other spellings of the name; the whole set is replaced (absent or null means none). An
    /// alias that normalizes (case, punctuation, legal suffix) to another supplier's alias is a
    /// 409; one that normalizes to an earlier alias in the list is dropped.
    pub aliases: Option<Vec<String>>,
    /// Eight letters or digits, such as 04006349; stored upper-case.
    pub companies_house_number: Option<String>,
    /// An http or https URL.
    pub website: Option<String>,
    /// Whether the supplier is a small or medium-sized enterprise; null when not known.
    pub sme: Option<bool>,
}

merge_patch_schema!(SupplierPatch, SupplierInput, "a supplier");
replacement_schema!(SupplierReplacement, SupplierInput, "a supplier");

const READ_ONLY: &[&str] = &["created_at", "updated_at", "version"];

/// Reads and checks a supplier body: every failing field in one 422, then a 409 for an alias
/// that already belongs to another supplier. `one_per_form` drops an alias that normalizes like
/// an earlier one; it is off when a merge patch leaves the stored aliases as they are.
fn supplier_input(
    conn: &mut diesel::PgConnection,
    body: serde_json::Map<String, serde_json::Value>,
    one_per_form: bool,
) -> Result<SupplierWrite, ApiError> {
    let mut f = Fields::new(body, READ_ONLY);
    let id = f.required_slug("id");
    let name = f.required_text("name");
    let given_aliases = f.text_list("aliases");
    let companies_house_number = f
        .optional_text("companies_house_number")
        .map(|number| number.to_uppercase());
    if let Some(number) = &companies_house_number {
        let valid = number.len() == 8
            && number
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !valid {
            f.error(
                "companies_house_number",
                format!("{number:?} is not a Companies House number: eight letters or digits, such as 04006349"),
            );
        }
    }
    let website = f.optional_url("website");
    let sme = f.optional_bool("sme");

    // One alias per normalized form: the first spelling given is kept.
    let mut aliases: Vec<(String, String)> = Vec::with_capacity(given_aliases.len());
    for alias in given_aliases {
        let normalized = normalize::supplier_name(&alias);
        if normalized.is_empty() {
            f.error("aliases", format!("{alias:?} has no letters or digits"));
        } else if !one_per_form || !aliases.iter().any(|(_, seen)| *seen == normalized) {
            aliases.push((alias, normalized));
        }
    }
    f.finish()?;
    let missing = || ApiError::Internal("a checked supplier field is missing".into());
    let id = id.ok_or_else(missing)?;

    query::lock_aliases(conn)?;
    for (alias, normalized) in &aliases {
        if let Some((owner, spelling)) = query::alias_owner(conn, &id, alias, normalized)? {
            let matching = if spelling == *alias {
                String::new()
            } else {
                format!(" as {spelling:?} (the same name once case, punctuation and legal suffixes are ignored)")
            };
            return Err(ApiError::Conflict(format!(
                "alias {alias:?} already belongs to supplier {owner:?}{matching}; remove it there first"
            )));
        }
    }
    Ok(SupplierWrite {
        supplier: models::NewSupplier {
            id: id.clone(),
            name: name.ok_or_else(missing)?,
            companies_house_number,
            website,
            sme,
        },
        aliases: aliases
            .into_iter()
            .map(|(alias, normalized)| models::SupplierAlias {
                supplier_id: id.clone(),
                alias,
                normalized,
            })
            .collect(),
    })
}

/// The full representation (assessments included) that writes return and log.
pub(crate) fn current(
    conn: &mut diesel::PgConnection,
    id: &str,
) -> Result<serde_json::Value, ApiError> {
    let supplier = query::find(conn, id)?
        .ok_or_else(|| ApiError::NotFound(format!("no supplier with id {id:?}")))?;
    serde_json::to_value(Supplier::from(supplier)).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Create a supplier
#[utoipa::path(
    tag = "suppliers",
    security(("bearer" = [])),
    request_body(content = SupplierInput, description = "The new supplier", content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Supplier,
         headers(("ETag" = String, description = "The new representation's ETag"), ("Location" = String, description = "The supplier's address"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The id is taken, or an alias belongs to another supplier", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/suppliers")]
pub async fn create_supplier(
    pool: web::Data<DbPool>,
    caller: Caller,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.require_admin()?;
    let body = json_object(&body)?;
    let (id, after) = db::run(&pool, move |conn| {
        let write = Write {
            actor: &actor,
            resource: Resource::Suppliers,
            if_match: &IfMatch::default(),
        };
        write.create(conn, |conn| {
            let input = supplier_input(conn, body, true)?;
            query::insert(conn, &input)?;
            let id = input.supplier.id;
            let after = current(conn, &id)?;
            Ok((id, after))
        })
    })
    .await?;
    Ok(written(
        StatusCode::CREATED,
        Some(format!("/api/v1/suppliers/{id}")),
        &after,
    ))
}

async fn change_supplier(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: String,
    body: Bytes,
    partial: bool,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.require_admin()?;
    let body = json_object(&body)?;
    check_body_id(&body, &id)?;
    let if_match = IfMatch::from_request(&req);
    let after = db::run(&pool, move |conn| {
        let write = Write {
            actor: &actor,
            resource: Resource::Suppliers,
            if_match: &if_match,
        };
        let target = Target {
            table: "suppliers",
            what: "supplier",
            id: &id,
        };
        write.modify(
            conn,
            target,
            |conn| current(conn, &id),
            |_| Ok(()),
            |conn, before| {
                // Stored aliases that a merge patch does not mention are kept as they are, even
                // several spellings of one normalized form (as the seeds hold them).
                let one_per_form = !partial || body.contains_key("aliases");
                let mut fields = if partial {
                    merge(as_object(before.clone()), body)
                } else {
                    body
                };
                fields.insert("id".into(), id.clone().into());
                let input = supplier_input(conn, fields, one_per_form)?;
                query::update(conn, &id, &input)?;
                Ok(Some(current(conn, &id)?))
            },
        )
    })
    .await?;
    let after = after.ok_or_else(|| ApiError::Internal("an update returned nothing".into()))?;
    Ok(written(StatusCode::OK, None, &after))
}

/// Replace a supplier
///
/// Every field is replaced, aliases included; the id cannot change.
#[utoipa::path(
    tag = "suppliers",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The supplier's id", example = "liquidlogic"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; 412 when it is no longer current"),
    ),
    request_body(content = SupplierReplacement, description = "The whole supplier", content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced", body = Supplier, headers(("ETag" = String, description = "The new representation's ETag"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such supplier", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An alias belongs to another supplier", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/suppliers/{id}")]
pub async fn replace_supplier(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    change_supplier(req, pool, caller, id.into_inner(), body, false).await
}

/// Update a supplier
///
/// A JSON merge patch: the fields sent replace the stored ones (null clears one); the rest stay.
/// `aliases`, when sent, replaces the whole set.
#[utoipa::path(
    tag = "suppliers",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The supplier's id", example = "liquidlogic"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; 412 when it is no longer current"),
    ),
    request_body(content = SupplierPatch, description = "The fields to change", content_type = "application/merge-patch+json",
                 example = json!({"sme": true})),
    responses(
        (status = 200, description = "Updated", body = Supplier, headers(("ETag" = String, description = "The new representation's ETag"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such supplier", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An alias belongs to another supplier", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the service accepts", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/suppliers/{id}")]
pub async fn update_supplier(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    change_supplier(req, pool, caller, id.into_inner(), body, true).await
}

/// Delete a supplier
///
/// Only a supplier nothing refers to: 409 names the systems and contracts that still do. Its
/// aliases go with it.
#[utoipa::path(
    tag = "suppliers",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The supplier's id", example = "liquidlogic"),
        ("If-Match" = Option<String>, Header, description = "The ETag the deletion is based on; 412 when it is no longer current"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such supplier", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Systems or contracts still refer to the supplier", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this key or address; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait before writing again"))),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/suppliers/{id}")]
pub async fn delete_supplier(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    id: web::Path<String>,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.require_admin()?;
    let id = id.into_inner();
    let if_match = IfMatch::from_request(&req);
    db::run(&pool, move |conn| {
        let write = Write {
            actor: &actor,
            resource: Resource::Suppliers,
            if_match: &if_match,
        };
        let target = Target {
            table: "suppliers",
            what: "supplier",
            id: &id,
        };
        write.modify(
            conn,
            target,
            |conn| current(conn, &id),
            |_| Ok(()),
            |conn, _| {
                if let Some(detail) = query::references(conn, &id)? {
                    return Err(ApiError::Conflict(detail));
                }
                query::delete(conn, &id)?;
                Ok(None)
            },
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
