//! Watches, their events and their webhook deliveries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

use crate::db::schema::{
    api_keys, changes, watch_cursor, watch_events, watches, webhook_attempts, webhook_deliveries,
};

/// A stored watch.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = watches, check_for_backend(diesel::pg::Pg))]
pub struct Watch {
    pub id: i64,
    pub key_id: i64,
    pub name: String,
    pub resource: String,
    pub filters: Value,
    pub feed_token: String,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub from_change_id: i64,
    pub created_at: DateTime<Utc>,
}

/// A watch as it is made.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = watches)]
pub struct NewWatch {
    pub key_id: i64,
    pub name: String,
    pub resource: String,
    pub filters: Value,
    pub feed_token: String,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub from_change_id: i64,
}

/// One event of a watch.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = watch_events, check_for_backend(diesel::pg::Pg))]
pub struct WatchEvent {
    pub id: i64,
    pub watch_id: i64,
    pub event: String,
    pub resource_id: String,
    pub change_id: Option<i64>,
    pub record: Value,
    pub at: DateTime<Utc>,
}

/// An event as it is made.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = watch_events)]
pub struct NewWatchEvent {
    pub watch_id: i64,
    pub event: String,
    pub resource_id: String,
    pub change_id: Option<i64>,
    pub record: Value,
    pub at: DateTime<Utc>,
}

/// One webhook delivery (an event to POST), with how it has gone.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct Delivery {
    pub id: i64,
    pub event_id: i64,
    pub watch_id: i64,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub leased_until: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The id of the latest change-log entry (0 when there is none).
pub fn latest_change_id(conn: &mut PgConnection) -> QueryResult<i64> {
    changes::table
        .select(diesel::dsl::max(changes::id))
        .first::<Option<i64>>(conn)
        .map(Option::unwrap_or_default)
}

pub fn insert(conn: &mut PgConnection, watch: &NewWatch) -> QueryResult<Watch> {
    diesel::insert_into(watches::table)
        .values(watch)
        .returning(Watch::as_returning())
        .get_result(conn)
}

/// The watches of key `key_id`, oldest first.
pub fn of_key(conn: &mut PgConnection, key_id: i64) -> QueryResult<Vec<Watch>> {
    watches::table
        .filter(watches::key_id.eq(key_id))
        .order(watches::id)
        .select(Watch::as_select())
        .load(conn)
}

/// How many watches key `key_id` has.
pub fn count_of_key(conn: &mut PgConnection, key_id: i64) -> QueryResult<i64> {
    watches::table
        .filter(watches::key_id.eq(key_id))
        .count()
        .get_result(conn)
}

/// Watch `id` if key `key_id` made it.
pub fn find_own(conn: &mut PgConnection, key_id: i64, id: i64) -> QueryResult<Option<Watch>> {
    watches::table
        .filter(watches::id.eq(id))
        .filter(watches::key_id.eq(key_id))
        .select(Watch::as_select())
        .first(conn)
        .optional()
}

/// The watch whose feed has this token, if its key is not revoked.
pub fn by_feed_token(conn: &mut PgConnection, token: &str) -> QueryResult<Option<Watch>> {
    watches::table
        .inner_join(api_keys::table)
        .filter(watches::feed_token.eq(token))
        .filter(api_keys::revoked_at.is_null())
        .select(Watch::as_select())
        .first(conn)
        .optional()
}

