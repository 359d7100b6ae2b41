//! Insight answers kept in memory until the data changes.
//!
//! An anonymous `GET` of an insight (`/api/v1/insights/...` or a supplier's footprint) whose
//! answer is JSON is kept, under its path, query and `Accept`, for as long as the change log's
//! last id and the date stay the same. Every write the service makes (API, imports, sync,
//! purge, seed) logs its change in the write's own transaction and the log's ids are given in
//! commit order, so the last id a request reads says exactly which writes its answer may
//! include: an answer kept under that id is never older than what the request would compute.
//! Several instances each keep their own answers and each reads the id from the database, so a
//! write through any of them is seen by all.
//!
//! Answers with a key are not kept (a key may be revoked, and a key holder sees assessments).
//! Each answer says how it was served in `Cache-Status` (RFC 9211): `citytools; hit`, or
//! `citytools; fwd=miss` (with `stored` when it was kept).

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use chrono::{NaiveDate, Utc};
use futures_util::future::LocalBoxFuture;

use crate::db::{self, DbPool};
use crate::error::ApiError;

/// The most one answer may weigh to be kept.
const MAX_ANSWER: usize = 2 * 1024 * 1024;
/// The most all kept answers may weigh together; past it, they are all let go.
const MAX_TOTAL: usize = 32 * 1024 * 1024;

/// `Cache-Status` (RFC 9211).
const CACHE_STATUS: HeaderName = HeaderName::from_static("cache-status");

/// A kept answer: what a response needs besides its status (always 200).
#[derive(Debug)]
struct Answer {
    content_type: HeaderValue,
    link: Option<HeaderValue>,
    body: Bytes,
}

/// Which writes and which day the kept answers are of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    /// The change log's last id.
    change: i64,
    day: NaiveDate,
}

#[derive(Debug, Default)]
struct State {
    version: Option<Version>,
    answers: HashMap<String, Arc<Answer>>,
    bytes: usize,
}

/// One instance's kept answers.
#[derive(Debug, Default)]
pub struct Answers {
    state: Mutex<State>,
}

impl Answers {
    pub fn new() -> Arc<Answers> {
        Arc::new(Answers::default())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every change to the state is whole before the lock is let go.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The answer kept for `key` at `version`; a later version lets every older answer go.
    fn get(&self, version: Version, key: &str) -> Option<Arc<Answer>> {
        let mut state = self.state();
        match state.version {
            Some(kept) if kept == version => state.answers.get(key).cloned(),
            // A request that read an older version than the answers kept: it computes its own.
            Some(kept) if kept > version => None,
            _ => {
                state.version = Some(version);
                state.answers.clear();
                state.bytes = 0;
                None
            }
        }
    }

    /// Keeps `answer` for `key` when it is of the current version; reports whether it did.
    fn put(&self, version: Version, key: String, answer: Answer) -> bool {
        let mut state = self.state();
        if state.version != Some(version) {
            return false;
        }
        if state.bytes + answer.body.len() > MAX_TOTAL {
            state.answers.clear();
            state.bytes = 0;
        }
        state.bytes += answer.body.len();
        if let Some(replaced) = state.answers.insert(key, Arc::new(answer)) {
            state.bytes -= replaced.body.len();
        }
        true
    }
}

/// The key an answer to `req` is kept under, or None when it is not one to keep.
fn key_of(req: &ServiceRequest) -> Option<String> {
    let path = req.path();
    let insight = path.starts_with("/api/v1/insights/")
        || (path.starts_with("/api/v1/suppliers/") && path.ends_with("/footprint"));
    if req.method() != Method::GET || !insight || req.headers().contains_key(header::AUTHORIZATION)
    {
        return None;
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .unwrap_or("");
    Some(format!("{path}?{}\n{accept}", req.query_string()))
}

/// The version of the data `pool` holds now; None when the database does not answer (the
/// request then goes on uncached, and says so itself).
async fn current_version(pool: &web::Data<DbPool>) -> Option<Version> {
    let day = Utc::now().date_naive();
    let change = db::run(pool, |conn| {
        crate::queries::watches::latest_change_id(conn).map_err(ApiError::from)
    })
    .await
    .ok()?;
    Some(Version { change, day })
}

/// The middleware that answers from the kept answers (None: computes every answer).
#[derive(Clone)]
pub struct KeepAnswers(pub Option<Arc<Answers>>);

impl<S> Transform<S, ServiceRequest> for KeepAnswers
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>
        + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Transform = KeepAnswersService<S>;
    type InitError = ();
    type Future = std::future::Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        std::future::ready(Ok(KeepAnswersService {
            service: Rc::new(service),
            answers: self.0.clone(),
        }))
    }
}

