//! The public sources as `/sources` shows them: each with its latest sync run.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::models::SyncRun;

/// One run of a source's sync, finished or still going.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncSourceRun {
    /// When the run began.
    pub started_at: DateTime<Utc>,
    /// When it ended; null while it is going (or when it was killed).
    #[schema(required = true)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Pages read and committed.
    #[schema(example = 4)]
    pub pages: i32,
    /// Contracts created.
    #[schema(example = 3)]
    pub added: i32,
    /// Contracts whose stored values changed.
    #[schema(example = 1)]
    pub updated: i32,
    /// Contracts read again with the values stored.
    #[schema(example = 0)]
    pub unchanged: i32,
    /// Records left out: not London, not technology, no supplier yet, repeats.
    #[schema(example = 52)]
    pub skipped: i32,
    /// Tenders (calls for bids and plans) created.
    #[schema(example = 2)]
    pub tenders_added: i32,
    /// Tenders whose stored values changed (amendments, awards).
    #[schema(example = 1)]
    pub tenders_updated: i32,
    /// Why the run stopped before the end of the source; null when it reached the end.
    #[schema(required = true)]
    pub error: Option<String>,
    /// Where the next run starts: the next page's address, or the time a search reached.
    #[schema(example = "2026-11-30T10:00:00Z", required = true)]
    pub position: Option<String>,
}

impl From<SyncRun> for SyncSourceRun {
    fn from(run: SyncRun) -> Self {
        SyncSourceRun {
            started_at: run.started_at,
            finished_at: run.finished_at,
            pages: run.pages,
            added: run.added,
            updated: run.updated,
            unchanged: run.unchanged,
            skipped: run.skipped,
            tenders_added: run.tenders_added,
            tenders_updated: run.tenders_updated,
            error: run.error,
            position: run.position,
        }
    }
}

/// A public source contracts and tenders are synced from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncSource {
    /// `contracts-finder` or `find-a-tender`.
    #[schema(example = "contracts-finder")]
    pub name: String,
    /// Whether this instance syncs it in the background (`CITYTOOLS_SYNC`).
    pub background_sync: bool,
    /// The latest run, from `serve` or `citytools sync`; null when it was never synced.
    #[schema(required = true)]
    pub last_run: Option<SyncSourceRun>,
    /// When the latest run that reached the end of the source finished; null when none has.
    #[schema(required = true)]
    pub last_success_at: Option<DateTime<Utc>>,
}

/// Every known source.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncSources {
    /// Contracts Finder, then Find a Tender.
    pub items: Vec<SyncSource>,
}
