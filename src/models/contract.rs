use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::schema::{contract_service_areas, contracts};

/// One borough's use of one system (or service) from one supplier.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = contracts, check_for_backend(diesel::pg::Pg))]
pub struct Contract {
    pub id: i64,
    /// Every column a write sets; the row is the form plus the id and bookkeeping columns.
    #[diesel(embed)]
    pub form: NewContract,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    /// When a sync read the values stored (null: not written by a sync).
    pub retrieved_at: Option<DateTime<Utc>>,
    /// The sync run that wrote the values stored (null: not written by a sync).
    pub sync_run_id: Option<i64>,
}

/// The columns of a contract a write sets, in table order (a [`Contract`] row embeds them).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contracts, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub struct NewContract {
    pub borough_id: String,
    pub supplier_id: String,
    pub system_id: Option<String>,
    pub title: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub max_end_date: Option<NaiveDate>,
    pub annual_value_gbp: Option<BigDecimal>,
    pub total_value_gbp: Option<BigDecimal>,
    pub hosting: String,
    pub procurement_route: String,
    pub framework_name: Option<String>,
    pub data_access: String,
    pub source: String,
    pub source_reference: Option<String>,
    pub source_url: Option<String>,
    pub satisfaction: Option<i16>,
    pub value_for_money: Option<i16>,
    pub support_confidence: Option<i16>,
    pub development_confidence: Option<i16>,
    pub notes: Option<String>,
}

/// A service area a contract covers.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = contract_service_areas, check_for_backend(diesel::pg::Pg))]
pub struct ContractServiceArea {
    pub contract_id: i64,
    pub service_area_id: String,
}
