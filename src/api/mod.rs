//! HTTP handlers and wire types, one file per resource.

pub mod answers;
pub mod boroughs;
pub mod changes;
pub mod contracts;
pub mod docs;
pub mod examples;
pub mod exports;
pub mod filters;
pub mod health;
pub mod imports;
pub mod input;
pub mod insights;
pub mod pagination;
pub mod params;
pub mod presentation;
pub mod resource;
pub mod respond;
pub mod service_areas;
pub mod sources;
pub mod stream;
pub mod suppliers;
pub mod systems;
pub mod tenders;
pub mod watches;
pub mod writes;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::openapi::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{problem_response, Problem};

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
        // Any other method on the calendar's path is a 405, not a write to a contract whose id
        // is `calendar.ics`.
        .route(
            "/contracts/calendar.ics",
            web::route().to(method_not_allowed),
        )
        .service(contracts::get_contract)
        .service(contracts::replace_contract)
        .service(contracts::update_contract)
        .service(contracts::delete_contract)
        .service(changes::list_changes)
        .service(imports::import_contracts)
        .service(insights::joint_procurement)
        .service(insights::expertise)
        .service(insights::opportunities)
        .service(insights::market_share)
        .service(insights::estate)
        .service(insights::vendor_satisfaction)
        .service(insights::expiry_timeline)
        .service(insights::summary)
        .service(insights::data_access)
        .service(insights::list_borough_peers)
        .service(insights::get_supplier_footprint)
        .service(sources::list_sources)
        .service(tenders::list_tenders)
        .service(tenders::get_tender)
        .service(watches::create_watch)
        .service(watches::list_watches)
        .service(watches::get_watch)
        .service(watches::delete_watch)
        .service(watches::list_deliveries)
        .service(watches::get_feed);
}

/// Each documented path as segments (`None` for a `{parameter}`), with the methods it takes:
/// what the fallback answers requests no route took from. Built once from the app's OpenAPI
/// document and given to the handlers as app data, so the API needs no way back to the app.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<(Vec<Option<String>>, Vec<&'static str>)>,
}

impl RouteTable {
    /// The routes of every path of `document`.
    pub fn new(document: &OpenApi) -> RouteTable {
        let routes = document
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let segments = template
                    .trim_matches('/')
                    .split('/')
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                    .collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    // Every GET route answers HEAD too (see `app::build_app`).
                    ("HEAD", item.head.is_some() || item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("OPTIONS", item.options.is_some()),
                    ("TRACE", item.trace.is_some()),
                ]
                .into_iter()
                .filter_map(|(name, present)| present.then_some(name))
                .collect();
                (segments, methods)
            })
            .collect();
        RouteTable { routes }
    }

    /// The methods the API answers on `path`, as an `Allow` header lists them (`GET, POST`),
    /// when some documented path matches it; `None` when none does. A known path with another
    /// method is a 405 with this `Allow`, not a 404.
    pub fn allowed_methods(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let matching: Vec<_> = self
            .routes
            .iter()
            .filter(|(template, _)| {
                template.len() == segments.len()
                    && template
                        .iter()
                        .zip(&segments)
                        .all(|(want, got)| match want {
                            Some(literal) => literal == got,
                            None => !got.is_empty(),
                        })
            })
            .collect();
        // As OpenAPI matches paths: a concrete path (`/contracts/calendar.ics`) before a
        // templated one (`/contracts/{id}`), so the fewest parameters win.
        let parameters =
            |template: &[Option<String>]| template.iter().filter(|s| s.is_none()).count();
        let fewest = matching
            .iter()
            .map(|(template, _)| parameters(template))
            .min()?;
        let mut allowed: Vec<&'static str> = Vec::new();
        for (_, methods) in matching
            .iter()
            .filter(|(template, _)| parameters(template) == fewest)
        {
            for method in methods {
                if !allowed.contains(method) {
                    allowed.push(method);
                }
            }
        }
        Some(allowed.join(", "))
    }
}

/// A 405 problem with `Allow`, for a documented path asked with a method it does not take (a
/// 404 when no documented path matches, or when the app registered no [`RouteTable`]).
pub async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let allowed = req
        .app_data::<web::Data<RouteTable>>()
        .and_then(|table| table.allowed_methods(req.path()));
    let Some(allowed) = allowed else {
        return problem_response(Problem::new(
            StatusCode::NOT_FOUND,
            format!(
                "no route for {} {}; see /docs for the API",
                req.method(),
                req.path()
            ),
        ));
    };
    let mut response = problem_response(Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} is not allowed on {}; it takes {allowed}",
            req.method(),
            req.path()
        ),
    ));
    if let Ok(value) = header::HeaderValue::from_str(&allowed) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::{OpenApiBuilder, PathsBuilder};

    use super::*;

    fn table(paths: &[(&str, &[HttpMethod])]) -> RouteTable {
        let mut builder = PathsBuilder::new();
        for (path, methods) in paths {
            for method in *methods {
                builder = builder.path(
                    *path,
                    PathItem::new(method.clone(), OperationBuilder::new().build()),
                );
            }
        }
        RouteTable::new(&OpenApiBuilder::new().paths(builder.build()).build())
    }

    #[test]
    fn a_concrete_path_wins_over_a_templated_one() {
        let table = table(&[
            ("/things/{id}", &[HttpMethod::Get, HttpMethod::Delete]),
            ("/things/list.csv", &[HttpMethod::Get]),
            ("/things/{id}/parts", &[HttpMethod::Get]),
        ]);
        assert_eq!(
            table.allowed_methods("/things/list.csv").as_deref(),
            Some("GET, HEAD")
        );
        assert_eq!(
            table.allowed_methods("/things/7").as_deref(),
            Some("GET, HEAD, DELETE")
        );
        assert_eq!(table.allowed_methods("/things"), None);
        assert_eq!(table.allowed_methods("/things//parts"), None);
    }

    #[test]
    fn no_table_knows_no_route() {
        assert_eq!(RouteTable::default().allowed_methods("/healthz"), None);
    }
}