/// Deletes watch `id` of key `key_id`; whether there was one.
pub fn delete_own(conn: &mut PgConnection, key_id: i64, id: i64) -> QueryResult<bool> {
    diesel::delete(
        watches::table
            .filter(watches::id.eq(id))
            .filter(watches::key_id.eq(key_id)),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// Every watch whose key is not revoked, of `resource`.
pub fn live(conn: &mut PgConnection, resource: &str) -> QueryResult<Vec<Watch>> {
    watches::table
        .inner_join(api_keys::table)
        .filter(api_keys::revoked_at.is_null())
        .filter(watches::resource.eq(resource))
        .order(watches::id)
        .select(Watch::as_select())
        .load(conn)
}

/// The matcher's position in the change log, locked until the transaction ends.
pub fn lock_cursor(conn: &mut PgConnection) -> QueryResult<i64> {
    watch_cursor::table
        .select(watch_cursor::last_change_id)
        .for_update()
        .first(conn)
}

pub fn set_cursor(conn: &mut PgConnection, last_change_id: i64) -> QueryResult<()> {
    diesel::update(watch_cursor::table)
        .set(watch_cursor::last_change_id.eq(last_change_id))
        .execute(conn)
        .map(|_| ())
}

/// Change-log entries after `after`, oldest first: id, time, resource, id of the record,
/// action and the record after the change.
pub type ChangeRow = (i64, DateTime<Utc>, String, String, String, Option<Value>);

pub fn changes_after(
    conn: &mut PgConnection,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<ChangeRow>> {
    changes::table
        .filter(changes::id.gt(after))
        .order(changes::id)
        .limit(limit)
        .select((
            changes::id,
            changes::at,
            changes::resource,
            changes::resource_id,
            changes::action,
            changes::after,
        ))
        .load(conn)
}

/// Adds events (skipping any the watch already has) and, for watches with a webhook, their
/// deliveries; returns how many events were new.
pub fn add_events(
    conn: &mut PgConnection,
    events: &[NewWatchEvent],
    with_webhook: &std::collections::HashSet<i64>,
) -> QueryResult<usize> {
    let mut added = 0;
    for chunk in events.chunks(1000) {
        let made: Vec<(i64, i64)> = diesel::insert_into(watch_events::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .returning((watch_events::id, watch_events::watch_id))
            .get_results(conn)?;
        added += made.len();
        let deliveries: Vec<_> = made
            .iter()
            .filter(|(_, watch)| with_webhook.contains(watch))
            .map(|(event, watch)| {
                (
                    webhook_deliveries::event_id.eq(*event),
                    webhook_deliveries::watch_id.eq(*watch),
                )
            })
            .collect();
        if !deliveries.is_empty() {
            diesel::insert_into(webhook_deliveries::table)
                .values(deliveries)
                .execute(conn)?;
        }
    }
    Ok(added)
}

/// The latest `limit` events of a watch, newest first.
pub fn events(conn: &mut PgConnection, watch_id: i64, limit: i64) -> QueryResult<Vec<WatchEvent>> {
    watch_events::table
        .filter(watch_events::watch_id.eq(watch_id))
        .order(watch_events::id.desc())
        .limit(limit)
        .select(WatchEvent::as_select())
        .load(conn)
}

/// The latest `limit` deliveries of a watch, newest first, each with its event's name and its
/// tries (time, HTTP status, error, milliseconds).
pub type Attempt = (DateTime<Utc>, Option<i32>, Option<String>, i32);

pub fn deliveries(
    conn: &mut PgConnection,
    watch_id: i64,
    limit: i64,
) -> QueryResult<Vec<(Delivery, String, Vec<Attempt>)>> {
    let rows: Vec<(Delivery, String)> = webhook_deliveries::table
        .inner_join(watch_events::table)
        .filter(webhook_deliveries::watch_id.eq(watch_id))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select((Delivery::as_select(), watch_events::event))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|(d, _)| d.id).collect();
    let attempts: Vec<(i64, Attempt)> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(&ids))
        .order(webhook_attempts::id)
        .select((
            webhook_attempts::delivery_id,
            (
                webhook_attempts::at,
                webhook_attempts::status_code,
                webhook_attempts::error,
                webhook_attempts::duration_ms,
            ),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(delivery, event)| {
            let tries = attempts
                .iter()
                .filter(|(id, _)| *id == delivery.id)
                .map(|(_, attempt)| attempt.clone())
                .collect();
            (delivery, event, tries)
        })
        .collect())
}

/// A delivery claimed for sending: where, with what secret, and the event's payload parts.
#[derive(Debug, Clone, Queryable)]
pub struct Claimed {
    pub id: i64,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub watch_id: i64,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub event: String,
    pub record: Value,
}

/// Claims up to `limit` due deliveries for `lease_secs` seconds: no other instance takes them
/// meanwhile, and a crash lets them lapse for another try.
pub fn claim(conn: &mut PgConnection, limit: i64, lease_secs: i64) -> QueryResult<Vec<Claimed>> {
    conn.transaction(|conn| {
        let due: Vec<i64> = webhook_deliveries::table
            .filter(webhook_deliveries::status.eq("pending"))
            .filter(webhook_deliveries::next_attempt_at.le(diesel::dsl::now))
            .filter(
                webhook_deliveries::leased_until
                    .is_null()
                    .or(webhook_deliveries::leased_until.lt(diesel::dsl::now)),
            )
            .order(webhook_deliveries::next_attempt_at)
            .limit(limit)
            .select(webhook_deliveries::id)
            .for_update()
            .skip_locked()
            .load(conn)?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&due)))
            .set(
                webhook_deliveries::leased_until
                    .eq(Some(Utc::now() + chrono::Duration::seconds(lease_secs))),
            )
            .execute(conn)?;
        webhook_deliveries::table
            .inner_join(watch_events::table)
            .inner_join(watches::table.inner_join(api_keys::table))
            .filter(webhook_deliveries::id.eq_any(&due))
            .filter(api_keys::revoked_at.is_null())
            .select((
                webhook_deliveries::id,
                webhook_deliveries::attempts,
                webhook_deliveries::created_at,
                webhook_deliveries::watch_id,
                watches::webhook_url,
                watches::webhook_secret,
                watch_events::event,
                watch_events::record,
            ))
            .load(conn)
    })
}

/// How one try went.
pub struct TryResult {
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
    /// Delivered (a 2xx answer).
    pub delivered: bool,
    /// When to try again; None to give up (the delivery fails).
    pub retry_at: Option<DateTime<Utc>>,
}

/// Records a try of delivery `id` and what follows from it.
pub fn record_try(conn: &mut PgConnection, id: i64, result: &TryResult) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::insert_into(webhook_attempts::table)
            .values((
                webhook_attempts::delivery_id.eq(id),
                webhook_attempts::status_code.eq(result.status_code),
                webhook_attempts::error.eq(&result.error),
                webhook_attempts::duration_ms.eq(result.duration_ms),
            ))
            .execute(conn)?;
        let status = match (result.delivered, result.retry_at) {
            (true, _) => "delivered",
            (false, Some(_)) => "pending",
            (false, None) => "failed",
        };
        diesel::update(webhook_deliveries::table.find(id))
            .set((
                webhook_deliveries::status.eq(status),
                webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
                webhook_deliveries::last_status.eq(result.status_code),
                webhook_deliveries::last_error.eq(&result.error),
                webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
                webhook_deliveries::delivered_at.eq(result.delivered.then(Utc::now)),
                webhook_deliveries::next_attempt_at.eq(result.retry_at.unwrap_or_else(Utc::now)),
            ))
            .execute(conn)
            .map(|_| ())
    })
}
