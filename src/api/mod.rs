//! HTTP handlers and wire types, one file per resource.

pub mod boroughs;
pub mod changes;
pub mod contracts;
pub mod exports;
pub mod filters;
pub mod health;
pub mod input;
pub mod insights;
pub mod params;
pub mod respond;
pub mod service_areas;
pub mod suppliers;
pub mod systems;
pub mod writes;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every `/api/v1` operation.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(boroughs::list_boroughs)
        .service(boroughs::create_borough)
        .service(boroughs::get_borough)
        .service(boroughs::replace_borough)
        .service(boroughs::update_borough)
        .service(boroughs::delete_borough)
        .service(boroughs::list_borough_contracts)
        .service(service_areas::list_service_areas)
        .service(service_areas::create_service_area)
        .service(service_areas::get_service_area)
        .service(service_areas::replace_service_area)
        .service(service_areas::update_service_area)
        .service(service_areas::delete_service_area)
        .service(suppliers::list_suppliers)
        .service(suppliers::create_supplier)
        .service(suppliers::get_supplier)
        .service(suppliers::replace_supplier)
        .service(suppliers::update_supplier)
        .service(suppliers::delete_supplier)
        .service(suppliers::list_supplier_contracts)
        .service(systems::list_systems)
        .service(systems::create_system)
        .service(systems::get_system)
        .service(systems::replace_system)
        .service(systems::update_system)
        .service(systems::delete_system)
        .service(systems::list_system_contracts)
        .service(contracts::list_contracts)
        .service(contracts::create_contract)
        // Before `/contracts/{id}`, which would otherwise take `calendar.ics` for an id.
        .service(exports::get_contracts_calendar)
        .service(contracts::get_contract)
        .service(contracts::replace_contract)
        .service(contracts::update_contract)
        .service(contracts::delete_contract)
        .service(changes::list_changes)
        .service(insights::joint_procurement)
        .service(insights::expertise)
        .service(insights::opportunities)
        .service(insights::market_share)
        .service(insights::vendor_satisfaction)
        .service(insights::expiry_timeline)
        .service(insights::summary)
        .service(insights::data_access)
        .service(insights::list_borough_peers)
        .service(insights::get_supplier_footprint);
}
