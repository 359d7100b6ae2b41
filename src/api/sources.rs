//! `/sources`: the public sources the service syncs from, and how their last runs went.

use actix_web::{get, web, HttpResponse};

use super::docs::{ReadErrors, UnexpectedQuery};
use super::params::{ApiQuery, NoQuery};
use crate::auth::Caller;
use crate::db::{self, DbPool};
use crate::error::ApiError;
use crate::queries::sync_runs::{self as query, SourceRuns};
use crate::representations::sync_source::{SyncSource, SyncSourceRun, SyncSources};
use crate::sync::SourceName;

/// The sources this instance syncs in the background (`CITYTOOLS_SYNC`), as app data.
#[derive(Debug, Clone, Default)]
pub struct BackgroundSync(pub Vec<SourceName>);

/// List the public sources
///
/// Contracts Finder and Find a Tender: whether this instance syncs each in the background, and
/// how its latest sync run went (pages, contracts added, updated, unchanged and skipped, the
/// error that stopped it, where the next run starts) with the time of the last one that read
/// to the end.
#[utoipa::path(
    tag = "sources",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Every source, with its latest run", body = SyncSources),
        ReadErrors, UnexpectedQuery,
    )
)]
#[get("/sources")]
pub async fn list_sources(
    pool: web::Data<DbPool>,
    background: web::Data<BackgroundSync>,
    _caller: Caller,
    _query: ApiQuery<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let names = SourceName::ALL.map(SourceName::as_str);
    let rows = db::run(&pool, move |conn| Ok(query::latest(conn, &names)?)).await?;
    let items = rows
        .into_iter()
        .map(|row: SourceRuns| SyncSource {
            background_sync: background
                .0
                .iter()
                .any(|source| source.as_str() == row.source),
            name: row.source,
            last_run: row.last_run.map(SyncSourceRun::from),
            last_success_at: row.last_success_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(SyncSources { items }))
}
