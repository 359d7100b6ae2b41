//! Decision windows: a contract enters its window `lead_months` before its end date, when a
//! borough must start deciding what follows it (a joint procurement takes about that long).
//! Once a day, every contract watch is told of each matching contract that entered its window
//! since the watch was made, once.

use std::collections::HashSet;

use chrono::{Months, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use super::{Matcher, ReadFilters, Watched};
use crate::db::schema::decision_days;
use crate::queries::contracts;
use crate::queries::watches::{self as query, NewWatchEvent};
use crate::representations::{to_json, Contract};

/// The advisory lock of the daily computation ("decision").
const DECISION_LOCK: i64 = 0x6465_6369_7369_6f6e;

/// Default months between a decision window opening and the contract's end.
pub const DEFAULT_LEAD_MONTHS: u32 = 18;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// What a day's computation did: None when another instance had done it (or was doing it).
pub fn run_day(
    conn: &mut PgConnection,
    reader: &dyn ReadFilters,
    lead_months: u32,
    today: NaiveDate,
) -> QueryResult<Option<usize>> {
    conn.transaction(|conn| {
        let locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
            .bind::<BigInt, _>(DECISION_LOCK)
            .get_result::<Locked>(conn)?
            .locked;
        if !locked {
            return Ok(None);
        }
        let new_day = diesel::insert_into(decision_days::table)
            .values(decision_days::day.eq(today))
            .on_conflict_do_nothing()
            .execute(conn)?;
        if new_day == 0 {
            return Ok(None);
        }
        windows(conn, reader, lead_months, today).map(Some)
    })
}

/// Adds the decision-window events of every live contract watch as of `today`; returns how many
/// were new. Safe to run again: each contract is told to a watch once.
pub fn windows(
    conn: &mut PgConnection,
    reader: &dyn ReadFilters,
    lead_months: u32,
    today: NaiveDate,
) -> QueryResult<usize> {
    let lead = Months::new(lead_months);
    let mut events = Vec::new();
    let mut with_webhook = HashSet::new();
    for watch in query::live(conn, Watched::Contracts.as_str())? {
        let Ok(Matcher::Contracts(filter)) =
            reader.read(conn, Watched::Contracts, &watch.filters, today)
        else {
            continue;
        };
        // Windows that opened from the day the watch was made to today.
        let made = watch.created_at.date_naive();
        let (Some(from), Some(to)) = (
            made.checked_add_months(lead),
            today.checked_add_months(lead),
        ) else {
            continue;
        };
        if from > to {
            continue;
        }
        let ids = filter.ending_between(conn, from, to)?;
        if ids.is_empty() {
            continue;
        }
        if watch.webhook_url.is_some() {
            with_webhook.insert(watch.id);
        }
        // The contracts in one read, not one query each.
        let mut records = contracts::find_many(conn, &ids)?;
        for id in ids {
            let Some(record) = records.remove(&id) else {
                continue;
            };
            let record = to_json(&Contract::view(record, true));
            events.push(NewWatchEvent {
                watch_id: watch.id,
                event: "contract.decision_due".to_owned(),
                resource_id: id.to_string(),
                change_id: None,
                record,
                at: Utc::now(),
            });
        }
    }
    query::add_events(conn, &events, &with_webhook)
}
