//! `citytools purge`: every contract of one source deleted in one transaction, each deletion in
//! the change log, so that a database started from the illustrative seed can go on to hold real
//! contracts alone, and a dashboard following the change feed sees them go.
//!
//! Only the illustrative source may be purged: a purge is not a way to wipe real data, and a
//! typo in `--source` must not become one.

use std::fmt;

use diesel::prelude::*;
use serde::Serialize;

use crate::changelog::{self, Actor, Resource};
use crate::db::schema::contracts;
use crate::models::Source;
use crate::queries;
use crate::representations::{self, Contract};

/// The sources a purge may remove.
pub const PURGEABLE: &[Source] = &[Source::Illustrative];

/// Why a purge did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    /// The source named is not one that may be purged.
    #[error("--source {0:?} cannot be purged: only --source illustrative may be (real data is never purged this way)")]
    NotPurgeable(String),
    /// The database failed; the transaction was rolled back and nothing was deleted.
    #[error("the purge failed and deleted nothing: {0}")]
    Database(#[from] diesel::result::Error),
}

/// What a purge removed, or with a dry run would remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// The source purged.
    pub source: Source,
    /// Whether this was a dry run, which writes nothing.
    pub dry_run: bool,
    /// The contracts deleted (with a dry run: that would be deleted).
    pub contracts: usize,
    /// The deletions logged in the change log (0 with a dry run).
    pub changes_logged: usize,
}

impl fmt::Display for PurgeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = self.source.as_str();
        if self.dry_run {
            write!(
                f,
                "dry run: would delete {} {source} contract(s); nothing was written",
                self.contracts
            )
        } else {
            write!(
                f,
                "deleted {} {source} contract(s), each logged in the change log ({} change(s))",
                self.contracts, self.changes_logged
            )
        }
    }
}

/// The source named by `value`, if it is one that may be purged.
pub fn purgeable(value: &str) -> Result<Source, PurgeError> {
    value
        .trim()
        .parse::<Source>()
        .ok()
        .filter(|source| PURGEABLE.contains(source))
        .ok_or_else(|| PurgeError::NotPurgeable(value.to_owned()))
}

/// Deletes every contract of `source` in one transaction, logging each deletion (as the CLI's
/// `purge`) with the contract as it was; with `dry_run`, only counts them.
pub fn purge(
    conn: &mut PgConnection,
    source: Source,
    dry_run: bool,
) -> Result<PurgeReport, PurgeError> {
    let of_source = contracts::table.filter(contracts::source.eq(source.as_str()));
    if dry_run {
        let count: i64 = of_source.count().get_result(conn)?;
        return Ok(PurgeReport {
            source,
            dry_run,
            contracts: usize::try_from(count).unwrap_or_default(),
            changes_logged: 0,
        });
    }
    let actor = Actor::cli("purge");
    conn.transaction(|conn| {
        // Locked, so that a write meanwhile cannot change a contract after it was logged.
        let ids: Vec<i64> = of_source
            .select(contracts::id)
            .order(contracts::id)
            .for_update()
            .load(conn)?;
        // Read in batches and deleted in one statement: a query or two per thousand contracts,
        // not three per contract.
        let mut records = queries::contracts::find_many(conn, &ids)?;
        // Locked above, so each contract is still there to be read; were one not, there would
        // be nothing to delete or to log.
        let entries: Vec<changelog::Entry> = ids
            .iter()
            .filter_map(|id| {
                let record = records.remove(id)?;
                Some(changelog::Entry {
                    resource: Resource::Contracts,
                    resource_id: id.to_string(),
                    before: Some(representations::to_json(&Contract::view(record, true))),
                    after: None,
                })
            })
            .collect();
        changelog::record_many(conn, &actor, &entries)?;
        let changes_logged = entries.len();
        diesel::delete(contracts::table.filter(contracts::id.eq_any(&ids))).execute(conn)?;
        Ok(PurgeReport {
            source,
            dry_run,
            contracts: changes_logged,
            changes_logged,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_illustrative_may_be_purged() {
        assert_eq!(purgeable("illustrative").unwrap(), Source::Illustrative);
        for refused in ["survey", "open_data", "manual", "Illustrative", "all", ""] {
            let error = purgeable(refused).unwrap_err().to_string();
            assert!(
                error.contains("only --source illustrative"),
                "{refused}: {error}"
            );
        }
    }

    #[test]
    fn the_summary_says_whether_anything_was_written() {
        let report = PurgeReport {
            source: Source::Illustrative,
            dry_run: true,
            contracts: 709,
            changes_logged: 0,
        };
        assert_eq!(
            report.to_string(),
            "dry run: would delete 709 illustrative contract(s); nothing was written"
        );
        let done = PurgeReport {
            dry_run: false,
            changes_logged: 709,
            ..report
        };
        assert!(done.to_string().starts_with("deleted 709 illustrative"));
    }
}
