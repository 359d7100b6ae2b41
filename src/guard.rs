//! Protection at the edge: write rate limits, CORS and security headers.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::HttpResponse;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{problem_response, Problem};

/// Limits writes and imports per API key and per client address (each limit applies on its
/// own). The counts live in this process: with several instances, each enforces its own.
pub struct WriteLimiter {
    by_key: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    per_minute: u32,
}

impl WriteLimiter {
    /// A limiter of `per_minute` writes, in bursts of up to that many; None when 0.
    pub fn new(per_minute: u32) -> Option<Arc<WriteLimiter>> {
        let rate = NonZeroU32::new(per_minute)?;
        let quota = Quota::per_minute(rate);
        Some(Arc::new(WriteLimiter {
            by_key: RateLimiter::keyed(quota),
            by_address: RateLimiter::keyed(quota),
            per_minute,
        }))
    }

    /// None when the write may go ahead; otherwise the seconds to wait.
    pub fn check(&self, key_prefix: Option<&str>, address: Option<IpAddr>) -> Option<u64> {
        let clock = DefaultClock::default();
        let wait = |until: governor::NotUntil<_>| until.wait_time_from(clock.now()).as_secs() + 1;
        if let Some(address) = address {
            if let Err(until) = self.by_address.check_key(&address) {
                return Some(wait(until));
            }
        }
        if let Some(prefix) = key_prefix {
            if let Err(until) = self.by_key.check_key(&prefix.to_owned()) {
                return Some(wait(until));
            }
        }
        // Forget idle clients now and then, so memory stays bounded.
        if self.by_address.len() > 10_000 || self.by_key.len() > 10_000 {
            self.by_address.retain_recent();
            self.by_key.retain_recent();
        }
        None
    }

    /// The 429 answer.
    pub fn refusal(&self, retry_after: u64) -> HttpResponse {
        let mut response = problem_response(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many writes: at most {} a minute per key and per address; retry in {retry_after} s",
                self.per_minute
            ),
        ));
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&retry_after.to_string()).expect("digits"),
        );
        response
    }
}

/// Whether a method changes data.
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The public prefix of the bearer key on a request, without checking it.
pub fn key_prefix(authorization: Option<&HeaderValue>) -> Option<String> {
    let text = authorization?.to_str().ok()?;
    let key = text
        .trim()
        .strip_prefix("Bearer ")
        .or_else(|| text.trim().strip_prefix("bearer "))?;
    let rest = key.trim().strip_prefix("ct_")?;
    rest.split_once('_').map(|(prefix, _)| prefix.to_owned())
}

/// CORS: reads from any origin, so browser dashboards work; writes only from `write_origins`.
pub fn cors(write_origins: Arc<Vec<String>>) -> Cors {
    Cors::default()
        .allowed_origin_fn(move |origin, head| {
            let requested = head
                .headers()
                .get(header::ACCESS_CONTROL_REQUEST_METHOD)
                .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
                .unwrap_or_else(|| head.method.clone());
            !is_write(&requested)
                || origin
                    .to_str()
                    .is_ok_and(|origin| write_origins.iter().any(|allowed| allowed == origin))
        })
        .allowed_methods(["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
        ])
        .expose_headers([
            header::ETAG,
            header::LINK,
            header::LOCATION,
            header::RETRY_AFTER,
        ])
        .max_age(3600)
}

/// The Content-Security-Policy for a path: none at all for API responses; the docs UI may
/// load its own scripts and styles.
pub fn content_security_policy(path: &str) -> &'static str {
    if path.starts_with("/docs") {
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
         script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_prefix_is_read_without_checking_the_key() {
        let header = HeaderValue::from_static("Bearer ct_abcdefgh_secret");
        assert_eq!(key_prefix(Some(&header)).as_deref(), Some("abcdefgh"));
        assert_eq!(key_prefix(Some(&HeaderValue::from_static("Basic x"))), None);
        assert_eq!(key_prefix(None), None);
    }

    #[test]
    fn a_burst_beyond_the_rate_is_refused_with_a_wait() {
        let limiter = WriteLimiter::new(3).unwrap();
        let address: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(None, Some(address)), None);
        }
        let wait = limiter.check(None, Some(address)).expect("refused");
        assert!((1..=21).contains(&wait), "{wait}");
        // Another address has its own allowance.
        assert_eq!(
            limiter.check(None, Some("127.0.0.2".parse().unwrap())),
            None
        );
        assert!(WriteLimiter::new(0).is_none());
    }
}
