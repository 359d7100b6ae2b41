//! The matcher: the change log, read from the watches' cursor, turned into events.

use std::collections::HashSet;

use chrono::Utc;
use diesel::{Connection, PgConnection, QueryResult};

use super::{Matcher, ReadFilters, Watched};
use crate::queries::watches::{self as query, ChangeRow, NewWatchEvent, Watch};

/// Change-log entries read per transaction.
const BATCH: i64 = 2000;

/// What one catch-up did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaughtUp {
    /// Change-log entries read.
    pub changes: usize,
    /// Events made.
    pub events: usize,
}

/// Reads the change log from the cursor to its end, a batch per transaction, making the events
/// of every live watch. Instances take turns: the cursor row is locked for each batch.
pub fn catch_up(conn: &mut PgConnection, reader: &dyn ReadFilters) -> QueryResult<CaughtUp> {
    let mut total = CaughtUp::default();
    loop {
        let batch = conn.transaction(|conn| one_batch(conn, reader))?;
        total.changes += batch.changes;
        total.events += batch.events;
        if batch.changes < BATCH as usize {
            return Ok(total);
        }
    }
}

fn one_batch(conn: &mut PgConnection, reader: &dyn ReadFilters) -> QueryResult<CaughtUp> {
    let cursor = query::lock_cursor(conn)?;
    let changes = query::changes_after(conn, cursor, BATCH)?;
    let Some(last) = changes.last().map(|c| c.0) else {
        return Ok(CaughtUp::default());
    };
    let mut events = Vec::new();
    let mut with_webhook = HashSet::new();
    for watched in [Watched::Contracts, Watched::Tenders] {
        let relevant: Vec<&ChangeRow> = changes
            .iter()
            .filter(|c| c.2 == watched.as_str() && watched.event(&c.4).is_some())
            .collect();
        if relevant.is_empty() {
            continue;
        }
        let watches = query::live(conn, watched.as_str())?;
        for watch in &watches {
            let made = events_of(conn, reader, watched, watch, &relevant)?;
            if watch.webhook_url.is_some() && !made.is_empty() {
                with_webhook.insert(watch.id);
            }
            events.extend(made);
        }
    }
    let added = query::add_events(conn, &events, &with_webhook)?;
    query::set_cursor(conn, last)?;
    Ok(CaughtUp {
        changes: changes.len(),
        events: added,
    })
}

/// The events `changes` make for one watch: those after it was made, of records its filters
/// match now (a record changed again since is matched as it is now, and told again with its
/// next change).
fn events_of(
    conn: &mut PgConnection,
    reader: &dyn ReadFilters,
    watched: Watched,
    watch: &Watch,
    changes: &[&ChangeRow],
) -> QueryResult<Vec<NewWatchEvent>> {
    let after_watch: Vec<&&ChangeRow> = changes
        .iter()
        .filter(|c| c.0 > watch.from_change_id)
        .collect();
    if after_watch.is_empty() {
        return Ok(Vec::new());
    }
    let matcher: Matcher = match reader.read(conn, watched, &watch.filters, Utc::now().date_naive())
    {
        Ok(matcher) => matcher,
        Err(why) => {
            log::warn!(
                "watch {} is skipped: its filters no longer hold: {why}",
                watch.id
            );
            return Ok(Vec::new());
        }
    };
    let ids: Vec<i64> = after_watch
        .iter()
        .filter_map(|c| c.3.parse().ok())
        .collect::<HashSet<i64>>()
        .into_iter()
        .collect();
    let matched: HashSet<i64> = matcher.matching(conn, &ids)?.into_iter().collect();
    let mut made = Vec::new();
    for change in after_watch {
        let Ok(id) = change.3.parse::<i64>() else {
            continue;
        };
        let (Some(event), Some(record)) = (watched.event(&change.4), change.5.clone()) else {
            continue;
        };
        if !matched.contains(&id) {
            continue;
        }
        made.push(NewWatchEvent {
            watch_id: watch.id,
            event: event.to_owned(),
            resource_id: change.3.clone(),
            change_id: Some(change.0),
            record,
            at: change.1,
        });
    }
    Ok(made)
}
