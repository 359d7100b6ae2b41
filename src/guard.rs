//! Protection at the edge: write rate limits, CORS and security headers.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::HttpResponse;
use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};

use actix_web::ResponseError;

use crate::error::ApiError;

/// Limits writes and imports per API key and per client address (each limit applies on its
/// own). The counts live in this process: with several instances, each enforces its own.
pub struct WriteLimiter {
    /// Budgets of verified keys, by key id: charged only once a key has been checked, so a
    /// request that merely names a key's prefix cannot spend its budget.
    by_key: Keyed<i64>,
    by_address: Keyed<IpAddr>,
    per_minute: u32,
}

/// A keyed limiter that tells, with each write it lets through, how many more may follow.
type Keyed<K> = RateLimiter<
    K,
    governor::state::keyed::DefaultKeyedStateStore<K>,
    DefaultClock,
    governor::middleware::StateInformationMiddleware,
>;

/// What is left of a client's write budget after a write: for the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Writes a minute.
    pub limit: u32,
    /// Writes that may follow at once.
    pub remaining: u32,
    /// Seconds until the budget is whole again.
    pub reset: u64,
}

impl Budget {
    /// The smaller of two budgets (an address's and a key's): the one that runs out first.
    pub fn min(self, other: Budget) -> Budget {
        if other.remaining < self.remaining {
            other
        } else {
            self
        }
    }

    /// The `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers.
    pub fn headers(self) -> [(header::HeaderName, HeaderValue); 3] {
        [
            (
                header::HeaderName::from_static("ratelimit-limit"),
                self.limit.into(),
            ),
            (
                header::HeaderName::from_static("ratelimit-remaining"),
                self.remaining.into(),
            ),
            (
                header::HeaderName::from_static("ratelimit-reset"),
                self.reset.into(),
            ),
        ]
    }
}

impl WriteLimiter {
    /// A limiter of `per_minute` writes, in bursts of up to that many; None when 0.
    pub fn new(per_minute: u32) -> Option<Arc<WriteLimiter>> {
        let rate = NonZeroU32::new(per_minute)?;
        let quota = Quota::per_minute(rate);
        Some(Arc::new(WriteLimiter {
            by_key: RateLimiter::keyed(quota).with_middleware(),
            by_address: RateLimiter::keyed(quota).with_middleware(),
            per_minute,
        }))
    }

    /// Charges a write to the client's address, keyed or not: what is left of its budget when
    /// it may go ahead, otherwise the seconds to wait.
    pub fn check_address(&self, address: IpAddr) -> Result<Budget, u64> {
        let checked = self.by_address.check_key(&address);
        self.forget_idle();
        checked.map(|state| self.budget(state)).map_err(wait_secs)
    }

    /// Charges a write to the verified key `key_id`: what is left of its budget when it may go
    /// ahead, otherwise the seconds to wait.
    pub fn check_key(&self, key_id: i64) -> Result<Budget, u64> {
        let checked = self.by_key.check_key(&key_id);
        self.forget_idle();
        checked.map(|state| self.budget(state)).map_err(wait_secs)
    }

