//! The rows the insights read, the same whether they come from the contracts (by position) or
//! from the rollups (by name): what [`super::insights`] and [`super::rollups`] both return.

use bigdecimal::BigDecimal;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Double, Nullable, Numeric, Text};
use serde::Serialize;
use utoipa::ToSchema;

/// Contracts, distinct boroughs and annual value of matching contracts, per service area.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct AreaTotals {
    #[diesel(sql_type = Text)]
    pub service_area_id: String,
    #[diesel(embed)]
    pub totals: Totals,
}

/// One supplier's contracts and boroughs within one service area.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct AreaSupplier {
    #[diesel(sql_type = Text)]
    pub service_area_id: String,
    #[diesel(embed)]
    pub supplier: SupplierCount,
    #[diesel(sql_type = BigInt)]
    pub boroughs: i64,
}

/// Contract counts, distinct boroughs and annual value of contracts ending in each period.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct PeriodTotals {
    #[diesel(sql_type = Date)]
    pub period_start: NaiveDate,
    #[diesel(embed)]
    pub totals: Totals,
}

/// Contracts, distinct boroughs and annual value of a group of contracts: what a total by
/// service area and a total by period both count (a nested tuple where read by position).
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct Totals {
    #[diesel(sql_type = BigInt)]
    pub contracts: i64,
    #[diesel(sql_type = BigInt)]
    pub boroughs: i64,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub annual_value_gbp: Option<BigDecimal>,
}

/// Per borough: distinct suppliers, contracts and the mean ratings (over rated contracts).
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct BoroughRatings {
    #[diesel(sql_type = Text)]
    pub borough_id: String,
    #[diesel(sql_type = Text)]
    pub borough_name: String,
    #[diesel(sql_type = BigInt)]
    pub suppliers: i64,
    #[diesel(sql_type = BigInt)]
    pub contracts: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub mean_satisfaction: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub mean_value_for_money: Option<f64>,
}

/// Per supplier: contracts by data_access value.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct DataAccessCounts {
    #[diesel(embed)]
    pub supplier: SupplierCount,
    #[diesel(sql_type = BigInt)]
    pub included: i64,
    #[diesel(sql_type = BigInt)]
    pub charged: i64,
    #[diesel(sql_type = BigInt)]
    pub unavailable: i64,
    #[diesel(sql_type = BigInt)]
    pub unknown: i64,
}

/// Headline counts of the matching contracts.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Counts {
    pub authorities: i64,
    pub suppliers: i64,
    pub systems: i64,
    pub contracts: i64,
}

/// A supplier and how many matching contracts it holds: on its own (the top suppliers), or
/// leading a per-supplier row (a nested tuple where read by position).
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct SupplierCount {
    #[diesel(sql_type = Text)]
    pub supplier_id: String,
    #[diesel(sql_type = Text)]
    pub supplier_name: String,
    #[diesel(sql_type = BigInt)]
    pub contracts: i64,
}

/// Where a supplier holds contracts in one borough.
// Also the footprint's wire type: the answer is the row as read, so there is no second copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BoroughFootprint {
    pub borough_id: String,
    pub borough_name: String,
    pub contracts: i64,
    // Sorted.
    pub service_area_ids: Vec<String>,
    // Sorted.
    pub system_ids: Vec<String>,
}
