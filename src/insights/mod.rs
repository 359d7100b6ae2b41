//! The analyses behind `/insights`, as plain functions over query results (no HTTP, no SQL).

pub mod joint_procurement;
pub mod stats;