    fn budget(&self, state: governor::middleware::StateSnapshot) -> Budget {
        let remaining = state.remaining_burst_capacity();
        let spent = u64::from(self.per_minute.saturating_sub(remaining));
        Budget {
            limit: self.per_minute,
            remaining,
            // One write comes back every 60 / per_minute seconds.
            reset: (spent * 60).div_ceil(u64::from(self.per_minute)),
        }
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

    /// The 429 answer, with the budget's headers.
    pub fn refusal(&self, retry_after: u64) -> HttpResponse {
        let mut response = self.too_many(retry_after).error_response();
        let spent = Budget {
            limit: self.per_minute,
            remaining: 0,
            reset: retry_after,
        };
        for (name, value) in spent.headers() {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// Seconds until a refused client may try again, rounded up.
fn wait_secs(until: governor::NotUntil<governor::clock::QuantaInstant>) -> u64 {
    until
        .wait_time_from(DefaultClock::default().now())
        .as_secs()
        + 1
}

/// Bounds the heavy reads (insights and whole-table downloads: CSV, OCDS, calendars) running at
/// once, so that they can never hold every database connection: the rest stay for cheap reads
/// and writes. Heavy reads without a key may take all but [`KEPT_FOR_KEYS`] of the places, so
/// that anonymous callers can never crowd out those with a key. A heavy read beyond its bound
/// is a 503 with `Retry-After`, at once.
pub struct HeavyReads {
    permits: Arc<tokio::sync::Semaphore>,
    anonymous: Arc<tokio::sync::Semaphore>,
    at_once: usize,
    anonymous_at_once: usize,
}

/// The places of heavy reads that only callers with a key may take (fewer when there are
/// fewer places: anonymous callers keep at least one).
pub const KEPT_FOR_KEYS: usize = 2;

/// A heavy read's place (and, without a key, its place among the anonymous ones), held until
/// its response has been sent.
pub struct Place {
    _place: tokio::sync::OwnedSemaphorePermit,
    _anonymous: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl HeavyReads {
    /// At most `at_once` heavy reads at a time (at least one).
    pub fn new(at_once: usize) -> Arc<HeavyReads> {
        let at_once = at_once.max(1);
        let anonymous_at_once = at_once.saturating_sub(KEPT_FOR_KEYS).max(1);
        Arc::new(HeavyReads {
            permits: Arc::new(tokio::sync::Semaphore::new(at_once)),
            anonymous: Arc::new(tokio::sync::Semaphore::new(anonymous_at_once)),
            at_once,
            anonymous_at_once,
        })
    }

    /// For a pool of `pool_size` connections: half of them.
    pub fn for_pool(pool_size: u32) -> Arc<HeavyReads> {
        HeavyReads::new(pool_size as usize / 2)
    }

    /// A place for one heavy read (of a caller without a key when `anonymous`), held until its
    /// response has been sent; None when all are taken.
    pub fn start(&self, anonymous: bool) -> Option<Place> {
        let anonymous = match anonymous {
            true => Some(self.anonymous.clone().try_acquire_owned().ok()?),
            false => None,
        };
        Some(Place {
            _place: self.permits.clone().try_acquire_owned().ok()?,
            _anonymous: anonymous,
        })
    }

    /// The 503 of a heavy read beyond the bound (of a caller without a key when `anonymous`).
    pub fn refusal(&self, anonymous: bool) -> HttpResponse {
        let detail = match anonymous {
            true => format!(
                "{} insights and downloads without a key are running, the most this instance \
                 runs at once ({} in all, the rest kept for callers with a key); retry in a few \
                 seconds, or narrow the request",
                self.anonymous_at_once, self.at_once
            ),
            false => format!(
                "{} insights and downloads are running, the most this instance runs at once; \
                 retry in a few seconds, or narrow the request",
                self.at_once
            ),
        };
        crate::error::problem_response(crate::error::Problem::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            detail,
        ))
    }
}

/// The statement timeout of a heavy read made without a key: long enough for any insight or
/// download at a million contracts on a small machine, and a third of a keyed one's (30 s).
pub const ANONYMOUS_HEAVY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether a request is a heavy read: an insight, or every matching record as CSV, OCDS or a
/// calendar.
pub fn is_heavy(path: &str, query: &str, accept: Option<&HeaderValue>) -> bool {
    if !path.starts_with("/api/") {
        return false;
    }
    let download = form_urlencoded::parse(query.as_bytes())
        .any(|(name, value)| name == "format" && matches!(value.as_ref(), "csv" | "ocds"));
    let csv = accept
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    path.starts_with("/api/v1/insights") || path.ends_with("/calendar.ics") || download || csv
}

/// A response body that holds a heavy read's place until the body has been sent (a download
/// keeps its connection while it streams).
pub struct Holding {
    pub body: actix_web::body::BoxBody,
    pub place: Place,
}

impl actix_web::body::MessageBody for Holding {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> actix_web::body::BodySize {
        self.body.size()
    }

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<actix_web::web::Bytes, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
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

/// The Content-Security-Policy for a path: none at all for API responses; the dashboard its
/// own scripts, styles and requests, nothing inline; the docs UI may load its own scripts and
/// styles.
pub fn content_security_policy(path: &str) -> &'static str {
    if path == "/" || path.starts_with("/assets/") {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    } else if path.starts_with("/docs") {
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
         script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    }
}

/// How long a request body may go without a byte arriving before the request is refused: a
/// client cannot hold a request open by sending its body slowly, or not at all.
pub const BODY_IDLE: std::time::Duration = std::time::Duration::from_secs(10);

/// A request body that fails once nothing has arrived for `idle`.
pub struct IdleBody {
    inner: actix_web::dev::Payload,
    idle: std::time::Duration,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    timed_out: bool,
}

impl IdleBody {
    /// `inner`, failing after `idle` without a byte.
    pub fn new(inner: actix_web::dev::Payload, idle: std::time::Duration) -> IdleBody {
        IdleBody {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            timed_out: false,
        }
    }
}

impl futures_util::stream::Stream for IdleBody {
    type Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::future::Future;
        use std::task::Poll;
        if self.timed_out {
            return Poll::Ready(None);
        }
        match std::pin::Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(item) => {
                let next = tokio::time::Instant::now() + self.idle;
                self.deadline.as_mut().reset(next);
                Poll::Ready(item)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.timed_out = true;
                    Poll::Ready(Some(Err(actix_web::error::PayloadError::Io(
                        std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!(
                                "no part of the request body arrived for {} s; send the body \
                                 whole and at once",
                                self.idle.as_secs()
                            ),
                        ),
                    ))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_beyond_the_rate_is_refused_with_a_wait() {
        let limiter = WriteLimiter::new(3).unwrap();
        let address: IpAddr = "127.0.0.1".parse().unwrap();
        for remaining in [2, 1, 0] {
            let budget = limiter.check_address(address).expect("allowed");
            assert_eq!((budget.limit, budget.remaining), (3, remaining));
            // Each write spent comes back in 20 s.
            assert_eq!(budget.reset, u64::from(3 - remaining) * 20);
        }
        let wait = limiter.check_address(address).expect_err("refused");
        assert!((1..=21).contains(&wait), "{wait}");
        // Another address, and any key, have their own allowances.
        assert!(limiter.check_address("127.0.0.2".parse().unwrap()).is_ok());
        for _ in 0..3 {
            assert!(limiter.check_key(7).is_ok());
        }
        assert!(limiter.check_key(7).is_err());
        assert!(limiter.check_key(8).is_ok());
        assert!(WriteLimiter::new(0).is_none());
    }
}
