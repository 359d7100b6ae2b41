//! The one place routes are registered; used by `serve`, the tests and `citytools openapi`.

pub mod startup;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{DefaultHeaders, ErrorHandlerResponse, ErrorHandlers, Logger};
use std::sync::Arc;

use actix_web::dev::Service;
use actix_web::http::header::HeaderValue;
use actix_web::{web, App, HttpResponse};
use futures_util::future::Either;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::{scope, AppExt, UtoipaApp};
use utoipa_swagger_ui::SwaggerUi;

use crate::api;
use crate::api::params::ListFormat;
use crate::db::{self, DbPool};
use crate::error::{problem_response, FieldError, Problem, PROBLEM_JSON};
use crate::guard::{self, WriteLimiter};
use crate::page;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "City Tools API",
        description = "The open data layer behind City Tools: London. Which technology systems, from which \
suppliers, under which contracts, power each service area of London's 32 boroughs and the City of London.\n\n\
Lists take filters as query parameters (a multi-value filter comma-separated, repeated, or both), `sort` (prefix `-` for descending), \
`page` and `per_page` (at most 500), and come as JSON pages with a `Link` header or, with `format=csv` or \
`Accept: text/csv`, as every matching row in CSV. Errors are RFC 9457 `application/problem+json`.\n\n\
Real and invented data are told apart. The authorities' names, GSS codes, kinds and inner-London \
definitions come from the ONS register, and the suppliers and systems are real companies and products named \
from public information. The contracts loaded by default are ILLUSTRATIVE (`source = illustrative`): every \
date, value, rating and note on them is invented for demonstration, not survey or open data, and so is each \
borough's seeded `surveyed` flag. Every contract carries its `source`, and every insight answers with \
`sources`: the contracts behind it counted by source. A deployment started with \
`CITYTOOLS_SAMPLE_DATA=false` holds no illustrative contracts.",
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "boroughs", description = "The 32 London boroughs and the City of London"),
        (name = "service-areas", description = "Service areas in a two-level tree of groups and areas"),
        (name = "suppliers", description = "Suppliers of software and services, with other spellings of their names"),
        (name = "systems", description = "Products, their vendors and the service areas they serve"),
        (name = "contracts", description = "Each borough's contracts for systems and services"),
        (name = "insights", description = "The four uses of the data, one request each, over the contracts the filters select"),
        (name = "imports", description = "Contracts in from the survey template, council contract registers, Contracts Finder and OCDS"),
        (name = "changes", description = "Every write, in order: the feed for incremental sync"),
        (name = "tenders", description = "What London authorities are buying now, each with its incumbents: tender and planning notices from Contracts Finder and Find a Tender"),
        (name = "watches", description = "Saved searches over contracts and tenders, told through an Atom feed and signed webhooks"),
        (name = "sources", description = "The public sources contracts and tenders are synced from, and their latest runs"),
        (name = "health", description = "Liveness and readiness"),
    ),
    components(schemas(Problem, FieldError, ListFormat, api::insights::GroupInclude)),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

/// Declares the `bearer` security scheme: `Authorization: Bearer <key>`.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A City Tools API key, made with `citytools keys create`. Without one, \
                         every read works but assessment fields are left out; writes need one.",
                    ))
                    .build(),
            ),
        );
    }
}

fn routes<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.openapi(ApiDoc::openapi())
        .service(api::health::healthz)
        .service(api::health::readyz)
        .service(scope::scope("/api/v1").configure(api::configure))
}

/// The OpenAPI document of every registered operation.
pub fn openapi() -> OpenApiDocument {
    api::examples::with_examples(with_typed_assessment(with_workbooks(
        routes(App::new().into_utoipa_app()).split_for_parts().1,
    )))
}

