use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::sync_runs;

/// One run of `citytools sync` against one public source: what it did and where it got to.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sync_runs, check_for_backend(diesel::pg::Pg))]
pub struct SyncRun {
    /// The run's number, named in its change-log entries.
    pub id: i64,
    /// `contracts-finder` or `find-a-tender`.
    pub source: String,
    /// When the run began.
    pub started_at: DateTime<Utc>,
    /// Null while the run is going, or when it was killed.
    pub finished_at: Option<DateTime<Utc>>,
    /// Pages committed.
    pub pages: i32,
    /// Contracts created.
    pub added: i32,
    /// Contracts whose stored values changed.
    pub updated: i32,
    /// Contracts read again with the same values.
    pub unchanged: i32,
    /// Records left out (not London, not technology, no supplier yet, repeats).
    pub skipped: i32,
    /// Why the run stopped before the end of the source; null when it reached the end.
    pub error: Option<String>,
    /// Where the next run starts: a `links.next` URL, or the RFC 3339 time a search reached.
    pub position: Option<String>,
    /// Tenders created.
    pub tenders_added: i32,
    /// Tenders whose stored values changed.
    pub tenders_updated: i32,
}

/// A run as it starts.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sync_runs)]
pub struct NewSyncRun {
    /// `contracts-finder` or `find-a-tender`.
    pub source: String,
    /// When the run began.
    pub started_at: DateTime<Utc>,
}
