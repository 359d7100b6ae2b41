//! The analyses behind `/insights`, as plain functions over query results (no HTTP, no SQL),
//! one file per insight, with the result types they answer in.

pub mod data_access;
pub mod estate;
pub mod expertise;
pub mod expiry_timeline;
pub mod footprint;
pub mod joint_procurement;
pub mod market_share;
pub mod opportunities;
pub mod params;
pub mod peers;
pub mod stats;
pub mod summary;
pub mod vendor_satisfaction;

/// Aggregates over fewer boroughs than this are shown only to callers with a key.
pub const PUBLIC_AGGREGATE_MIN_BOROUGHS: usize = 3;
