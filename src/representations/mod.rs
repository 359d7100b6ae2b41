//! Wire types: what the API shows of each record, built from query rows with `From`, and the
//! "current representation" of a record that writes return, ETags hash and the change log keeps.
//! Free of HTTP, so the API, the seeder and the importers share one definition.

pub mod borough;
pub mod change;
pub mod contract;
pub mod service_area;
pub mod supplier;
pub mod sync_source;
pub mod system;
pub mod tender;
pub mod watch;

pub use borough::Borough;
pub use contract::{money, Assessment, Contract, ASSESSMENT_FIELDS};
pub use service_area::ServiceArea;
pub use supplier::Supplier;
pub use system::System;
pub use tender::Tender;

/// A wire type as JSON. Serialising these types cannot fail: every field is a string, number,
/// date, list or map with string keys.
pub fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("a representation serialises to JSON")
}
