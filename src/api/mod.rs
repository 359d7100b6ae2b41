//! HTTP handlers and wire types, one file per resource.

pub mod boroughs;
pub mod contracts;
pub mod health;
pub mod input;
pub mod params;
pub mod respond;
pub mod service_areas;
pub mod suppliers;
pub mod systems;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every `/api/v1` operation.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(boroughs::list_boroughs)
        .service(boroughs::get_borough)
        .service(boroughs::list_borough_contracts)
        .service(service_areas::list_service_areas)
        .service(service_areas::get_service_area)
        .service(suppliers::list_suppliers)
        .service(suppliers::get_supplier)
        .service(suppliers::list_supplier_contracts)
        .service(systems::list_systems)
        .service(systems::get_system)
        .service(systems::list_system_contracts)
        .service(contracts::list_contracts)
        .service(contracts::get_contract);
}

/// Who is asking: decides whether assessment fields are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// No API key: assessment fields are omitted everywhere.
    Anonymous,
}

impl Viewer {
    /// Whether this caller may see satisfaction, value for money, confidence and notes.
    pub fn sees_assessments(self) -> bool {
        match self {
            Viewer::Anonymous => false,
        }
    }
}
