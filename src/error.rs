//! One error type for the API, answered as RFC 9457 `application/problem+json`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{DbError, DbPool, WorkPool};
/// Failing fields are found by the query layer (filters naming nothing) as well as here.
pub use crate::queries::FieldError;
use crate::queries::QueryError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait before retrying when the database is unavailable.
const RETRY_AFTER_SECONDS: u32 = 5;

/// An RFC 9457 problem details body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference for the problem type; `about:blank` means the HTTP status says it all.
    #[schema(example = "about:blank")]
    pub r#type: String,
    /// The HTTP status phrase.
    #[schema(example = "Bad Request")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 400)]
    pub status: u16,
    /// What was wrong with this request, in words.
    #[schema(example = "unknown query parameter `colour`")]
    pub detail: String,
    /// Every failing field, for invalid parameters and validation failures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// Everything a handler can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (unknown parameter, bad date, out-of-range page size, ...).
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 401: no usable credentials (a malformed, unknown or revoked key, or none for a write).
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the key is valid but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: nothing is at this address.
    #[error("{0}")]
    NotFound(String),
    /// 406: the client accepts no representation this resource has.
    #[error("{0}")]
    NotAcceptable(String),
    /// 409: the request conflicts with the current state (a duplicate key, a record still referenced).
    #[error("{0}")]
    Conflict(String),
    /// 412: `If-Match` names a representation that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 428: a change or deletion without `If-Match`.
    #[error("{0}")]
    PreconditionRequired(String),
    /// 422: the request is well-formed but breaks a rule of the data.
    #[error("{detail}")]
    Unprocessable {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 429: too many writes from this key; retry after `retry_after` seconds.
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    /// 503: the database cannot be reached right now; retry later. The cause is logged, not sent.
    #[error("{0}")]
    Unavailable(String),
    /// 503: a query ran past the statement timeout and was cancelled.
    #[error(
        "the database took too long to answer and the query was cancelled; narrow the request \
         (fewer rows, more filters), retry later, or send an API key: insights and downloads \
         made without one get a third of the time"
    )]
    QueryTimeout,
    /// 500: a fault of the service; the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 for one parameter, named in both `detail` and `errors`.
    pub fn invalid_param(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid_params(vec![FieldError::new(field, message)])
    }

    /// A 400 listing every failing parameter.
    pub fn invalid_params(errors: Vec<FieldError>) -> Self {
        ApiError::BadRequest {
            detail: FieldError::summary(&errors),
            errors,
        }
    }

    /// A 422 listing every failing field.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        ApiError::Unprocessable {
            detail: FieldError::summary(&errors),
            errors,
        }
    }

    /// A 400 with no particular field.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// The problem body for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let (detail, errors) = match self {
            ApiError::BadRequest { detail, errors }
            | ApiError::Unprocessable { detail, errors } => (detail.clone(), errors.clone()),
            ApiError::Internal(_) => (
                "the service failed to answer this request; the fault has been logged".to_owned(),
                Vec::new(),
            ),
            ApiError::Unavailable(_) => (
                format!(
                    "the database is unavailable right now; retry in {RETRY_AFTER_SECONDS} seconds"
                ),
                Vec::new(),
            ),
            other => (other.to_string(), Vec::new()),
        };
        Problem {
            r#type: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) | ApiError::QueryTimeout => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => log::error!("internal error: {cause}"),
            ApiError::Unavailable(cause) => log::warn!("database unavailable: {cause}"),
            _ => {}
        }
        let mut response = problem_response(self.problem());
        if let ApiError::TooManyRequests { retry_after, .. } = self {
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, header::HeaderValue::from(*retry_after));
            // Nothing is left until then (the edge adds `RateLimit-Limit`).
            headers.insert(
                header::HeaderName::from_static("ratelimit-remaining"),
                header::HeaderValue::from(0u32),
            );
            headers.insert(
                header::HeaderName::from_static("ratelimit-reset"),
                header::HeaderValue::from(*retry_after),
            );
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static(
                    "Bearer realm=\"citytools\", error=\"invalid_token\"",
                ),
            );
        }
        response
    }
}

/// A problem as a response, with `Retry-After` on 503.
pub fn problem_response(problem: Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string()));
    }
    response.body(serde_json::to_string(&problem).unwrap_or_default())
}

