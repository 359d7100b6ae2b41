//! The sync runs: written by `crate::sync` a page at a time, read by `/api/v1/sources` and by the
//! next run, which continues from the last one's position.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::dsl::max;
use diesel::prelude::*;

use crate::db::schema::sync_runs;
use diesel::sql_types::Text;

use crate::models::{NewSyncRun, SyncRun};

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

/// The position the last run of `source` left, if any.
pub fn stored_position(conn: &mut PgConnection, source: &str) -> QueryResult<Option<String>> {
    sync_runs::table
        .filter(sync_runs::source.eq(source))
        .filter(sync_runs::position.is_not_null())
        .order(sync_runs::id.desc())
        .select(sync_runs::position)
        .first::<Option<String>>(conn)
        .optional()
        .map(Option::flatten)
}

/// Starts a run of `source`; returns its id.
pub fn start(conn: &mut PgConnection, source: &str) -> QueryResult<i64> {
    diesel::insert_into(sync_runs::table)
        .values(NewSyncRun {
            source: source.to_owned(),
            started_at: Utc::now(),
        })
        .returning(sync_runs::id)
        .get_result(conn)
}

/// Has the contract writes of the rest of this transaction stamped with run `run_id` and the
/// time its page was read (the `sync_runs` migration's trigger reads these settings).
pub fn stamp_writes(
    conn: &mut PgConnection,
    run_id: i64,
    retrieved_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "SELECT set_config('citytools.sync_run_id', $1, true), \
                set_config('citytools.retrieved_at', $2, true)",
    )
    .bind::<Text, _>(run_id.to_string())
    .bind::<Text, _>(retrieved_at.to_rfc3339())
    .execute(conn)?;
    Ok(())
}

/// What a committed page did to the contracts and tenders.
#[derive(Debug, Clone, Copy)]
pub struct PageCounts {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub skipped: usize,
    pub tenders_added: usize,
    pub tenders_updated: usize,
}

/// Adds a committed page to run `run_id`, with the position the next run starts from; in the
/// page's own transaction.
pub fn add_page(
    conn: &mut PgConnection,
    run_id: i64,
    page: PageCounts,
    position: &str,
) -> QueryResult<()> {
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    diesel::update(sync_runs::table.find(run_id))
        .set((
            sync_runs::pages.eq(sync_runs::pages + 1),
            sync_runs::added.eq(sync_runs::added + count(page.added)),
            sync_runs::updated.eq(sync_runs::updated + count(page.updated)),
            sync_runs::unchanged.eq(sync_runs::unchanged + count(page.unchanged)),
            sync_runs::skipped.eq(sync_runs::skipped + count(page.skipped)),
            sync_runs::tenders_added.eq(sync_runs::tenders_added + count(page.tenders_added)),
            sync_runs::tenders_updated.eq(sync_runs::tenders_updated + count(page.tenders_updated)),
            sync_runs::position.eq(position),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends run `run_id`: now, with why it stopped early (None when it read to the end).
pub fn finish(conn: &mut PgConnection, run_id: i64, error: Option<&str>) -> QueryResult<()> {
    diesel::update(sync_runs::table.find(run_id))
        .set((
            sync_runs::finished_at.eq(Some(Utc::now())),
            sync_runs::error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}
