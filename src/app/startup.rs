//! Start-up work: a database made ready to serve, the server itself, and the upkeep it runs.

use std::time::Duration;

use actix_web::HttpServer;
use diesel::PgConnection;

use super::{build_app, AppOptions};
use crate::config::Settings;
use crate::db::{self, Database, DatabaseError, DbPool};
use crate::queries;
use crate::seed::{self, SeedError};

/// How often the service folds the insight rollups' deltas into their totals.
pub const ROLLUP_COMPACTION_PERIOD: Duration = Duration::from_secs(5);

/// Why the database could not be made ready to serve.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Connecting, migrating or a query failed.
    #[error(transparent)]
    Database(#[from] DatabaseError),
    /// The embedded seeds could not be loaded.
    #[error("seeding failed: {0}")]
    Seed(#[from] SeedError),
}

impl From<diesel::result::Error> for StartupError {
    fn from(error: diesel::result::Error) -> Self {
        StartupError::Database(error.into())
    }
}

/// Migrates, then loads the seeds, illustrative contracts included, when the database holds no
/// boroughs yet, so a first start serves data without a separate `seed` command.
pub fn prepare(conn: &mut PgConnection) -> Result<(), StartupError> {
    prepare_with(conn, true)
}

/// As [`prepare`], with the illustrative contracts seeded only when `sample_data` is true
/// (`CITYTOOLS_SAMPLE_DATA`); the catalogue is seeded either way.
pub fn prepare_with(conn: &mut PgConnection, sample_data: bool) -> Result<(), StartupError> {
    db::migrate(conn)?;
    db::with_schema_lock(conn, |conn| {
        if seed::is_empty(conn)? {
            let report = seed::load_with(conn, sample_data)?;
            let without = if sample_data {
                ""
            } else {
                " (without the illustrative contracts: CITYTOOLS_SAMPLE_DATA=false)"
            };
            log::info!("loaded the seeds{without} into an empty database: {report}");
        }
        Ok(())
    })
}

/// Folds the rollups' deltas into their totals every `period`, for as long as the service runs,
/// so that an insight reads a few thousand totals rather than every change since the start.
pub async fn keep_rollups_compact(pool: DbPool, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        let result = db::run(&pool, |conn| Ok(queries::rollups::compact(conn)?)).await;
        if let Err(error) = result {
            log::warn!("could not compact the insight rollups (will try again): {error}");
        }
    }
}

/// Serves the API on `settings.bind` from `database` (already prepared) until Ctrl-C or
/// SIGTERM, folding the rollups meanwhile.
pub async fn serve(settings: &Settings, database: &Database) -> std::io::Result<()> {
    let pool = db::pool(&database.url, settings.pool_size).map_err(std::io::Error::other)?;
    let options = AppOptions::from_settings(settings);
    actix_web::rt::spawn(keep_rollups_compact(pool.clone(), ROLLUP_COMPACTION_PERIOD));
    let server = HttpServer::new(move || build_app(pool.clone(), options.clone()))
        .client_request_timeout(Duration::from_secs(settings.client_timeout_secs.into()))
        .client_disconnect_timeout(Duration::from_secs(5))
        .keep_alive(Duration::from_secs(30))
        .bind(&settings.bind)?
        // On SIGTERM or Ctrl-C, requests in flight get this long to finish.
        .shutdown_timeout(30);
    for addr in server.addrs() {
        log::info!("City Tools API listening on http://{addr} (docs at http://{addr}/docs/)");
    }
    // Ctrl-C and SIGTERM stop the server gracefully; the private cluster stops after it.
    server.run().await
}