impl Problem {
    /// A problem with no field errors.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            r#type: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }
}

impl From<DieselError> for ApiError {
    fn from(error: DieselError) -> Self {
        let lost = crate::db::is_connection_lost(&error);
        match error {
            DieselError::NotFound => ApiError::NotFound("no such record".to_owned()),
            DieselError::DatabaseError(kind, info) => {
                let detail = info.message().to_owned();
                match kind {
                    DatabaseErrorKind::UniqueViolation => ApiError::Conflict(detail),
                    DatabaseErrorKind::ForeignKeyViolation | DatabaseErrorKind::CheckViolation => {
                        ApiError::Unprocessable {
                            detail,
                            errors: Vec::new(),
                        }
                    }
                    _ if lost => {
                        ApiError::Unavailable(format!("the database connection was lost: {detail}"))
                    }
                    _ if is_statement_timeout(&detail) => ApiError::QueryTimeout,
                    // The request's client went away and its statement was cancelled
                    // (`db::cancel`): nobody reads this answer.
                    _ if detail.contains("canceling statement due to user request") => {
                        ApiError::Unavailable("the request was cancelled".to_owned())
                    }
                    // A NUL in a path segment (`/boroughs/a%00b`) that reached a query: PostgreSQL
                    // text cannot hold one, so nothing can match it.
                    _ if is_nul_in_text(&detail) => ApiError::bad_request(
                        "the request holds a NUL (\\u0000) character, which no id or text can contain",
                    ),
                    _ => ApiError::Internal(format!("{kind:?}: {detail}")),
                }
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

fn is_statement_timeout(message: &str) -> bool {
    message.contains("statement timeout") || message.contains("canceling statement")
}

fn is_nul_in_text(message: &str) -> bool {
    message.contains("invalid byte sequence for encoding") && message.contains("0x00")
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        ApiError::Unavailable(format!("no database connection available: {error}"))
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Pool(error) => error.into(),
            DbError::Task(_) => ApiError::Internal(error.to_string()),
            DbError::Abandoned => ApiError::Unavailable(error.to_string()),
            DbError::Setup(error) => error.into(),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::InvalidFilter(errors) => ApiError::invalid_params(errors),
            QueryError::Database(error) => error.into(),
        }
    }
}

/// Database work for a request fails as an `ApiError`, so a handler's closures use `?` on
/// whatever the lower layers return and the handler answers with the result.
impl WorkPool for DbPool {
    type Error = ApiError;

    fn db_pool(&self) -> &DbPool {
        self
    }
}

/// As for [`DbPool`]: the pool as handlers receive it.
impl WorkPool for web::Data<DbPool> {
    type Error = ApiError;

    fn db_pool(&self) -> &DbPool {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn problem_names_every_failing_parameter() {
        let error = ApiError::invalid_params(vec![
            FieldError::new("page", "must be at least 1"),
            FieldError::new("per_page", "must be from 1 to 500"),
        ]);
        let problem = error.problem();
        assert_eq!(problem.status, 400);
        assert_eq!(problem.title, "Bad Request");
        assert_eq!(problem.errors.len(), 2);
        assert!(problem.detail.contains("page: must be at least 1"));
        assert!(problem.detail.contains("per_page"));
    }

    #[test]
    fn query_errors_keep_their_status_and_detail() {
        let invalid = QueryError::InvalidFilter(vec![FieldError::new(
            "borough",
            "unknown borough \"atlantis\"",
        )]);
        let problem = ApiError::from(invalid).problem();
        assert_eq!(problem.status, 400);
        assert_eq!(problem.detail, "borough: unknown borough \"atlantis\"");
        assert_eq!(problem.errors.len(), 1);
        let missing = ApiError::from(QueryError::Database(DieselError::NotFound));
        assert_eq!(missing.status_code(), StatusCode::NOT_FOUND);
        assert_eq!(missing.problem().detail, "no such record");
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let response = ApiError::Internal("password=hunter2".into()).error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = response.into_body().try_into_bytes().unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("hunter2"));
    }

    #[test]
    fn unavailable_says_when_to_retry() {
        let response = ApiError::Unavailable("down".into()).error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            PROBLEM_JSON
        );
    }
}
