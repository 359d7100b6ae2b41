//! What every write shares: preconditions, the transaction with its change-log entry, responses.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use diesel::{Connection, PgConnection};
use serde_json::Value;

use super::respond::etag_of;
use crate::changelog::{self, Actor, Resource};
use crate::error::{ApiError, FieldError};
use crate::queries::writes::lock_row;

/// The `If-Match` header: the representations a write may replace.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<Vec<String>>);

impl IfMatch {
    pub fn from_request(req: &HttpRequest) -> IfMatch {
        let tags: Vec<String> = req
            .headers()
            .get_all(header::IF_MATCH)
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|tag| tag.trim().to_owned())
            .filter(|tag| !tag.is_empty())
            .collect();
        IfMatch((!tags.is_empty()).then_some(tags))
    }

    /// The header, which every change and deletion must send (428 without it), so that no
    /// client overwrites a record it has not read: the ETag of a `GET`, or `*` for whatever is
    /// there.
    pub fn required(req: &HttpRequest) -> Result<IfMatch, ApiError> {
        let if_match = IfMatch::from_request(req);
        if if_match.0.is_none() {
            return Err(ApiError::PreconditionRequired(format!(
                "{} needs an If-Match header: the ETag of the record as you last read it \
                 (GET it to learn it), or * to {} whatever is there",
                req.method(),
                if req.method() == actix_web::http::Method::DELETE {
                    "delete"
                } else {
                    "change"
                },
            )));
        }
        Ok(if_match)
    }

    /// 412 unless the current representation is one the caller named (strong comparison).
    pub fn check(&self, current: &Value) -> Result<(), ApiError> {
        let Some(tags) = &self.0 else {
            return Ok(());
        };
        let etag = etag_of(current);
        if tags.iter().any(|tag| tag == "*" || *tag == etag) {
            return Ok(());
        }
        Err(ApiError::PreconditionFailed(format!(
            "If-Match does not match the current representation (its ETag is {etag}); \
             fetch it again and reapply your change"
        )))
    }
}

/// The record an update or delete is aimed at.
pub struct Target<'a> {
    /// The table, one of this crate's.
    pub table: &'static str,
    /// What a record of it is called, for messages: "contract", "borough".
    pub what: &'static str,
    pub id: &'a str,
}

/// A 422 when a body names an `id` other than the one in the URL (`null` included: an id cannot
/// be cleared).
pub fn check_body_id(body: &serde_json::Map<String, Value>, id: &str) -> Result<(), ApiError> {
    let same = match body.get("id") {
        None => true,
        Some(Value::String(given)) => given == id,
        Some(Value::Number(given)) => given.to_string() == id,
        Some(_) => false,
    };
    if same {
        Ok(())
    } else {
        Err(ApiError::invalid_fields(vec![FieldError::new(
            "id",
            format!("does not match the id in the URL ({id}); ids cannot be changed"),
        )]))
    }
}

/// One write, as the transaction sees it.
pub struct Write<'a> {
    pub actor: &'a Actor,
    pub resource: Resource,
    pub if_match: &'a IfMatch,
}

impl Write<'_> {
    /// Creates a record in one transaction with its change-log entry. `create` inserts and returns
    /// the new record's id and representation.
    pub fn create(
        &self,
        conn: &mut PgConnection,
        create: impl FnOnce(&mut PgConnection) -> Result<(String, Value), ApiError>,
    ) -> Result<(String, Value), ApiError> {
        let created = conn.transaction(|conn| {
            let (id, after) = create(conn)?;
            changelog::record(conn, self.actor, self.resource, &id, None, Some(&after))?;
            Ok::<_, ApiError>((id, after))
        })?;
        self.committed(conn);
        Ok(created)
    }

    /// After a commit: a change to a reference table reaches this instance's cache of their
    /// ids at once (other instances hear of it from PostgreSQL).
    fn committed(&self, conn: &mut PgConnection) {
        if self.resource.is_reference() {
            crate::db::reference::changed(conn);
        }
    }

    /// Updates or deletes a record in one transaction: the row is locked (404 when missing),
    /// `current` reads its representation, `authorize` may refuse (403), the `If-Match`
    /// precondition is checked (412), `apply` writes and returns the new representation (None
    /// when deleted), and the change is logged.
    pub fn modify(
        &self,
        conn: &mut PgConnection,
        target: Target<'_>,
        current: impl FnOnce(&mut PgConnection) -> Result<Value, ApiError>,
        authorize: impl FnOnce(&Value) -> Result<(), ApiError>,
        apply: impl FnOnce(&mut PgConnection, &Value) -> Result<Option<Value>, ApiError>,
    ) -> Result<Option<Value>, ApiError> {
        let after = conn.transaction(|conn| {
            if !lock_row(conn, target.table, target.id)? {
                return Err(ApiError::NotFound(format!(
                    "no {} with id {:?}",
                    target.what, target.id
                )));
            }
            let before = current(conn)?;
            authorize(&before)?;
            self.if_match.check(&before)?;
            let after = apply(conn, &before)?;
            changelog::record(
                conn,
                self.actor,
                self.resource,
                target.id,
                Some(&before),
                after.as_ref(),
            )?;
            Ok::<_, ApiError>(after)
        })?;
        self.committed(conn);
        Ok(after)
    }
}

/// The response to a successful create (201, with `Location`) or update (200), with its ETag.
pub fn written(status: StatusCode, location: Option<String>, body: &Value) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::ETAG, etag_of(body)));
    if let Some(location) = location {
        response.insert_header((header::LOCATION, location));
    }
    response.json(body)
}

/// The object form of a representation, for merging a PATCH into it.
pub fn as_object(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}
