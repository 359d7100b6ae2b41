//! The change log: appended in the transaction of every write, read by the change feed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

use crate::auth::Actor;
use crate::db::schema::changes;

/// Held until commit by every transaction that logs a change, so change ids are assigned in
/// commit order and a reader paging with `after` never skips a change that commits late.
const CHANGE_LOG_LOCK: i64 = 0x0063_6861_6e67_6573; // "changes"

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

/// A resource whose writes are logged, as named in the change log and the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Boroughs,
    ServiceAreas,
    Suppliers,
    Systems,
    Contracts,
}

impl Resource {
    pub const NAMES: &'static [&'static str] = &[
        "boroughs",
        "service_areas",
        "suppliers",
        "systems",
        "contracts",
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Boroughs => "boroughs",
            Resource::ServiceAreas => "service_areas",
            Resource::Suppliers => "suppliers",
            Resource::Systems => "systems",
            Resource::Contracts => "contracts",
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Resource {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "boroughs" => Ok(Resource::Boroughs),
            "service_areas" | "service-areas" => Ok(Resource::ServiceAreas),
            "suppliers" => Ok(Resource::Suppliers),
            "systems" => Ok(Resource::Systems),
            "contracts" => Ok(Resource::Contracts),
            _ => Err(format!(
                "unknown resource {value:?}; expected one of {}",
                Resource::NAMES.join(", ")
            )),
        }
    }
}

/// Appends one change; call inside the write's transaction.
pub fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    resource: Resource,
    resource_id: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> QueryResult<i64> {
    let action = match (before, after) {
        (None, Some(_)) => "create",
        (Some(_), Some(_)) => "update",
        _ => "delete",
    };
    diesel::sql_query(format!("SELECT pg_advisory_xact_lock({CHANGE_LOG_LOCK})")).execute(conn)?;
    diesel::insert_into(changes::table)
        .values((
            changes::actor_kind.eq(actor.kind),
            changes::actor_key_id.eq(actor.key_id),
            changes::actor_name.eq(&actor.name),
            changes::resource.eq(resource.as_str()),
            changes::resource_id.eq(resource_id),
            changes::action.eq(action),
            changes::before.eq(before),
            changes::after.eq(after),
        ))
        .returning(changes::id)
        .get_result(conn)
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
