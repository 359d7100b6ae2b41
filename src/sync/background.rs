//! The background sync of `serve`: each named source read from its stored position, as
//! `citytools sync {source}` does, by one instance at a time.
//!
//! Instances sharing a database take turns through a session advisory lock: an instance that
//! finds it held skips its turn rather than waiting, as the holder is doing the same work.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use super::{describe, from_stored_position, SourceName};
use crate::db::{DbConn, DbPool};

/// The advisory lock key of the background sync ("citysync"), apart from the schema lock's.
pub const SYNC_LOCK_KEY: i64 = 0x6369_7479_7379_6e63;

/// Set when the service is shutting down, so a turn ends at the next page rather than holding
/// the exit until it reads to the end of the source.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Asks a turn in progress to stop before its next page (its committed pages stay), and
/// later turns not to start.
pub fn stop() {
    STOPPING.store(true, Ordering::SeqCst);
}

/// Whether [`stop`] was called.
pub fn is_stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// What one turn of the background sync did.
#[derive(Debug)]
pub enum Turn {
    /// Another instance held the lock: nothing was read.
    Skipped,
    /// Each source in order, with its summary or why it could not start.
    Ran(Vec<(SourceName, Result<super::SyncSummary, String>)>),
}

/// A pooled connection holding [`SYNC_LOCK_KEY`]; dropping it lets the lock go, so that a
/// panic in a sync does not hand a connection still holding the lock back to the pool.
struct Held(DbConn);

impl Deref for Held {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.0
    }
}

impl DerefMut for Held {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.0
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
            .bind::<BigInt, _>(SYNC_LOCK_KEY)
            .execute(&mut *self.0);
        if let Err(error) = unlocked {
            log::warn!("could not release the background sync lock: {error}");
        }
    }
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Takes the lock on a connection of its own, or `None` when another session holds it.
fn try_lock(pool: &DbPool) -> Result<Option<Held>, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let taken = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<BigInt, _>(SYNC_LOCK_KEY)
        .get_result::<Locked>(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(taken.locked.then_some(Held(conn)))
}

/// One turn, blocking: syncs each of `sources` in order under the lock, or skips when another
/// instance holds it. A source that fails is logged and recorded in `sync_runs`; the others
/// still run. Err only when the lock could not be asked for (no database).
pub fn turn(pool: &DbPool, sources: &[SourceName]) -> Result<Turn, String> {
    if is_stopping() {
        return Ok(Turn::Skipped);
    }
    let Some(mut held) = try_lock(pool)? else {
        log::debug!("background sync skipped: another instance is syncing");
        return Ok(Turn::Skipped);
    };
    let mut done = Vec::with_capacity(sources.len());
    for &source in sources {
        let outcome = from_stored_position(&mut held, source);
        match &outcome {
            Ok(summary) if summary.error.is_none() => log::info!("{}", describe(summary)),
            Ok(summary) => log::warn!("background {}", describe(summary)),
            Err(error) => log::warn!("background sync of {} failed: {error}", source.as_str()),
        }
        done.push((source, outcome));
    }
    drop(held);
    Ok(Turn::Ran(done))
}
