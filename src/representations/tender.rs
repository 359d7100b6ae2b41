//! A tender as the API shows it: the call for bids, the incumbents (who holds the work today)
//! and the contracts it became.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::money;
use crate::queries::tenders::{self, TenderRecord};

/// A contract of the tender's borough in one of its service areas, current today (no end date
/// known, or ending today or later): who holds the work now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Incumbent {
    /// The contract's id (`/api/v1/contracts/{id}`).
    #[schema(example = 42)]
    pub id: i64,
    #[schema(example = "civica")]
    pub supplier_id: String,
    #[schema(example = "Civica")]
    pub supplier_name: String,
    #[schema(example = "civica-openrevenues")]
    pub system_id: Option<String>,
    pub end_date: Option<NaiveDate>,
    /// Where the contract comes from: `illustrative` marks an invented one.
    #[schema(example = "open_data")]
    pub source: String,
}

/// A tender: what a London authority is buying (or plans to buy), from a tender or planning
/// notice on Contracts Finder or Find a Tender.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tender {
    #[schema(example = 7)]
    pub id: i64,
    /// The contracting process's OCDS id; its award's contracts carry it as `source_reference`.
    #[schema(example = "ocds-b5fd17-6cc1fffd-3481-4b95-b724-adf1be3dd1a8")]
    pub ocid: String,
    #[schema(example = "croydon")]
    pub borough_id: String,
    #[schema(example = "Croydon")]
    pub borough_name: String,
    #[schema(example = "Electronic payment system")]
    pub title: String,
    pub description: Option<String>,
    /// The service areas the notice was classified into (as imported contracts are).
    #[schema(example = json!(["payments-and-income"]))]
    pub service_area_ids: Vec<String>,
    /// When the notice was first published.
    pub published_date: Option<NaiveDate>,
    /// When bids close (`tenderPeriod.endDate`); null for plans that do not say.
    pub closing_date: Option<NaiveDate>,
    /// The estimated value in pounds and pence, as an exact decimal string; null when not given
    /// or not in pounds.
    #[schema(example = "250000.00", pattern = r"^\d+\.\d{2}$")]
    pub value_gbp: Option<String>,
    /// `planned` (a planning notice), `active` (taking bids), `complete` (awarded),
    /// `cancelled`, `unsuccessful` or `withdrawn`.
    #[schema(example = "active")]
    pub status: String,
    /// `open_data`: every tender comes from a public source.
    #[schema(example = "open_data")]
    pub source: String,
    /// The notice on its publisher's site.
    pub source_url: Option<String>,
    /// When `citytools sync` read the values stored; null when a file import wrote them.
    pub retrieved_at: Option<DateTime<Utc>>,
    /// The sync run that wrote the values stored; null when a file import wrote them.
    #[schema(example = json!(null))]
    pub sync_run_id: Option<i64>,
    /// The contracts the tender became (its award), by id; empty until it is awarded.
    pub awarded_contract_ids: Vec<i64>,
    /// The borough's current contracts in the same service areas, soonest ending first.
    pub incumbents: Vec<Incumbent>,
    /// The incumbents' suppliers, each once, sorted (the `supplier` filter matches these).
    #[schema(example = json!(["civica"]))]
    pub incumbent_supplier_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes on every write.
    #[schema(example = 1)]
    pub version: i32,
}

impl From<TenderRecord> for Tender {
    fn from(record: TenderRecord) -> Self {
        let t = record.tender;
        // The query builds the array from contract rows, so it always has this shape.
        let incumbents: Vec<Incumbent> =
            serde_json::from_value(record.incumbents).unwrap_or_default();
        let mut incumbent_supplier_ids: Vec<String> =
            incumbents.iter().map(|i| i.supplier_id.clone()).collect();
        incumbent_supplier_ids.sort();
        incumbent_supplier_ids.dedup();
        Tender {
            id: t.id,
            ocid: t.form.ocid,
            borough_id: t.form.borough_id,
            borough_name: record.borough_name,
            title: t.form.title,
            description: t.form.description,
            service_area_ids: record.service_area_ids,
            published_date: t.form.published_date,
            closing_date: t.form.closing_date,
            value_gbp: money(t.form.value_gbp),
            status: t.form.status,
            source: t.form.source,
            source_url: t.form.source_url,
            retrieved_at: t.retrieved_at,
            sync_run_id: t.sync_run_id,
            awarded_contract_ids: record.awarded_contract_ids,
            incumbents,
            incumbent_supplier_ids,
            created_at: t.created_at,
            updated_at: t.updated_at,
            version: t.version,
        }
    }
}

/// CSV columns, in order (the incumbents as their suppliers' ids).
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "ocid",
    "borough_id",
    "borough_name",
    "title",
    "service_area_ids",
    "published_date",
    "closing_date",
    "value_gbp",
    "status",
    "source",
    "source_url",
    "awarded_contract_ids",
    "incumbent_supplier_ids",
    "retrieved_at",
    "created_at",
    "updated_at",
    "version",
];

/// The current representation of tender `id`, as the change log keeps it; None when there is
/// no such tender.
pub fn current(conn: &mut PgConnection, id: i64) -> QueryResult<Option<serde_json::Value>> {
    Ok(tenders::find(conn, id)?.map(|record| super::to_json(&Tender::from(record))))
}
