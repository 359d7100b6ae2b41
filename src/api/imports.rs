//! `POST /imports`: the importers over HTTP, with the file as the request body.

use actix_web::http::{header, StatusCode};
use actix_web::{post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::params::{ApiQuery, QueryBool};
use crate::auth::{Actor, Caller, KeyHolder};
use crate::db::{self, DbPool};
use crate::error::{problem_response, ApiError, Problem, PROBLEM_JSON};
use crate::import::authorities::Authorities;
use crate::import::run::{ImportError, Silent};
use crate::import::{self, Format, ImportReport, Options};
use crate::models::Role;

/// Largest file accepted, in bytes (other routes keep actix's default limit).
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;

/// What to import and how.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The file's format.
    #[param(value_type = Format)]
    pub format: Format,
    /// `true` to check the file and report what would change, writing nothing.
    #[param(value_type = Option<bool>)]
    pub dry_run: Option<QueryBool>,
    /// A register's borough (slug, GSS code or name): required for registers, except with a
    /// borough key, whose borough it is. A survey's rows must then all be this borough's; from
    /// Contracts Finder and OCDS files, only this borough's contracts are imported.
    #[param(example = "camden")]
    pub borough: Option<String>,
    /// `true` to keep contracts that are not technology.
    #[param(value_type = Option<bool>)]
    pub all: Option<QueryBool>,
}

/// A form upload of a file (`multipart/form-data`).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ImportForm {
    /// The file: CSV or JSON, as `format` says.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
}

/// The report of a file that failed, as an RFC 9457 problem: nothing was written.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportFailure {
    #[schema(example = "about:blank")]
    pub r#type: String,
    #[schema(example = "Unprocessable Entity")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    /// What failed, in words.
    #[schema(example = "2 rows failed; nothing was written")]
    pub detail: String,
    #[serde(flatten)]
    pub report: ImportReport,
}

/// The 413 of a file larger than [`MAX_FILE_BYTES`].
fn too_large() -> HttpResponse {
    problem_response(Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the file is larger than {} MB; split it, or import it with `citytools import`",
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    ))
}

/// A 400 saying what was wrong with the body.
fn unreadable(what: impl std::fmt::Display) -> HttpResponse {
    problem_response(Problem::new(StatusCode::BAD_REQUEST, what.to_string()))
}

/// Appends the chunks of `stream` to `body`, up to [`MAX_FILE_BYTES`] in all.
async fn read_into<S, E>(body: &mut Vec<u8>, mut stream: S) -> Result<(), HttpResponse>
where
    S: futures_util::Stream<Item = Result<web::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| unreadable(format!("the request body could not be read: {e}")))?;
        if body.len() + chunk.len() > MAX_FILE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(())
}

/// The file: the request body itself, or the field `file` of a form upload
/// (`multipart/form-data`, as a browser's form or a generated client sends it); at most
/// [`MAX_FILE_BYTES`] either way.
async fn read_file(req: &HttpRequest, payload: web::Payload) -> Result<Vec<u8>, HttpResponse> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_FILE_BYTES) {
        return Err(too_large());
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(MAX_FILE_BYTES));
    if !is_form {
        read_into(&mut body, payload).await?;
        return Ok(body);
    }
    let mut form = actix_multipart::Multipart::new(req.headers(), payload);
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| unreadable(format!("the form could not be read: {e}")))?;
        if field.name() == Some("file") {
            read_into(&mut body, field).await?;
            return Ok(body);
        }
        // Other fields are read past.
        while let Some(chunk) = field.next().await {
            chunk.map_err(|e| unreadable(format!("the form could not be read: {e}")))?;
        }
    }
    Err(unreadable(
        "the form has no field named `file`: send the file in a field named file \
         (curl -F file=@contracts.csv), or as the request body (curl --data-binary @contracts.csv)",
    ))
}

/// Import a file of contracts
///
/// The file is the request body (`curl --data-binary @file`), or the field `file` of a form
/// upload (`multipart/form-data`: `curl -F file=@file`, a browser's form, a generated client): a
/// City Tools survey, a council's contract register or a Contracts Finder export as CSV, or an
/// OCDS release or record package as JSON. The file is one transaction: a single bad row means nothing from it is written. Contracts are keyed
/// on their source and source reference, so importing the same file again changes nothing.
///
/// An admin key imports every format for any borough; a borough key imports its own borough's
/// survey or register. The answer is the import's report: 200 when the file was imported (or,
/// in a dry run, would be), 422 with the same report as a problem when the file or any row is
/// in error.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(
        description = "The file itself (at most 50 MB)",
        content((String = "text/csv"), (Object = "application/json"), (ImportForm = "multipart/form-data")),
    ),
    responses(
        (status = 200, description = "Imported, or checked in a dry run: what was (or would be) created, updated, left unchanged and skipped", body = ImportReport),
        (status = 400, description = "A missing or unknown parameter or borough, an empty body, or a form without a `file` field", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or a malformed, unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A reader key, or a borough key for another borough or for Contracts Finder or OCDS data", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is larger than 50 MB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The file cannot be read, or rows are in error: nothing was written; the report lists every error", body = ImportFailure, content_type = "application/problem+json"),
        (status = 429, description = "Another import with the same key is running: one key's imports go one at a time; try again when it has finished (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/imports")]
