//! A logged write as the change feed shows it, and the feed's page.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::ASSESSMENT_FIELDS;
use crate::queries::changes::Change as ChangeRow;

/// Who made a change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeActor {
    /// `api_key`, `cli` or `import`.
    #[schema(example = "api_key")]
    pub kind: String,
    /// The key's id, for writes made with one; shown to callers with a key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<i64>,
    /// The key's name or the command; shown to callers with a key.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Camden digital team")]
    pub name: Option<String>,
}

/// One write: what changed, when, by whom, and the record before and after.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Change {
    /// Increases with every change; pass the last one seen as `after` to continue.
    #[schema(example = 1042)]
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: ChangeActor,
    /// `boroughs`, `service_areas`, `suppliers`, `systems` or `contracts`.
    #[schema(example = "contracts")]
    pub resource: String,
    /// The record's id (contract ids as decimal strings).
    #[schema(example = "710")]
    pub resource_id: String,
    /// `create`, `update` or `delete`.
    #[schema(example = "update")]
    pub action: String,
    /// The record as it was (null for a create), as the API shows it to this caller.
    pub before: Option<Value>,
    /// The record as it is now (null for a delete), as the API shows it to this caller.
    pub after: Option<Value>,
}

/// A page of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeFeed {
    /// Changes in the order they were made.
    pub items: Vec<Change>,
    pub meta: ChangeFeedMeta,
}

/// Where this page of the feed ends.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeFeedMeta {
    /// The `after` this page was read from.
    pub after: i64,
    pub per_page: u32,
    /// Pass as `after` for the next page; equal to `after` when there is nothing new.
    pub next_after: i64,
    /// In cursor mode only: the `cursor` that continues after this page, also when it is the
    /// last for now (poll with it later).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<Option<String>>,
}

fn strip_assessments(value: Option<Value>) -> Option<Value> {
    value.map(|mut value| {
        if let Value::Object(map) = &mut value {
            for field in ASSESSMENT_FIELDS {
                map.remove(*field);
            }
        }
        value
    })
}

impl Change {
    /// The change as a caller sees it: assessment fields and who made it only with a key.
    pub fn view(row: ChangeRow, sees_assessments: bool) -> Change {
        let (before, after) = if sees_assessments {
            (row.before, row.after)
        } else {
            (strip_assessments(row.before), strip_assessments(row.after))
        };
        Change {
            id: row.id,
            at: row.at,
            actor: ChangeActor {
                kind: row.actor_kind,
                key_id: row.actor_key_id.filter(|_| sees_assessments),
                name: sees_assessments.then_some(row.actor_name),
            },
            resource: row.resource,
            resource_id: row.resource_id,
            action: row.action,
            before,
            after,
        }
    }
}