/// `document` with the assessment fields typed in the `Contract` schema itself: its Rust type
/// flattens an optional `Assessment` (present for callers with a key, absent otherwise), which
/// utoipa writes as an `allOf` with a `oneOf` of null, out of reach of generated clients. As
/// properties of their own, not required, each nullable, they are what a client can use.
fn with_typed_assessment(mut document: OpenApiDocument) -> OpenApiDocument {
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    let Some(components) = document.components.as_mut() else {
        return document;
    };
    let as_json = |name: &str| {
        components
            .schemas
            .get(name)
            .and_then(|schema| serde_json::to_value(schema).ok())
            .unwrap_or_default()
    };
    let (contract, assessment) = (as_json("Contract"), as_json("Assessment"));
    let Some(mut object) = contract["allOf"]
        .as_array()
        .and_then(|parts| parts.iter().find(|part| part["type"] == "object").cloned())
    else {
        return document;
    };
    if let (Some(properties), Some(fields)) = (
        object["properties"].as_object_mut(),
        assessment["properties"].as_object(),
    ) {
        for (name, schema) in fields {
            let mut schema = schema.clone();
            let said = schema["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            schema["description"] = serde_json::Value::from(format!(
                "{said} Present only for callers with an API key."
            ));
            properties.insert(name.clone(), schema);
        }
    }
    if let Some(description) = contract.get("description").cloned() {
        object["description"] = description;
    }
    if let Ok(typed) = serde_json::from_value::<Schema>(object) {
        components
            .schemas
            .insert("Contract".to_owned(), RefOr::T(typed));
    }
    document
}

/// `document` with an Excel workbook beside every CSV answer: `format=xlsx` presents any CSV
/// answer as one (`api::presentation`), so every operation that answers CSV answers XLSX too.
fn with_workbooks(mut document: OpenApiDocument) -> OpenApiDocument {
    use utoipa::openapi::RefOr;
    for item in document.paths.paths.values_mut() {
        let Some(operation) = item.get.as_mut() else {
            continue;
        };
        if let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200") {
            if let Some(csv) = ok.content.get("text/csv").cloned() {
                ok.content.insert(crate::export::xlsx::XLSX.to_owned(), csv);
            }
        }
    }
    document
}