pub async fn import_contracts(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    caller: Caller,
    query: ApiQuery<ImportQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let (holder, own_borough) = importer(&caller, query.format)?;
    let bytes = match read_file(&req, payload).await {
        Ok(bytes) => bytes,
        Err(response) => return Ok(response),
    };
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the request body is empty: send the file as the body (curl --data-binary @file.csv)",
        ));
    }
    let actor = Actor {
        kind: "import",
        key_id: None,
        name: format!(
            "{} (key {}), {} import",
            holder.name, holder.key_id, query.format
        ),
    };
    let key_id = holder.key_id;
    let limits = match holder.role {
        Role::Admin => import::Limits::default(),
        _ => import::Limits::BOROUGH,
    };
    let report = db::run(&pool, move |conn| {
        let options = Options {
            format: query.format,
            borough: import_borough(conn, own_borough, query.borough, query.format)?,
            dry_run: query.dry_run.is_some_and(|b| b.0),
            all: query.all.is_some_and(|b| b.0),
            file_name: None,
            limits,
        };
        one_at_a_time(conn, key_id, |conn| {
            Ok(import::run(conn, &options, &bytes, &actor, &Silent)?)
        })
    })
    .await?;
    import_response(report)
}

/// Runs `work` unless another import of key `key_id` is running, on any instance (a session
/// advisory lock): a 429 then. One key's imports go one at a time, so no key can tie up
/// memory, connections and locks with many at once.
fn one_at_a_time<T>(
    conn: &mut diesel::PgConnection,
    key_id: i64,
    work: impl FnOnce(&mut diesel::PgConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    use diesel::sql_types::{BigInt, Bool};
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Bool)]
        locked: bool,
    }
    let lock = IMPORT_LOCK_BASE + key_id;
    let locked: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<BigInt, _>(lock)
        .get_result(conn)?;
    if !locked.locked {
        return Err(ApiError::TooManyRequests {
            detail: "another import by this key is running; a key imports one file at a time, \
                     so send the next when it has finished"
                .into(),
            retry_after: 10,
        });
    }
    // Let go of the lock however `work` ends, a panic included, so the connection goes back
    // to the pool without it.
    struct Unlock<'c>(&'c mut diesel::PgConnection, i64);
    impl Drop for Unlock<'_> {
        fn drop(&mut self) {
            let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<BigInt, _>(self.1)
                .execute(self.0);
            if let Err(error) = unlocked {
                log::warn!("could not release an import's lock: {error}");
            }
        }
    }
    let held = Unlock(conn, lock);
    work(&mut *held.0)
}

/// The advisory locks of imports in progress: this plus the key's id ("imports" in ASCII, high).
const IMPORT_LOCK_BASE: i64 = 0x696d_706f_0000_0000;

/// The key holder who may import `format`, and the borough a borough key is bound to: 403 for a
/// reader key, or a borough key importing data that is not its own borough's.
fn importer(caller: &Caller, format: Format) -> Result<(KeyHolder, Option<String>), ApiError> {
    caller.require_contract_writer()?;
    let Caller::Key(holder) = caller else {
        return Err(ApiError::Internal("a writer without a key".into()));
    };
    let own_borough = match holder.role {
        Role::Admin => None,
        _ if !format.is_borough_data() => {
            return Err(ApiError::Forbidden(format!(
                "a borough key imports its own borough's survey or contract register; {format} files need an admin key"
            )))
        }
        _ => holder.borough_id.clone(),
    };
    Ok((holder.clone(), own_borough))
}

/// The borough an import is for: a borough key's own (403 when another is named), or the one
/// named; a contract register needs one (400).
fn import_borough(
    conn: &mut diesel::PgConnection,
    own: Option<String>,
    given: Option<String>,
    format: Format,
) -> Result<Option<String>, ApiError> {
    let borough = match (own, given) {
        (None, given) => given,
        (Some(own), None) => Some(own),
        (Some(own), Some(given)) => {
            let asked = Authorities::load(conn)?.resolve(&given).map(str::to_owned);
            if asked.as_deref() != Some(own.as_str()) {
                return Err(ApiError::Forbidden(format!(
                    "this key imports {own}'s contracts only, not {given}'s"
                )));
            }
            Some(own)
        }
    };
    if format == Format::ContractsRegister && borough.is_none() {
        return Err(ApiError::invalid_param(
            "borough",
            "a contract register needs borough=<slug, GSS code or name>",
        ));
    }
    Ok(borough)
}

/// 200 with the report, or a 422 problem that carries it when anything failed.
fn import_response(report: ImportReport) -> Result<HttpResponse, ApiError> {
    if report.succeeded() {
        return Ok(HttpResponse::Ok().json(report));
    }
    let detail = match &report.file_error {
        Some(error) => error.message.clone(),
        None => format!(
            "{} record{} failed; nothing was written",
            report.failed,
            if report.failed == 1 { "" } else { "s" }
        ),
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    let body = ImportFailure {
        r#type: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail,
        report,
    };
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .body(serde_json::to_string(&body).map_err(|e| ApiError::Internal(e.to_string()))?))
}

impl From<ImportError> for ApiError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::UnknownBorough(_) => ApiError::invalid_param("borough", error.to_string()),
            ImportError::Vanished(detail) => ApiError::Internal(detail),
            ImportError::Database(error) => error.into(),
        }
    }
}
