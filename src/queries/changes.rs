//! The change log as the change feed reads it (`crate::changelog` writes it).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

use crate::changelog::Resource;
use crate::db::schema::changes;

/// One logged write.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = changes, check_for_backend(diesel::pg::Pg))]
pub struct Change {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_key_id: Option<i64>,
    pub actor_name: String,
    pub resource: String,
    pub resource_id: String,
    pub action: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Changes after `after`, oldest first, optionally of some resources only.
pub fn after(
    conn: &mut PgConnection,
    after: i64,
    resources: &[Resource],
    limit: i64,
) -> QueryResult<Vec<Change>> {
    let mut query = changes::table
        .filter(changes::id.gt(after))
        .select(Change::as_select())
        .order(changes::id)
        .limit(limit)
        .into_boxed();
    if !resources.is_empty() {
        query = query.filter(changes::resource.eq_any(resources.iter().map(|r| r.as_str())));
    }
    query.load(conn)
}