/// The OpenAPI document as committed in `openapi/openapi.json`.
pub fn openapi_json() -> String {
    let mut text = openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

/// What an instance is configured with beyond its database.
#[derive(Clone, Default)]
pub struct AppOptions {
    /// Browser origins allowed to write; reads are allowed from any origin.
    pub cors_origins: Arc<Vec<String>>,
    /// Shared by every worker of the instance; None for no limit.
    pub write_limiter: Option<Arc<WriteLimiter>>,
    /// The sources `serve` syncs in the background, as `/api/v1/sources` reports them.
    pub background_sync: api::sources::BackgroundSync,
    /// Whether webhooks may reach internal addresses.
    pub webhooks: api::watches::WebhookPolicy,
    /// A pool of its own for `/readyz`; None to share the API's.
    pub health_pool: Option<DbPool>,
    /// The bound on insights and downloads running at once; None for none.
    pub heavy_reads: Option<Arc<guard::HeavyReads>>,
    /// `CITYTOOLS_PUBLIC_URL`: the origin of absolute links; None for the request's `Host`.
    pub public_url: Option<String>,
    /// How long a request body may go without a byte; None for [`guard::BODY_IDLE`].
    pub body_idle: Option<std::time::Duration>,
    /// The statement timeout of an anonymous heavy read; None for
    /// [`guard::ANONYMOUS_HEAVY_TIMEOUT`].
    pub anonymous_heavy_timeout: Option<std::time::Duration>,
    /// Anonymous insight answers kept until the data changes, shared by every worker; None to
    /// compute every answer.
    pub answers: Option<Arc<api::answers::Answers>>,
}

impl AppOptions {
    /// The options `settings` asks for.
    pub fn from_settings(settings: &crate::config::Settings) -> AppOptions {
        AppOptions {
            cors_origins: Arc::new(settings.cors_origins.clone()),
            write_limiter: WriteLimiter::new(settings.write_rate_per_minute),
            background_sync: api::sources::BackgroundSync(settings.sync_sources.clone()),
            webhooks: api::watches::WebhookPolicy {
                allow_private: settings.webhook_allow_private,
            },
            health_pool: None,
            heavy_reads: Some(guard::HeavyReads::for_pool(settings.pool_size)),
            public_url: settings.public_url.clone(),
            body_idle: None,
            anonymous_heavy_timeout: None,
            answers: Some(api::answers::Answers::new()),
        }
    }
}

/// The whole application: API, OpenAPI document, docs UI, health checks and error handling,
/// behind CORS, write rate limits and security headers.
pub fn build_app(
    pool: DbPool,
    options: AppOptions,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, document) = routes(App::new().into_utoipa_app()).split_for_parts();
    let document = api::examples::with_examples(with_typed_assessment(with_workbooks(document)));
    let route_table = api::RouteTable::new(&document);
    let limiter = options.write_limiter.clone();
    let heavy_reads = options.heavy_reads.clone();
    let answers = options.answers.clone();
    let body_idle = options.body_idle.unwrap_or(guard::BODY_IDLE);
    let anonymous_heavy_ms = options
        .anonymous_heavy_timeout
        .unwrap_or(guard::ANONYMOUS_HEAVY_TIMEOUT)
        .as_millis()
        .clamp(1, u128::from(u32::MAX)) as u32;
    app.app_data(web::Data::new(pool))
        .app_data(web::Data::new(route_table))
        .app_data(web::Data::new(options.background_sync.clone()))
        .app_data(web::Data::new(options.webhooks))
        .app_data(web::Data::new(options.write_limiter.clone()))
        .app_data(web::Data::new(api::exports::PublicUrl(
            options.public_url.clone(),
        )))
        .app_data(web::Data::new(api::health::HealthPool(
            options.health_pool.clone(),
        )))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", document))
        .service(web::redirect("/docs", "/docs/"))
        .service(page::index)
        .service(page::file)
        .default_service(web::to(api::method_not_allowed))
        .wrap_fn(move |req, service| {
            let checked = limiter.as_ref().and_then(|limiter| {
                if !guard::is_write(req.method()) || !req.path().starts_with("/api/") {
                    return None;
                }
                // The address pays for every write; the key pays once it verifies (`auth`).
                let address = req.peer_addr()?.ip();
                Some(
                    limiter
                        .check_address(address)
                        .map_err(|wait| limiter.refusal(wait)),
                )
            });
            let (response, budget) = match checked {
                Some(Err(refusal)) => (
                    Either::Left(std::future::ready(Ok::<_, actix_web::Error>(
                        req.into_response(refusal).map_into_right_body(),
                    ))),
                    None,
                ),
                Some(Ok(budget)) => (Either::Right(service.call(req)), Some(budget)),
                None => (Either::Right(service.call(req)), None),
            };
            async move {
                let mut response = match response {
                    Either::Left(ready) => ready.await?,
                    Either::Right(call) => call.await?.map_into_left_body(),
                };
                // What is left of the budget that runs out first, the address's or the key's.
                let key = actix_web::HttpMessage::extensions(response.request())
                    .get::<guard::Budget>()
                    .copied();
                let left = match (budget, key) {
                    (Some(address), Some(key)) => Some(address.min(key)),
                    (address, key) => address.or(key),
                };
                if let Some(left) = left {
                    let refused = response.status() == StatusCode::TOO_MANY_REQUESTS;
                    let headers = response.headers_mut();
                    for (name, value) in left.headers() {
                        // A refusal says for itself what is left (nothing) and when it returns.
                        if !refused || name == "ratelimit-limit" {
                            headers.insert(name, value);
                        }
                    }
                }
                Ok(response)
            }
        })
        .wrap_fn(move |req, service| {
            let heavy = heavy_reads.as_ref().filter(|_| {
                guard::is_heavy(
                    req.path(),
                    req.query_string(),
                    req.headers().get(header::ACCEPT),
                )
            });
            // An anonymous heavy read's statements get a shorter timeout than a keyed one's,
            // and it may not take the places kept for callers with a key.
            let anonymous = !req.headers().contains_key(header::AUTHORIZATION);
            let place = match heavy.map(|limit| (limit.start(anonymous), limit)) {
                Some((None, limit)) => Err(limit.refusal(anonymous)),
                Some((Some(place), _)) => Ok(Some(place)),
                None => Ok(None),
            };
            let response = match place {
                Err(refusal) => Either::Left(std::future::ready(Ok(req
                    .into_response(refusal)
                    .map_into_boxed_body()))),
                Ok(Some(place)) if anonymous => Either::Right((
                    Either::Left(db::with_statement_timeout(
                        anonymous_heavy_ms,
                        service.call(req),
                    )),
                    Some(place),
                )),
                Ok(place) => Either::Right((Either::Right(service.call(req)), place)),
            };
            async move {
                match response {
                    Either::Left(ready) => ready.await,
                    Either::Right((call, None)) => call.await.map(|r| r.map_into_boxed_body()),
                    // The place is held until the body has been sent.
                    Either::Right((call, Some(place))) => call.await.map(|r| {
                        r.map_body(|_, body| {
                            BoxBody::new(guard::Holding {
                                body: body.boxed(),
                                place,
                            })
                        })
                    }),
                }
            }
        })
        // Outside the bound on heavy reads: a kept answer takes no place among them.
        .wrap(api::answers::KeepAnswers(answers))
        .wrap_fn(|req, service| {
            // `/api/v1/contracts/` is `/api/v1/contracts`: a trailing slash is redirected
            // (308 keeps the method and body) rather than answered with a 405 or 404.
            let trimmed = req.path().trim_end_matches('/');
            let response = if req.path().starts_with("/api/") && trimmed.len() < req.path().len() {
                let mut location = trimmed.to_owned();
                if !req.query_string().is_empty() {
                    location.push('?');
                    location.push_str(req.query_string());
                }
                let redirect = HttpResponse::PermanentRedirect()
                    .insert_header((header::LOCATION, location))
                    .finish();
                Either::Left(std::future::ready(Ok(req
                    .into_response(redirect)
                    .map_into_right_body())))
            } else {
                Either::Right(service.call(req))
            };
            async move {
                match response {
                    Either::Left(ready) => ready.await,
                    Either::Right(call) => call.await.map(ServiceResponse::map_into_left_body),
                }
            }
        })
        .wrap_fn(move |mut req, service| {
            // The body is read through a timeout, whoever reads it.
            let payload = actix_web::HttpMessage::take_payload(&mut req);
            req.set_payload(actix_web::dev::Payload::Stream {
                payload: Box::pin(guard::IdleBody::new(payload, body_idle)),
            });
            service.call(req)
        })
        .wrap(guard::cors(options.cors_origins.clone()))
        .wrap(ErrorHandlers::new().default_handler(as_problem))
        .wrap_fn(|req, service| {
            let policy = guard::content_security_policy(req.path());
            let call = service.call(req);
            async move {
                let mut response = call.await?;
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(policy),
                );
                // Representations depend on the key (assessment fields) and on Accept (CSV);
                // appended, as CORS adds a Vary of its own.
                headers.append(
                    header::VARY,
                    HeaderValue::from_static("Accept, Authorization"),
                );
                Ok(response)
            }
        })
        .wrap(
            DefaultHeaders::new()
                .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .add((header::X_FRAME_OPTIONS, "DENY"))
                .add((header::REFERRER_POLICY, "no-referrer"))
                .add(("Cross-Origin-Resource-Policy", "cross-origin")),
        )
        // HEAD is answered on every GET route, by the GET handler: the request is routed as a
        // GET, and the HTTP layer, which saw a HEAD, sends the headers without the body.
        .wrap_fn(|mut req, service| {
            if req.method() == actix_web::http::Method::HEAD {
                req.head_mut().method = actix_web::http::Method::GET;
            }
            // `bom=true` and `format=xlsx` apply to any CSV answer: the operation sees the query
            // without them (`format=csv` for `format=xlsx`), and its answer is presented so.
            let presentation = match api::presentation::take_presentation(req.query_string()) {
                Err(refusal) => {
                    let refused = req.error_response(refusal).map_into_boxed_body();
                    return Either::Left(std::future::ready(Ok(refused)));
                }
                Ok(None) => None,
                Ok(Some((asked, rest))) => {
                    let path = req.path().to_owned();
                    let uri = match rest.is_empty() {
                        true => path,
                        false => format!("{path}?{rest}"),
                    };
                    if let Ok(uri) = uri.parse::<actix_web::http::Uri>() {
                        req.match_info_mut().get_mut().update(&uri);
                        req.head_mut().uri = uri;
                    }
                    Some(asked)
                }
            };
            let call = service.call(req);
            Either::Right(async move {
                let response = call.await?.map_into_boxed_body();
                Ok(match presentation {
                    Some(asked) => api::presentation::present(response, asked).await,
                    None => response,
                })
            })
        })
        .wrap(Logger::new("%a \"%r\" %s %b %Dms"))
}

