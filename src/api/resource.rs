//! The one read/write flow of the API's resources. Each resource declares what is particular to
//! it (its names, who may write it, how a body becomes a write, how a write is stored) by
//! implementing [`Resource`]; `get`, `create`, `change` and `delete` do the rest: the key check,
//! the transaction with its change-log entry, `If-Match`, and the response with its ETag.

use std::collections::BTreeSet;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use diesel::PgConnection;
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

use super::docs::Named;
use super::input::{json_object, merge};
use super::params::{ApiQuery, NoQuery};
use super::respond;
use super::writes::{as_object, check_body_id, written, IfMatch, Target, Write};
use crate::auth::{Actor, Caller};
use crate::changelog;
use crate::db::{self, DbPool};
use crate::error::ApiError;

/// A body as the write it is part of sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// `POST`: a new record.
    Create,
    /// `PUT`: the whole record.
    Replace,
    /// `PATCH`: the fields named in `sent` were sent; the rest come from the stored record.
    Patch { sent: BTreeSet<String> },
}

/// What is particular to one resource; the flow in this module does the rest.
pub trait Resource: Named + Send + Sized + 'static {
    /// The table, as `FOR UPDATE` locks it.
    const TABLE: &'static str;
    /// The collection's path, for `Location`.
    const PATH: &'static str;
    /// The resource as the change log names it.
    const LOG: changelog::Resource;
    /// A checked body, ready to store.
    type Write: Send;

    /// Who may write this resource at all: admin keys unless said otherwise.
    fn writer(caller: &Caller) -> Result<Actor, ApiError> {
        caller.require_admin()
    }

    /// Whether `caller` may change or delete the record whose representation is `current`.
    fn may_change(_caller: &Caller, _current: &Value) -> Result<(), ApiError> {
        Ok(())
    }

    /// The id from the URL, checked before the body is read (404 when it cannot be an id).
    fn parse_id(id: &str) -> Result<String, ApiError> {
        Ok(id.to_owned())
    }

    /// The record's own key for the id in the URL (404 when there is none); by default the id.
    fn key(_conn: &mut PgConnection, id: &str) -> Result<String, ApiError> {
        Ok(id.to_owned())
    }

    /// The record's current, full representation (assessments included); None when missing.
    fn stored(conn: &mut PgConnection, key: &str) -> Result<Option<Value>, ApiError>;

    /// The record's current, full representation: 404 when missing.
    fn current(conn: &mut PgConnection, key: &str) -> Result<Value, ApiError> {
        Self::stored(conn, key)?.ok_or_else(|| not_found::<Self>(key))
    }

    /// The record as `caller` sees it (by default, all of it); None when missing.
    fn view(
        conn: &mut PgConnection,
        key: &str,
        _caller: &Caller,
    ) -> Result<Option<Value>, ApiError> {
        Self::stored(conn, key)
    }

    /// Reads and checks a body (a patch already merged over the stored record): every failing
    /// field in one 422, then conflicts.
    fn check(
        conn: &mut PgConnection,
        caller: &Caller,
        body: Map<String, Value>,
        intent: &Intent,
    ) -> Result<Self::Write, ApiError>;

    /// Stores a new record; returns its key.
    fn insert(conn: &mut PgConnection, write: &Self::Write) -> Result<String, ApiError>;

    /// Replaces the stored record `key` with `write`.
    fn update(conn: &mut PgConnection, key: &str, write: &Self::Write) -> Result<(), ApiError>;

    /// Deletes the record `key`: a 409 when something still refers to it.
    fn delete(conn: &mut PgConnection, key: &str) -> Result<(), ApiError>;
}

/// What every operation on one record takes from its request: the request itself, the pool,
/// the caller (401 for a bad key) and the `id` from the path, having refused any query parameter
/// (400), in that order.
pub struct RecordRequest {
    pub req: HttpRequest,
    pub pool: web::Data<DbPool>,
    pub caller: Caller,
    pub id: String,
}

impl FromRequest for RecordRequest {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<RecordRequest, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let caller = Caller::from_request(&req, payload);
        Box::pin(async move {
            let pool = req
                .app_data::<web::Data<DbPool>>()
                .cloned()
                .ok_or_else(|| ApiError::Internal("the application has no database pool".into()))?;
            let caller = caller.await?;
            let id = req.match_info().query("id").to_owned();
            ApiQuery::<NoQuery>::parse(req.query_string())?;
            Ok(RecordRequest {
                req,
                pool,
                caller,
                id,
            })
        })
    }
}