pub struct KeepAnswersService<S> {
    service: Rc<S>,
    answers: Option<Arc<Answers>>,
}

impl<S> Service<ServiceRequest> for KeepAnswersService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>
        + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let kept = self.answers.clone().and_then(|answers| {
            let pool = req.app_data::<web::Data<DbPool>>()?.clone();
            Some((key_of(&req)?, pool, answers))
        });
        match kept {
            None => Box::pin(self.service.call(req)),
            Some((key, pool, answers)) => {
                let service = self.service.clone();
                Box::pin(async move { serve(req, key, pool, &*service, &answers).await })
            }
        }
    }
}

/// Answers `req` from the kept answers at the data's current version, or has `service`
/// answer it and keeps its answer.
async fn serve<S>(
    req: ServiceRequest,
    key: String,
    pool: web::Data<DbPool>,
    service: &S,
    answers: &Answers,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
{
    let Some(version) = current_version(&pool).await else {
        return service.call(req).await;
    };
    if let Some(answer) = answers.get(version, &key) {
        let mut response = HttpResponse::Ok();
        response
            .insert_header((header::CONTENT_TYPE, answer.content_type.clone()))
            .insert_header((CACHE_STATUS, HeaderValue::from_static("citytools; hit")));
        if let Some(link) = &answer.link {
            response.insert_header((header::LINK, link.clone()));
        }
        return Ok(req.into_response(response.body(answer.body.clone())));
    }
    let response = service.call(req).await?;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    let small = matches!(
        response.response().body().size(),
        BodySize::Sized(n) if n as usize <= MAX_ANSWER
    );
    if response.status() != StatusCode::OK || !json || !small {
        return Ok(response);
    }
    let (request, response) = response.into_parts();
    let (mut head, body) = response.into_parts();
    // Sized within the bound, so read whole (an inner layer may have wrapped the bytes).
    let body = match actix_web::body::to_bytes_limited(body, MAX_ANSWER).await {
        Ok(Ok(body)) => body,
        Ok(Err(error)) => return Err(ApiError::Internal(error.to_string()).into()),
        Err(_) => return Err(ApiError::Internal("an answer longer than it said".into()).into()),
    };
    let Some(content_type) = head.headers().get(header::CONTENT_TYPE).cloned() else {
        return Err(ApiError::Internal("a JSON answer without its type".into()).into());
    };
    let answer = Answer {
        content_type,
        link: head.headers().get(header::LINK).cloned(),
        body: body.clone(),
    };
    let status = match answers.put(version, key, answer) {
        true => "citytools; fwd=miss; stored",
        false => "citytools; fwd=miss",
    };
    head.headers_mut()
        .insert(CACHE_STATUS, HeaderValue::from_static(status));
    Ok(ServiceResponse::new(
        request,
        head.set_body(BoxBody::new(body)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(change: i64) -> Version {
        Version {
            change,
            day: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        }
    }

    fn answer(body: &'static str) -> Answer {
        Answer {
            content_type: HeaderValue::from_static("application/json"),
            link: None,
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn an_answer_is_kept_until_the_version_moves_on() {
        let answers = Answers::default();
        assert!(answers.get(version(5), "a").is_none());
        assert!(answers.put(version(5), "a".into(), answer("{}")));
        assert_eq!(answers.get(version(5), "a").unwrap().body, "{}");
        assert!(answers.get(version(6), "a").is_none(), "a newer write");
        assert!(answers.get(version(6), "a").is_none(), "let go");
    }

    #[test]
    fn an_answer_computed_at_an_older_version_is_not_kept() {
        let answers = Answers::default();
        answers.get(version(7), "a");
        assert!(answers.get(version(6), "a").is_none());
        assert!(!answers.put(version(6), "a".into(), answer("[]")));
        assert!(answers.get(version(7), "a").is_none());
    }

    #[test]
    fn a_new_day_lets_every_answer_go() {
        let answers = Answers::default();
        answers.get(version(1), "a");
        answers.put(version(1), "a".into(), answer("{}"));
        let tomorrow = Version {
            day: version(1).day.succ_opt().unwrap(),
            ..version(1)
        };
        assert!(answers.get(tomorrow, "a").is_none());
    }

    #[test]
    fn past_the_total_weight_the_answers_are_let_go() {
        let answers = Answers::default();
        answers.get(version(1), "a");
        let big = || Answer {
            content_type: HeaderValue::from_static("application/json"),
            link: None,
            body: Bytes::from(vec![b' '; MAX_ANSWER]),
        };
        for i in 0..(MAX_TOTAL / MAX_ANSWER + 1) {
            assert!(answers.put(version(1), format!("k{i}"), big()));
        }
        assert!(answers.state().bytes <= MAX_TOTAL);
        assert!(answers.get(version(1), "k0").is_none());
    }
}