/// Gives every error response that is not already a problem (405s from the router, payload
/// errors from actix) an RFC 9457 body.
fn as_problem<B: MessageBody>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem || !(res.status().is_client_error() || res.status().is_server_error()) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => format!(
            "{} is not allowed on {}",
            res.request().method(),
            res.request().path()
        ),
        _ if status.is_server_error() => {
            "the service failed to answer this request; the fault has been logged".to_owned()
        }
        _ => res
            .response()
            .error()
            .map(|e| e.to_string())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
    };
    let (req, _) = res.into_parts();
    let response: HttpResponse<BoxBody> = problem_response(Problem::new(status, detail));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response)
            .map_into_right_body::<B>()
            .map_body(|_, body| {
                let body: EitherBody<B, BoxBody> = body;
                body
            }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_methods_come_from_the_documented_routes() {
        let table = api::RouteTable::new(&openapi());
        for (path, allowed) in [
            ("/healthz", Some("GET, HEAD")),
            ("/api/v1/boroughs", Some("GET, HEAD, POST")),
            (
                "/api/v1/contracts/42",
                Some("GET, HEAD, PUT, PATCH, DELETE"),
            ),
            // A concrete path before a templated one, as OpenAPI matches them.
            ("/api/v1/contracts/calendar.ics", Some("GET, HEAD")),
            ("/api/v1/boroughs/camden/peers", Some("GET, HEAD")),
            ("/api/v1/nothing", None),
            ("/api/v1/boroughs/camden/nothing", None),
            ("/api/v1/boroughs//contracts", None),
        ] {
            assert_eq!(table.allowed_methods(path).as_deref(), allowed, "{path}");
        }
    }

    /// The calendar example in the OpenAPI document is what the iCalendar writer writes.
    #[test]
    fn documented_calendar_is_what_the_writer_writes() {
        let document = serde_json::to_value(openapi()).unwrap();
        let example = &document["paths"]["/api/v1/contracts/calendar.ics"]["get"]["responses"]
            ["200"]["content"]["text/calendar"]["example"];
        let mut record = crate::export::fixtures::record(
            "Revenues and benefits system licence, support and maintenance",
        );
        record.contract.form.source = "illustrative".into();
        let written = format!(
            "{}{}{}",
            crate::export::ical::calendar_head(),
            crate::export::ical::calendar_event(&record, "https://api.example").unwrap(),
            crate::export::ical::CALENDAR_END
        );
        assert_eq!(example.as_str(), Some(written.as_str()));
    }
}
