//! API keys: created and revoked from the command line, looked up on every keyed request.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::api_keys;

/// A newly made key: the secret to hand over once, and what is stored.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// The whole key, shown once to its holder and never stored.
    pub key: String,
    /// The part of the key that finds its row.
    pub prefix: String,
    /// The SHA-256 of the whole key, in hex.
    pub hash: String,
}

/// A stored key (its hash, never the key).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub borough_id: Option<String>,
    pub prefix: String,
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Stores a new key's hash; returns its id.
pub fn create(
    conn: &mut PgConnection,
    key: &NewKey,
    name: &str,
    role: &str,
    borough_id: Option<&str>,
) -> QueryResult<i64> {
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::name.eq(name),
            api_keys::role.eq(role),
            api_keys::borough_id.eq(borough_id),
            api_keys::prefix.eq(&key.prefix),
            api_keys::key_hash.eq(&key.hash),
        ))
        .returning(api_keys::id)
        .get_result(conn)
}

/// Every key, oldest first.
pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<ApiKey>> {
    api_keys::table
        .select(ApiKey::as_select())
        .order(api_keys::id)
        .load(conn)
}

/// The key whose prefix is `prefix`, revoked or not.
pub fn find_by_prefix(conn: &mut PgConnection, prefix: &str) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .filter(api_keys::prefix.eq(prefix))
        .select(ApiKey::as_select())
        .first(conn)
        .optional()
}

/// Marks a key revoked; returns false when there is no such key or it was already revoked.
pub fn revoke(conn: &mut PgConnection, id: i64) -> QueryResult<bool> {
    let updated = diesel::update(api_keys::table)
        .filter(api_keys::id.eq(id))
        .filter(api_keys::revoked_at.is_null())
        .set(api_keys::revoked_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Records that a key was used, at most once a minute, so reads do not all become writes.
pub fn touch(conn: &mut PgConnection, id: i64) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE api_keys SET last_used_at = now() WHERE id = $1 \
         AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
    )
    .bind::<diesel::sql_types::Int8, _>(id)
    .execute(conn)?;
    Ok(())
}
