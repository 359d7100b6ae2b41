//! The change log's one writer: every write (API, seeder, importers) appends its entry here, in
//! the write's own transaction, with the record's representation before and after.

use diesel::prelude::*;
use serde_json::Value;

use crate::db::schema::changes;

/// Held until commit by every transaction that logs a change, so change ids are assigned in
/// commit order and a reader paging with `after` never skips a change that commits late.
const CHANGE_LOG_LOCK: i64 = 0x0063_6861_6e67_6573; // "changes"

/// Who made a write, as the change log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: &'static str,
    pub key_id: Option<i64>,
    pub name: String,
}

impl Actor {
    /// A write from the command line.
    pub fn cli(what: &str) -> Actor {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown user".into());
        Actor {
            kind: "cli",
            key_id: None,
            name: format!("citytools {what} ({user})"),
        }
    }
}

/// A resource whose writes are logged, as named in the change log and the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Boroughs,
    ServiceAreas,
    Suppliers,
    Systems,
    Contracts,
    Tenders,
}

impl Resource {
    /// Whether the resource is one of the reference tables that filters name by id.
    pub fn is_reference(self) -> bool {
        matches!(
            self,
            Resource::Boroughs | Resource::ServiceAreas | Resource::Suppliers | Resource::Systems
        )
    }

    pub const NAMES: &'static [&'static str] = &[
        "boroughs",
        "service_areas",
        "suppliers",
        "systems",
        "contracts",
        "tenders",
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Boroughs => "boroughs",
            Resource::ServiceAreas => "service_areas",
            Resource::Suppliers => "suppliers",
            Resource::Systems => "systems",
            Resource::Contracts => "contracts",
            Resource::Tenders => "tenders",
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
            "tenders" => Ok(Resource::Tenders),
            _ => Err(format!(
                "unknown resource {value:?}; expected one of {}",
                Resource::NAMES.join(", ")
            )),
        }
    }
}

/// What a change did, from whether there was a record before and after it.
fn action(before: Option<&Value>, after: Option<&Value>) -> &'static str {
    match (before, after) {
        (None, Some(_)) => "create",
        (Some(_), Some(_)) => "update",
        _ => "delete",
    }
}

/// Takes the change log's lock for the rest of the transaction (again is no harm).
fn lock(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query(format!("SELECT pg_advisory_xact_lock({CHANGE_LOG_LOCK})")).execute(conn)?;
    Ok(())
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
    lock(conn)?;
    diesel::insert_into(changes::table)
        .values((
            changes::actor_kind.eq(actor.kind),
            changes::actor_key_id.eq(actor.key_id),
            changes::actor_name.eq(&actor.name),
            changes::resource.eq(resource.as_str()),
            changes::resource_id.eq(resource_id),
            changes::action.eq(action(before, after)),
            changes::before.eq(before),
            changes::after.eq(after),
        ))
        .returning(changes::id)
        .get_result(conn)
}

/// One change of a batch for [`record_many`].
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub resource: Resource,
    pub resource_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Changes per multi-row statement: eight parameters each, far below PostgreSQL's 65,535.
const BATCH: usize = 500;

/// Appends many changes by one actor, in their order, a multi-row statement per [`BATCH`];
/// call inside the write's transaction, as late in it as can be (the change log's lock is held
/// from here to commit, and every other logged write waits for it).
pub fn record_many(conn: &mut PgConnection, actor: &Actor, entries: &[Entry]) -> QueryResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    lock(conn)?;
    for batch in entries.chunks(BATCH) {
        let rows: Vec<_> = batch
            .iter()
            .map(|entry| {
                (
                    changes::actor_kind.eq(actor.kind),
                    changes::actor_key_id.eq(actor.key_id),
                    changes::actor_name.eq(&actor.name),
                    changes::resource.eq(entry.resource.as_str()),
                    changes::resource_id.eq(&entry.resource_id),
                    changes::action.eq(action(entry.before.as_ref(), entry.after.as_ref())),
                    changes::before.eq(entry.before.as_ref()),
                    changes::after.eq(entry.after.as_ref()),
                )
            })
            .collect();
        diesel::insert_into(changes::table)
            .values(rows)
            .execute(conn)?;
    }
    Ok(())
}
