//! Watches: saved searches over contracts or tenders that tell their key's holder when a record
//! they match is created or changed, and when a contract enters its decision window.
//!
//! The change log is the outbox. Every write (API, import, sync, purge) appends its entry in its
//! own transaction, so an entry exists exactly when the write committed. The matcher
//! ([`dispatch::catch_up`]) reads the log from its cursor, matches each contract or tender
//! change against every live watch with the list's own filter (the same SQL), and writes the
//! events, each webhook's deliveries and the new cursor in one transaction: an event is made
//! once, never for a rolled-back write, and none is lost. [`decisions`] adds decision-window
//! events once a day; [`deliver`] POSTs the deliveries, signed, at least once.

pub mod decisions;
pub mod deliver;
pub mod dispatch;
pub mod signature;

use chrono::NaiveDate;
use diesel::{PgConnection, QueryResult};
use serde_json::Value;

use crate::queries::contracts::ContractFilter;
use crate::queries::tenders::TenderFilter;

/// What a watch watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watched {
    Contracts,
    Tenders,
}

impl Watched {
    pub const NAMES: &'static [&'static str] = &["contracts", "tenders"];

    pub fn parse(name: &str) -> Option<Watched> {
        match name {
            "contracts" => Some(Watched::Contracts),
            "tenders" => Some(Watched::Tenders),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Watched::Contracts => "contracts",
            Watched::Tenders => "tenders",
        }
    }

    /// The event a create or update of one of its records makes.
    pub fn event(self, action: &str) -> Option<&'static str> {
        match (self, action) {
            (Watched::Contracts, "create") => Some("contract.created"),
            (Watched::Contracts, "update") => Some("contract.updated"),
            (Watched::Tenders, "create") => Some("tender.published"),
            (Watched::Tenders, "update") => Some("tender.updated"),
            _ => None,
        }
    }
}

/// A watch's filters resolved against the database: the list's own query.
pub enum Matcher {
    Contracts(Box<ContractFilter>),
    Tenders(Box<TenderFilter>),
}

impl Matcher {
    /// Which of the records `ids` the watch matches, as its list would.
    pub fn matching(&self, conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<i64>> {
        match self {
            Matcher::Contracts(filter) => filter.matching(conn, ids),
            Matcher::Tenders(filter) => filter.matching(conn, ids),
        }
    }
}

/// Turns a watch's stored filters into its list's query. The API implements it with the very
/// parser of the list's query string, so a watch matches what its list shows.
pub trait ReadFilters: Send + Sync {
    /// The matcher of `filters` (the list's query parameters, each a list of strings) over
    /// `watched`, as of `today`; Err says why they no longer hold (a record they name is gone).
    fn read(
        &self,
        conn: &mut PgConnection,
        watched: Watched,
        filters: &Value,
        today: NaiveDate,
    ) -> Result<Matcher, String>;
}

/// 32 random bytes as hex: a feed token or a webhook secret.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator");
    hex::encode(bytes)
}
