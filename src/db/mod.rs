//! The database: connection pool, migrations, the private cluster and the generated schema.

mod cancel;
pub mod cluster;
pub mod reference;
pub mod schema;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::r2d2::{ConnectionManager, ManageConnection, Pool, PooledConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use cluster::{ClusterError, ClusterOptions, LocalCluster};

/// The migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The name of the database created in the private cluster.
pub const LOCAL_DATABASE: &str = "citytools";

/// How long a request waits for a free connection before answering 503.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Any one statement is cancelled after this long, so one expensive query cannot hold a connection.
const STATEMENT_TIMEOUT_MS: u32 = 30_000;

tokio::task_local! {
    /// The statement timeout of the request being served, when it is not the default: the
    /// statements of blocking work started within [`with_statement_timeout`] run under it.
    static STATEMENT_TIMEOUT: u32;
}

/// Runs `future` (a request) with its database work under a statement timeout of `ms`.
pub async fn with_statement_timeout<F: std::future::Future>(ms: u32, future: F) -> F::Output {
    STATEMENT_TIMEOUT.scope(ms, future).await
}

/// Serialises migrations and first-start seeding across instances sharing one database.
const SCHEMA_LOCK_KEY: i64 = 0x6369_7479_746f_6f6c; // "citytool"

/// The connection pool the service shares between requests.
pub type DbPool = Pool<Manager>;
/// A connection taken from the pool, returned to it when dropped.
pub type DbConn = PooledConnection<Manager>;

/// Why the database could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The private cluster could not be made or started.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// No connection could be opened.
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// The pool could not give a connection.
    #[error("cannot open a connection pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// A statement failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// A migration failed, or the applied ones could not be read.
    #[error("migrations failed: {0}")]
    Migration(String),
}

/// The database the service talks to: an existing server, or a private cluster it owns.
pub struct Database {
    /// The connection URL, for the pool and single connections.
    pub url: String,
    /// Held so the private cluster stops when the database is dropped.
    pub cluster: Option<LocalCluster>,
}

