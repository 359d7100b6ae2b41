//! `/healthz` and `/readyz`.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use std::time::Duration;

use crate::db::{self, DbPool};

/// How long `/readyz` waits for the database.
const READY_WITHIN: Duration = Duration::from_secs(3);

/// The pool `/readyz` uses when it has one of its own (as app data).
#[derive(Clone, Default)]
pub struct HealthPool(pub Option<DbPool>);
use crate::error::{ApiError, Problem};

/// The service's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// Liveness
///
/// The process is up and answering. Says nothing about the database.
#[utoipa::path(tag = "health", responses((status = 200, description = "The process is up", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

/// Readiness
///
/// The database is reachable and fully migrated: the service can answer API requests.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The database is unreachable or not migrated", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(
    pool: web::Data<DbPool>,
    own: web::Data<HealthPool>,
) -> Result<HttpResponse, ApiError> {
    let pool = own.0.as_ref().unwrap_or(&pool);
    let asked = db::run(pool, |conn| {
        db::is_migrated(conn).map_err(|e| ApiError::Unavailable(e.to_string()))
    });
    // A database that stopped answering (frozen, or a network that drops packets) is a 503
    // within a bound, not a request that hangs.
    let migrated = tokio::time::timeout(READY_WITHIN, asked)
        .await
        .map_err(|_| {
            ApiError::Unavailable(format!(
                "the database did not answer within {} s",
                READY_WITHIN.as_secs()
            ))
        })??;
    if !migrated {
        return Err(ApiError::Unavailable(
            "the database has migrations still to apply".into(),
        ));
    }
    Ok(HttpResponse::Ok().json(Health {
        status: "ready".into(),
    }))
}
