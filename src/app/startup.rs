//! Start-up work: a database made ready to serve, the server itself, and the upkeep it runs.

use std::time::Duration;

use actix_web::HttpServer;
use diesel::PgConnection;

use super::{build_app, AppOptions};
use crate::config::Settings;
use crate::db::{self, Database, DatabaseError, DbPool};
use crate::queries;
use crate::seed::{self, SeedError};
use crate::sync::{self, background::Turn, SourceName};
use crate::watches::{decisions, deliver, dispatch};

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

/// Syncs `sources` every `interval`, for as long as the service runs, the first time straight
/// away. Each turn runs on a blocking thread and ends before the next is due, so an instance
/// never overlaps itself; the advisory lock keeps instances from overlapping each other. A
/// failing source is logged and recorded in `sync_runs`, and never stops the service.
pub async fn keep_synced(pool: DbPool, sources: Vec<SourceName>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    // A turn longer than the interval is followed by one a whole interval later, not a burst.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let pool = pool.clone();
        let sources = sources.clone();
        let turn =
            tokio::task::spawn_blocking(move || sync::background::turn(&pool, &sources)).await;
        match turn {
            Ok(Ok(Turn::Ran(_) | Turn::Skipped)) => {}
            Ok(Err(error)) => {
                log::warn!("could not start the background sync (will try again): {error}")
            }
            Err(error) => log::warn!("the background sync stopped (will try again): {error}"),
        }
    }
}

/// How often the watches are brought up to date and their webhooks served.
pub const WATCH_PERIOD: Duration = Duration::from_secs(1);

/// Keeps the watches current for as long as the service runs: every [`WATCH_PERIOD`] the
/// change log is matched against them and due webhook deliveries are sent, and once a day
/// (checked each hour, one instance doing it) the decision windows that opened are told. Each
/// step runs on a blocking thread; a failure is logged and tried again.
pub async fn keep_watching(pool: DbPool, lead_months: u32, delivery: deliver::DeliverySettings) {
    let mut ticks = tokio::time::interval(WATCH_PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_decision_check: Option<std::time::Instant> = None;
    loop {
        ticks.tick().await;
        let decide = last_decision_check.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600));
        if decide {
            last_decision_check = Some(std::time::Instant::now());
        }
        let pool = pool.clone();
        let delivery = delivery.clone();
        let step = tokio::task::spawn_blocking(move || -> Result<(), String> {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let reader = crate::api::watches::ListFilters;
            dispatch::catch_up(&mut conn, &reader).map_err(|e| e.to_string())?;
            if decide {
                let today = chrono::Utc::now().date_naive();
                if let Some(told) = decisions::run_day(&mut conn, &reader, lead_months, today)
                    .map_err(|e| e.to_string())?
                {
                    log::info!("decision windows of {today}: {told} new watch events");
                }
            }
            drop(conn);
            deliver::turn(&pool, &delivery)?;
            Ok(())
        })
        .await;
        match step {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                log::warn!("the watches could not be served (will try again): {error}")
            }
            Err(error) => log::warn!("the watches' upkeep stopped (will try again): {error}"),
        }
    }
}

/// Serves the API on `settings.bind` from `database` (already prepared) until Ctrl-C or
/// SIGTERM, folding the rollups and syncing the sources `CITYTOOLS_SYNC` names meanwhile.
pub async fn serve(settings: &Settings, database: &Database) -> std::io::Result<()> {
    let pool = db::pool(&database.url, settings.pool_size).map_err(std::io::Error::other)?;
    let mut options = AppOptions::from_settings(settings);
    // `/readyz` has a connection of its own, so a pool taken by slow requests never makes the
    // service look down.
    options.health_pool = Some(db::pool(&database.url, 1).map_err(std::io::Error::other)?);
    actix_web::rt::spawn(keep_rollups_compact(pool.clone(), ROLLUP_COMPACTION_PERIOD));
    if !settings.sync_sources.is_empty() {
        let names: Vec<&str> = settings.sync_sources.iter().map(|s| s.as_str()).collect();
        log::info!(
            "syncing {} in the background every {:?}",
            names.join(", "),
            settings.sync_interval
        );
        actix_web::rt::spawn(keep_synced(
            pool.clone(),
            settings.sync_sources.clone(),
            settings.sync_interval,
        ));
    }
    actix_web::rt::spawn(keep_watching(
        pool.clone(),
        settings.decision_lead_months,
        deliver::DeliverySettings {
            allow_private: settings.webhook_allow_private,
            ..deliver::DeliverySettings::default()
        },
    ));
    let server = HttpServer::new(move || build_app(pool.clone(), options.clone()))
        .client_request_timeout(Duration::from_secs(settings.client_timeout_secs.into()))
        .client_disconnect_timeout(Duration::from_secs(5))
        .keep_alive(Duration::from_secs(30))
        .bind(&settings.bind)?
        // On SIGTERM or Ctrl-C, requests in flight get this long to finish.
        .shutdown_timeout(30);
    for addr in server.addrs() {
        log::info!(
            "City Tools API listening on http://{addr}: the page at http://{addr}/, the API docs at http://{addr}/docs/"
        );
    }
    // Ctrl-C and SIGTERM stop the server gracefully; the private cluster stops after it.
    let served = server.run().await;
    // The runtime waits for blocking work before exiting: a sync in progress ends at its next page.
    sync::background::stop();
    served
}
