//! The database: connection pool, migrations, the private cluster and the generated schema.

pub mod cluster;
pub mod schema;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::Settings;
use crate::error::ApiError;
use cluster::{ClusterError, ClusterOptions, LocalCluster};

/// The migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The name of the database created in the private cluster.
pub const LOCAL_DATABASE: &str = "citytools";

/// How long a request waits for a free connection before answering 503.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Any one statement is cancelled after this long, so one expensive query cannot hold a connection.
const STATEMENT_TIMEOUT_MS: u32 = 30_000;

/// Serialises migrations and first-start seeding across instances sharing one database.
const SCHEMA_LOCK_KEY: i64 = 0x6369_7479_746f_6f6c; // "citytool"

pub type DbPool = Pool<ConnectionManager<PgConnection>>;
pub type DbConn = PooledConnection<ConnectionManager<PgConnection>>;

/// Why the database could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("cannot open a connection pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("seeding failed: {0}")]
    Seed(String),
}

/// The database the service talks to: an existing server, or a private cluster it owns.
pub struct Database {
    pub url: String,
    /// Held so the private cluster stops when the database is dropped.
    pub cluster: Option<LocalCluster>,
}

impl Database {
    /// Uses `DATABASE_URL` when set; otherwise starts (and creates, the first time) a private cluster.
    pub fn open(settings: &Settings) -> Result<Database, DatabaseError> {
        match &settings.database_url {
            Some(url) => Ok(Database {
                url: url.clone(),
                cluster: None,
            }),
            None => {
                let cluster = LocalCluster::start(&ClusterOptions {
                    base_dir: settings.data_dir.clone(),
                    ephemeral: false,
                    port: None,
                })?;
                cluster.ensure_database(LOCAL_DATABASE)?;
                Ok(Database {
                    url: cluster.database_url(LOCAL_DATABASE),
                    cluster: Some(cluster),
                })
            }
        }
    }

    /// A single connection, for the CLI and start-up work.
    pub fn connect(&self) -> Result<PgConnection, DatabaseError> {
        Ok(PgConnection::establish(&self.url)?)
    }
}

/// Sets per-connection limits when the pool opens a connection. JIT compilation is off: on the
/// service's short queries it cost more than it saved (112 ms compiling a CSV export's
/// statement, 632 ms a footprint's, at a million contracts; bench/results/2026-11-28-whatif.md).
#[derive(Debug)]
struct ConnectionSetup;

impl diesel::r2d2::CustomizeConnection<PgConnection, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "SET statement_timeout = {STATEMENT_TIMEOUT_MS}; SET TIME ZONE 'UTC'; SET jit = off"
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// A pool of up to `size` connections to `url`. It opens lazily, so the service starts (and
/// answers `/readyz` with 503) even while the database is down.
pub fn pool(url: &str, size: u32) -> Result<DbPool, DatabaseError> {
    Ok(Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(CONNECTION_TIMEOUT)
        .test_on_check_out(true)
        .connection_customizer(Box::new(ConnectionSetup))
        .build_unchecked(ConnectionManager::new(url)))
}

/// Runs `work` under a session-level advisory lock, so that concurrent instances don't race.
fn with_schema_lock<T>(
    conn: &mut PgConnection,
    work: impl FnOnce(&mut PgConnection) -> Result<T, DatabaseError>,
) -> Result<T, DatabaseError> {
    diesel::sql_query(format!("SELECT pg_advisory_lock({SCHEMA_LOCK_KEY})")).execute(conn)?;
    let result = work(conn);
    diesel::sql_query(format!("SELECT pg_advisory_unlock({SCHEMA_LOCK_KEY})")).execute(conn)?;
    result
}

/// Applies every pending migration; returns how many ran.
pub fn migrate(conn: &mut PgConnection) -> Result<usize, DatabaseError> {
    with_schema_lock(conn, |conn| {
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| DatabaseError::Migration(e.to_string()))?;
        for version in &applied {
            log::info!("applied migration {version}");
        }
        Ok(applied.len())
    })
}

/// Whether every migration has been applied.
pub fn is_migrated(conn: &mut PgConnection) -> Result<bool, DatabaseError> {
    conn.has_pending_migration(MIGRATIONS)
        .map(|pending| !pending)
        .map_err(|e| DatabaseError::Migration(e.to_string()))
}

/// Migrates, then loads the seeds when the database holds no boroughs yet.
pub fn prepare(conn: &mut PgConnection) -> Result<(), DatabaseError> {
    migrate(conn)?;
    with_schema_lock(conn, |conn| {
        if crate::seed::is_empty(conn)? {
            let report = crate::seed::load(conn).map_err(|e| DatabaseError::Seed(e.to_string()))?;
            log::info!("loaded the seeds into an empty database: {report}");
        }
        Ok(())
    })
}

/// Runs blocking database work on the thread pool with a pooled connection.
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get()?;
        work(&mut conn)
    })
    .await?
}

/// Runs blocking work on a connection the caller keeps afterwards (to stream a response from it).
pub async fn run_holding<T, F>(pool: &DbPool, work: F) -> Result<(DbConn, T), ApiError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get()?;
        let value = work(&mut conn)?;
        Ok((conn, value))
    })
    .await?
}

/// How often the service folds the insight rollups' deltas into their totals.
pub const ROLLUP_COMPACTION_PERIOD: Duration = Duration::from_secs(5);

/// Folds the rollups' deltas into their totals every `period`, for as long as the service runs,
/// so that an insight reads a few thousand totals rather than every change since the start.
pub async fn keep_rollups_compact(pool: DbPool, period: Duration) {
    let mut ticks = actix_web::rt::time::interval(period);
    loop {
        ticks.tick().await;
        let result = run(&pool, |conn| Ok(crate::queries::rollups::compact(conn)?)).await;
        if let Err(error) = result {
            log::warn!("could not compact the insight rollups (will try again): {error}");
        }
    }
}
