//! Protection at the edge: write rate limits, CORS and security headers.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::http::header;
use actix_web::http::Method;
use actix_web::HttpResponse;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use actix_web::ResponseError;

use crate::error::ApiError;

/// Limits writes and imports per API key and per client address (each limit applies on its
/// own). The counts live in this process: with several instances, each enforces its own.
pub struct WriteLimiter {
    /// Budgets of verified keys, by key id: charged only once a key has been checked, so a
    /// request that merely names a key's prefix cannot spend its budget.
    by_key: DefaultKeyedRateLimiter<i64>,
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

    /// Charges a write to the client's address, keyed or not: None when it may go ahead,
    /// otherwise the seconds to wait.
    pub fn check_address(&self, address: IpAddr) -> Option<u64> {
        let checked = self.by_address.check_key(&address);
        self.forget_idle();
        checked.err().map(wait_secs)
    }

    /// Charges a write to the verified key `key_id`: None when it may go ahead, otherwise the
    /// seconds to wait.
    pub fn check_key(&self, key_id: i64) -> Option<u64> {
        let checked = self.by_key.check_key(&key_id);
        self.forget_idle();
        checked.err().map(wait_secs)
    }

    /// Forgets idle clients now and then, so memory stays bounded.
    fn forget_idle(&self) {
        if self.by_address.len() > 10_000 || self.by_key.len() > 10_000 {
            self.by_address.retain_recent();
            self.by_key.retain_recent();
        }
    }

    /// The refusal of a write over the rate, waiting `retry_after` seconds.
    pub fn too_many(&self, retry_after: u64) -> ApiError {
        ApiError::TooManyRequests {
            detail: format!(
                "too many writes: at most {} a minute per key and per address; retry in {retry_after} s",
                self.per_minute
            ),
            retry_after,
        }
    }

    /// The 429 answer.
    pub fn refusal(&self, retry_after: u64) -> HttpResponse {
        self.too_many(retry_after).error_response()
    }
}

/// Seconds until a refused client may try again, rounded up.
fn wait_secs(until: governor::NotUntil<governor::clock::QuantaInstant>) -> u64 {
    until
        .wait_time_from(DefaultClock::default().now())
        .as_secs()
        + 1
}

/// Whether a method changes data.
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
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
    fn a_burst_beyond_the_rate_is_refused_with_a_wait() {
        let limiter = WriteLimiter::new(3).unwrap();
        let address: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check_address(address), None);
        }
        let wait = limiter.check_address(address).expect("refused");
        assert!((1..=21).contains(&wait), "{wait}");
        // Another address, and any key, have their own allowances.
        assert_eq!(limiter.check_address("127.0.0.2".parse().unwrap()), None);
        for _ in 0..3 {
            assert_eq!(limiter.check_key(7), None);
        }
        assert!(limiter.check_key(7).is_some());
        assert_eq!(limiter.check_key(8), None);
        assert!(WriteLimiter::new(0).is_none());
    }
}