impl Database {
    /// Uses the database at `url` when given; otherwise starts (and creates, the first time) a
    /// private cluster under `data_dir`.
    pub fn open(url: Option<&str>, data_dir: &Path) -> Result<Database, DatabaseError> {
        match url {
            Some(url) => Ok(Database {
                url: url.to_owned(),
                cluster: None,
            }),
            None => {
                let cluster = LocalCluster::start(&ClusterOptions {
                    base_dir: data_dir.to_path_buf(),
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
///
/// A connection is not tested when it is taken (that would be a `SELECT 1` round trip before
/// every request); instead, one whose server went away is noticed by the statement that fails
/// on it, and the pool drops it when it comes back (see [`Manager`]).
pub fn pool(url: &str, size: u32) -> Result<DbPool, DatabaseError> {
    Ok(Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(CONNECTION_TIMEOUT)
        .test_on_check_out(false)
        .connection_customizer(Box::new(ConnectionSetup))
        .build_unchecked(Manager {
            connections: ConnectionManager::new(url),
            url: url.into(),
            reference: reference::ReferenceCache::new(url),
        }))
}

/// Opens the pool's connections, each with a [`ConnectionWatch`], and tells the pool to drop
/// one that lost its server.
#[derive(Debug)]
pub struct Manager {
    connections: ConnectionManager<PgConnection>,
    /// Where the connections go, for cancelling their statements from another.
    url: Arc<str>,
    /// The pool's cache of the reference tables, reached from its connections.
    reference: Arc<reference::ReferenceCache>,
}

impl ManageConnection for Manager {
    type Connection = PgConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConnection, Self::Error> {
        let mut conn = self.connections.connect()?;
        let pid: i32 = diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>(
            "pg_backend_pid()",
        ))
        .get_result(&mut conn)?;
        conn.set_instrumentation(ConnectionWatch {
            lost: false,
            statements: 0,
            timeout_ms: STATEMENT_TIMEOUT_MS,
            backend: cancel::Backend {
                pid,
                url: self.url.clone(),
            },
            reference: self.reference.clone(),
        });
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), Self::Error> {
        self.connections.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        let lost = watch_of(conn).is_some_and(|watch| watch.lost);
        lost || self.connections.has_broken(conn)
    }
}

/// What a pooled connection carries beside itself: whether a statement failed because its
/// server went away (stopped, restarted, or the connection was cut), and its pool's
/// [`reference::ReferenceCache`].
#[derive(Debug)]
struct ConnectionWatch {
    lost: bool,
    /// How many statements the connection has run.
    statements: u64,
    /// The connection's `statement_timeout`, as last set.
    timeout_ms: u32,
    /// The server process behind the connection.
    backend: cancel::Backend,
    reference: Arc<reference::ReferenceCache>,
}

impl Instrumentation for ConnectionWatch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery { error, .. } = event {
            self.statements += 1;
            self.lost |= error.is_some_and(is_connection_lost);
        }
    }
}

/// Sets the connection's `statement_timeout` to `ms` when it is not that already (a pool's
/// connection knows; any other is set every time).
fn set_statement_timeout(conn: &mut PgConnection, ms: u32) -> diesel::QueryResult<()> {
    let current = conn
        .instrumentation()
        .downcast_ref::<ConnectionWatch>()
        .map(|watch| watch.timeout_ms);
    if current == Some(ms) {
        return Ok(());
    }
    conn.batch_execute(&format!("SET statement_timeout = {ms}"))?;
    if let Some(watch) = conn.instrumentation().downcast_mut::<ConnectionWatch>() {
        watch.timeout_ms = ms;
    }
    Ok(())
}

/// How many statements a connection from a pool has run (each one a round trip); None for a
/// connection from outside a pool.
pub fn statements_run(conn: &mut PgConnection) -> Option<u64> {
    watch_of(conn).map(|watch| watch.statements)
}

/// The watch of a connection the pool opened; None for any other connection.
fn watch_of(conn: &mut PgConnection) -> Option<&ConnectionWatch> {
    conn.instrumentation().downcast_ref::<ConnectionWatch>()
}

/// Whether `error` says the connection to the server is gone (rather than that the statement
/// was wrong): the server was stopped or restarted, or the connection was cut.
pub fn is_connection_lost(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        DieselError::DatabaseError(_, info) => {
            let message = info.message();
            [
                "terminating connection",
                "server closed the connection",
                "no connection to the server",
                "connection to server",
                "the database system is shutting down",
                "the database system is starting up",
                "could not receive data",
                "could not send data",
            ]
            .iter()
            .any(|pattern| message.contains(pattern))
        }
        _ => false,
    }
}

/// Runs `work` under a session-level advisory lock, so that concurrent instances don't race
/// (migrations here, first-start seeding at start-up).
pub fn with_schema_lock<T, E: From<diesel::result::Error>>(
    conn: &mut PgConnection,
    work: impl FnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E> {
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

/// Why blocking work on the pool did not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection came free within the pool's timeout, or a new one could not be opened.
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// The blocking task panicked or was cancelled.
    #[error("blocking task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The request went away before a connection came free; the work was not started.
    #[error("the request went away before a connection was free")]
    Abandoned,
    /// The connection could not be given the request's statement timeout.
    #[error("cannot set the statement timeout: {0}")]
    Setup(#[from] diesel::result::Error),
}

/// A pool that blocking work runs on, and the error that work reports. The layer that holds
/// the pool chooses the error (the API answers with its own), so this module needs to know
/// none of them, and a closure's `?` converts into that one type.
pub trait WorkPool {
    /// What failed work is reported as: the closure's own errors and the pool's [`DbError`].
    type Error: From<DbError> + Send + 'static;

    /// The pool the work takes a connection from.
    fn db_pool(&self) -> &DbPool;
}

/// Runs blocking database work on the blocking thread pool with a pooled connection.
pub async fn run<P, T, F>(pool: &P, work: F) -> Result<T, P::Error>
where
    P: WorkPool,
    F: FnOnce(&mut PgConnection) -> Result<T, P::Error> + Send + 'static,
    T: Send + 'static,
{
    with_connection(pool, work).await.map(|(_, value)| value)
}

/// Runs blocking work on a connection the caller keeps afterwards (to stream a response from it).
pub async fn run_holding<P, T, F>(pool: &P, work: F) -> Result<(DbConn, T), P::Error>
where
    P: WorkPool,
    F: FnOnce(&mut PgConnection) -> Result<T, P::Error> + Send + 'static,
    T: Send + 'static,
{
    with_connection(pool, work).await
}

/// Takes a connection and runs `work` with it on the blocking thread pool, so that neither
/// waiting for a connection nor the query holds up the async workers. When the request is
/// dropped first (its client went away), the work's statement is cancelled, or the work is not
/// started if it was still waiting for a connection.
async fn with_connection<P, T, F>(pool: &P, work: F) -> Result<(DbConn, T), P::Error>
where
    P: WorkPool,
    F: FnOnce(&mut PgConnection) -> Result<T, P::Error> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.db_pool().clone();
    let timeout = STATEMENT_TIMEOUT
        .try_with(|ms| *ms)
        .unwrap_or(STATEMENT_TIMEOUT_MS);
    let (watch, worker) = cancel::watch();
    let done = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(DbError::from)?;
        set_statement_timeout(&mut conn, timeout).map_err(DbError::from)?;
        let backend = watch_of(&mut conn).map(|watch| watch.backend.clone());
        let Some(running) = worker.start(backend) else {
            return Err(DbError::Abandoned.into());
        };
        let value = work(&mut conn);
        // Before the connection can go back to the pool: a cancellation in flight lands first.
        drop(running);
        Ok((conn, value?))
    })
    .await;
    watch.disarm();
    done.map_err(DbError::from)?
}
