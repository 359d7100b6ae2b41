//! A watch as its key's holder sees it, and its webhook deliveries.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::queries::watches::{Attempt, Delivery, Watch};

/// A saved search that tells its key's holder when something it matches happens.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WatchView {
    #[schema(example = 3)]
    pub id: i64,
    #[schema(example = "Croydon tenders")]
    pub name: String,
    /// `contracts` or `tenders`.
    #[schema(example = "tenders")]
    pub resource: String,
    /// The list's query parameters, each a list of strings.
    #[schema(value_type = Object, example = json!({"borough": ["croydon"]}))]
    pub filters: Value,
    /// Where each event is POSTed, signed; null for none.
    pub webhook_url: Option<String>,
    /// The watch's Atom feed, readable without a key: keep the address private.
    #[schema(example = "https://citytools.example.org/api/v1/feeds/5f0c…")]
    pub feed_url: String,
    /// The key of the webhook's signatures: in the answer that makes the watch only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl WatchView {
    /// The watch as shown, its feed at `origin`; its secret only when `with_secret`.
    pub fn of(watch: Watch, origin: &str, with_secret: bool) -> WatchView {
        WatchView {
            id: watch.id,
            name: watch.name,
            resource: watch.resource,
            filters: watch.filters,
            webhook_url: watch.webhook_url,
            feed_url: format!("{origin}/api/v1/feeds/{}", watch.feed_token),
            webhook_secret: if with_secret {
                watch.webhook_secret
            } else {
                None
            },
            created_at: watch.created_at,
        }
    }
}

/// A key's watches.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WatchList {
    /// Oldest first.
    pub items: Vec<WatchView>,
}

/// One try of a delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryTry {
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status; null when none came (refused, timed out).
    #[schema(example = 200)]
    pub status_code: Option<i32>,
    pub error: Option<String>,
    #[schema(example = 41)]
    pub duration_ms: i32,
}

/// One event's delivery to the webhook.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    #[schema(example = 12)]
    pub id: i64,
    #[schema(example = "tender.published")]
    pub event: String,
    /// `pending` (to be tried, or tried again), `delivered` or `failed` (retried for a day).
    #[schema(example = "delivered")]
    pub status: String,
    pub attempts: i32,
    /// When the next try is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Every try, oldest first.
    pub tries: Vec<DeliveryTry>,
}

impl DeliveryView {
    pub fn of((delivery, event, tries): (Delivery, String, Vec<Attempt>)) -> DeliveryView {
        DeliveryView {
            id: delivery.id,
            event,
            next_attempt_at: (delivery.status == "pending").then_some(delivery.next_attempt_at),
            status: delivery.status,
            attempts: delivery.attempts,
            delivered_at: delivery.delivered_at,
            last_status: delivery.last_status,
            last_error: delivery.last_error,
            created_at: delivery.created_at,
            tries: tries
                .into_iter()
                .map(|(at, status_code, error, duration_ms)| DeliveryTry {
                    at,
                    status_code,
                    error,
                    duration_ms,
                })
                .collect(),
        }
    }
}

/// A watch's latest deliveries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first, at most 100.
    pub items: Vec<DeliveryView>,
}
