//! The sync runs as `/api/v1/sources` reads them (`crate::sync` writes them).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::dsl::max;
use diesel::prelude::*;

use crate::db::schema::sync_runs;
use crate::models::SyncRun;

/// One source's latest run and the last time a run of it reached the end.
#[derive(Debug, Clone)]
pub struct SourceRuns {
    /// The source's name, as `sync_runs.source` has it.
    pub source: String,
    /// The run started last, finished or not; `None` when the source was never synced.
    pub last_run: Option<SyncRun>,
    /// When the latest run without error finished.
    pub last_success_at: Option<DateTime<Utc>>,
}

/// The latest run and last success of each of `sources`, in the order given.
pub fn latest(conn: &mut PgConnection, sources: &[&str]) -> QueryResult<Vec<SourceRuns>> {
    // Ids rise with time, so the highest id is the run started last.
    let mut runs: BTreeMap<String, SyncRun> = sync_runs::table
        .filter(sync_runs::source.eq_any(sources))
        .distinct_on(sync_runs::source)
        .order((sync_runs::source, sync_runs::id.desc()))
        .select(SyncRun::as_select())
        .load(conn)?
        .into_iter()
        .map(|run| (run.source.clone(), run))
        .collect();
    let mut successes: BTreeMap<String, Option<DateTime<Utc>>> = sync_runs::table
        .filter(sync_runs::source.eq_any(sources))
        .filter(sync_runs::error.is_null())
        .filter(sync_runs::finished_at.is_not_null())
        .group_by(sync_runs::source)
        .select((sync_runs::source, max(sync_runs::finished_at)))
        .load::<(String, Option<DateTime<Utc>>)>(conn)?
        .into_iter()
        .collect();
    Ok(sources
        .iter()
        .map(|&source| SourceRuns {
            source: source.to_owned(),
            last_run: runs.remove(source),
            last_success_at: successes.remove(source).flatten(),
        })
        .collect())
}