impl RecordRequest {
    /// `GET` one record, with its ETag (304 when `If-None-Match` holds it).
    pub async fn get<R: Resource>(self) -> Result<HttpResponse, ApiError> {
        let RecordRequest {
            req,
            pool,
            caller,
            id,
        } = self;
        let id = R::parse_id(&id)?;
        let shown = db::run(&pool, move |conn| match R::key(conn, &id) {
            Ok(key) => R::view(conn, &key, &caller)?.ok_or_else(|| not_found::<R>(&id)),
            Err(error) => Err(error),
        })
        .await?;
        respond::single(&req, &shown)
    }

    /// `POST` a new record: 201 with its representation, ETag and `Location`.
    pub async fn create<R: Resource>(self, body: Bytes) -> Result<HttpResponse, ApiError> {
        let RecordRequest { pool, caller, .. } = self;
        let actor = R::writer(&caller)?;
        let body = json_object(&body)?;
        let (key, after) = db::run(&pool, move |conn| {
            let write = Write {
                actor: &actor,
                resource: R::LOG,
                if_match: &IfMatch::default(),
            };
            write.create(conn, |conn| {
                let checked = R::check(conn, &caller, body, &Intent::Create)?;
                let key = R::insert(conn, &checked)?;
                let after = R::current(conn, &key)?;
                Ok((key, after))
            })
        })
        .await?;
        Ok(written(
            StatusCode::CREATED,
            Some(format!("{}/{key}", R::PATH)),
            &after,
        ))
    }

    /// `PUT` (the whole record) or `PATCH` (a JSON merge patch): 200 with the new representation.
    pub async fn change<R: Resource>(
        self,
        body: Bytes,
        partial: bool,
    ) -> Result<HttpResponse, ApiError> {
        let RecordRequest {
            req,
            pool,
            caller,
            id,
        } = self;
        let actor = R::writer(&caller)?;
        let id = R::parse_id(&id)?;
        let body = json_object(&body)?;
        let if_match = IfMatch::required(&req)?;
        let after = db::run(&pool, move |conn| {
            let key = R::key(conn, &id)?;
            check_body_id(&body, &key)?;
            let intent = if partial {
                Intent::Patch {
                    sent: body.keys().cloned().collect(),
                }
            } else {
                Intent::Replace
            };
            modify::<R>(conn, &actor, &caller, &if_match, &key, |conn, before| {
                let mut fields = if partial {
                    merge(as_object(before.clone()), body)
                } else {
                    body
                };
                fields.insert("id".into(), key.clone().into());
                let checked = R::check(conn, &caller, fields, &intent)?;
                R::update(conn, &key, &checked)?;
                Ok(Some(R::current(conn, &key)?))
            })
        })
        .await?;
        let after = after.ok_or_else(|| ApiError::Internal("an update returned nothing".into()))?;
        Ok(written(StatusCode::OK, None, &after))
    }

    /// `DELETE` a record: 204.
    pub async fn delete<R: Resource>(self) -> Result<HttpResponse, ApiError> {
        let RecordRequest {
            req,
            pool,
            caller,
            id,
        } = self;
        let actor = R::writer(&caller)?;
        let id = R::parse_id(&id)?;
        let if_match = IfMatch::required(&req)?;
        db::run(&pool, move |conn| {
            let key = R::key(conn, &id)?;
            modify::<R>(conn, &actor, &caller, &if_match, &key, |conn, _| {
                R::delete(conn, &key)?;
                Ok(None)
            })
        })
        .await?;
        Ok(HttpResponse::NoContent().finish())
    }
}

/// The 404 of a record of `R` that is not there.
pub fn not_found<R: Named>(id: &str) -> ApiError {
    ApiError::NotFound(format!("no {} with id {id:?}", R::WHAT))
}

/// Changes or deletes the record `key` in one logged transaction (see [`Write::modify`]).
fn modify<R: Resource>(
    conn: &mut PgConnection,
    actor: &Actor,
    caller: &Caller,
    if_match: &IfMatch,
    key: &str,
    apply: impl FnOnce(&mut PgConnection, &Value) -> Result<Option<Value>, ApiError>,
) -> Result<Option<Value>, ApiError> {
    let write = Write {
        actor,
        resource: R::LOG,
        if_match,
    };
    let target = Target {
        table: R::TABLE,
        what: R::WHAT,
        id: key,
    };
    write.modify(
        conn,
        target,
        |conn| R::current(conn, key),
        |before| R::may_change(caller, before),
        apply,
    )
}
