use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::schema::{tender_service_areas, tenders};

/// A call for bids (or a plan to buy) by a London authority: one contracting process.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tenders, check_for_backend(diesel::pg::Pg))]
pub struct Tender {
    pub id: i64,
    /// Every column a write sets.
    #[diesel(embed)]
    pub form: NewTender,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    /// When a sync read the values stored (null: not written by a sync).
    pub retrieved_at: Option<DateTime<Utc>>,
    /// The sync run that wrote the values stored (null: not written by a sync).
    pub sync_run_id: Option<i64>,
}

/// The columns of a tender a write sets, in table order.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tenders, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub struct NewTender {
    pub ocid: String,
    pub borough_id: String,
    pub title: String,
    pub description: Option<String>,
    pub published_date: Option<NaiveDate>,
    pub closing_date: Option<NaiveDate>,
    pub value_gbp: Option<BigDecimal>,
    pub status: String,
    pub source: String,
    pub source_url: Option<String>,
    /// The date of the latest release the values come from.
    pub released_at: Option<DateTime<Utc>>,
}

/// A service area a tender is in.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tender_service_areas, check_for_backend(diesel::pg::Pg))]
pub struct TenderServiceArea {
    pub tender_id: i64,
    pub service_area_id: String,
}
