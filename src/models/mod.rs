//! Diesel rows and insert forms, one file per table family, plus the enumerations they share.

mod borough;
mod contract;
mod enums;
mod service_area;
mod supplier;
mod sync_run;
mod system;
mod tender;

pub use borough::{Borough, NewBorough};
pub use contract::{Contract, ContractServiceArea, NewContract};
pub use enums::{BoroughKind, DataAccess, Hosting, ProcurementRoute, Role, Source, UnknownVariant};
pub use service_area::{NewServiceArea, ServiceArea};
pub use supplier::{NewSupplier, Supplier, SupplierAlias};
pub use sync_run::{NewSyncRun, SyncRun};
pub use system::{NewSystem, System, SystemServiceArea};
pub use tender::{NewTender, Tender, TenderServiceArea};
