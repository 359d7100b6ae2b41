//! Webhook delivery: each pending delivery POSTed as JSON, signed, at least once.
//!
//! An instance claims due deliveries with a lease (so others skip them), sends each outside any
//! transaction, and records the try: delivered on a 2xx, otherwise retried after a backoff that
//! doubles from `backoff` up to an hour, for `give_up_after` (a day), then failed. An instance
//! killed mid-delivery leaves its lease to lapse, and the delivery is tried again: at least once.

use std::net::{IpAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;

use super::signature;
use crate::db::DbPool;
use crate::queries::watches::{self as query, Claimed, TryResult};

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Whether webhooks may reach loopback, private and link-local addresses
    /// (`CITYTOOLS_WEBHOOK_ALLOW_PRIVATE`; for tests and closed networks).
    pub allow_private: bool,
    /// Time for one POST, connection to answer.
    pub timeout: Duration,
    /// The first wait before a retry; each later one doubles, up to an hour.
    pub backoff: Duration,
    /// How long after the event a delivery is retried before it fails.
    pub give_up_after: Duration,
    /// How long a claim keeps other instances off a delivery.
    pub lease: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            allow_private: false,
            timeout: Duration::from_secs(10),
            backoff: Duration::from_secs(30),
            give_up_after: Duration::from_secs(24 * 3600),
            lease: Duration::from_secs(60),
        }
    }
}

/// The longest wait between two tries.
const LONGEST_BACKOFF: Duration = Duration::from_secs(3600);

/// Deliveries claimed at once.
const PER_TURN: i64 = 50;

/// Why a webhook address is refused, if it is: not http(s), no host, a host that does not
/// resolve, or one that resolves to a loopback, private, link-local or otherwise internal
/// address (unless `allow_private`).
pub fn check_address(url: &str, allow_private: bool) -> Result<(), String> {
    let uri: ureq::http::Uri = url.parse().map_err(|_| format!("{url:?} is not a URL"))?;
    let port = match uri.scheme_str() {
        Some("https") => 443,
        Some("http") => 80,
        _ => return Err("must be an http or https URL".into()),
    };
    let host = uri
        .host()
        .ok_or_else(|| "names no host".to_owned())?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let addresses: Vec<IpAddr> = (host.as_str(), uri.port_u16().unwrap_or(port))
        .to_socket_addrs()
        .map_err(|e| format!("the host {host:?} does not resolve: {e}"))?
        .map(|a| a.ip())
        .collect();
    if addresses.is_empty() {
        return Err(format!("the host {host:?} does not resolve"));
    }
    if !allow_private {
        if let Some(internal) = addresses.iter().find(|ip| is_internal(ip)) {
            return Err(format!(
                "the host {host:?} is at {internal}, a loopback, private or link-local address, \
                 which webhooks may not reach"
            ));
        }
    }
    Ok(())
}

/// Loopback, private, link-local, unspecified, shared (CGNAT), broadcast, multicast or
/// documentation addresses, in IPv4 or IPv6 (IPv4-mapped included).
fn is_internal(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(&IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// The JSON a webhook receives for one delivery.
pub fn payload(claimed: &Claimed) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "event": claimed.event,
        "watch_id": claimed.watch_id,
        "delivery_id": claimed.id,
        "record": claimed.record,
    }))
    .unwrap_or_default()
}

/// A turn claims batches until none is due or this long has passed, so the upkeep loop keeps
/// its rhythm.
const TURN_BUDGET: Duration = Duration::from_secs(10);

/// One turn: claims due deliveries, a batch at a time, and tries each; returns how many were
/// tried.
pub fn turn(pool: &DbPool, settings: &DeliverySettings) -> Result<usize, String> {
    let started = Instant::now();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(settings.timeout))
        .user_agent(format!(
            "citytools/{} (City Tools API webhook)",
            env!("CARGO_PKG_VERSION")
        ))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let lease = settings.lease.as_secs().max(1) as i64;
    let mut tried = 0;
    while started.elapsed() < TURN_BUDGET {
        let claimed = {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            query::claim(&mut conn, PER_TURN, lease).map_err(|e| e.to_string())?
        };
        if claimed.is_empty() {
            break;
        }
        // No connection is held while waiting on receivers.
        for delivery in &claimed {
            let result = send(&agent, delivery, settings);
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            query::record_try(&mut conn, delivery.id, &result).map_err(|e| e.to_string())?;
            tried += 1;
        }
    }
    Ok(tried)
}

/// Sends one delivery and says what follows.
fn send(agent: &ureq::Agent, delivery: &Claimed, settings: &DeliverySettings) -> TryResult {
    let started = Instant::now();
    let outcome = match (&delivery.url, &delivery.secret) {
        (Some(url), Some(secret)) => check_address(url, settings.allow_private).and_then(|()| {
            let body = payload(delivery);
            let now = Utc::now().timestamp();
            agent
                .post(url)
                .header("Content-Type", "application/json")
                .header(
                    signature::HEADER,
                    &signature::header_value(secret, now, &body),
                )
                .header("CityTools-Event", &delivery.event)
                .header("CityTools-Delivery", &delivery.id.to_string())
                .send(&body[..])
                .map(|response| response.status().as_u16())
                .map_err(|e| e.to_string())
        }),
        _ => Err("the watch no longer has a webhook".to_owned()),
    };
    let duration_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    let (status_code, error) = match outcome {
        Ok(status) if (200..300).contains(&status) => (Some(i32::from(status)), None),
        Ok(status) => (
            Some(i32::from(status)),
            Some(format!("the receiver answered {status}")),
        ),
        Err(why) => (None, Some(why)),
    };
    let delivered = error.is_none();
    TryResult {
        status_code,
        error,
        duration_ms,
        delivered,
        retry_at: (!delivered)
            .then(|| retry_at(delivery.created_at, delivery.attempts + 1, settings))
            .flatten(),
    }
}

/// When to try again after the `tries`th failure, or None once the delivery is older than
/// `give_up_after`.
fn retry_at(
    created: DateTime<Utc>,
    tries: i32,
    settings: &DeliverySettings,
) -> Option<DateTime<Utc>> {
    let factor = 2u32.saturating_pow(u32::try_from(tries - 1).unwrap_or(0).min(20));
    let wait = settings.backoff.saturating_mul(factor).min(LONGEST_BACKOFF);
    let at = Utc::now() + chrono::Duration::from_std(wait).ok()?;
    let give_up = created + chrono::Duration::from_std(settings.give_up_after).ok()?;
    (at <= give_up).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(&internal.parse().unwrap()), "{internal}");
        }
        for public in ["8.8.8.8", "151.101.1.69", "2a04:4e42::1"] {
            assert!(!is_internal(&public.parse().unwrap()), "{public}");
        }
        assert!(check_address("http://127.0.0.1:9/hook", false).is_err());
        assert!(check_address("http://[::1]:9/hook", false).is_err());
        assert!(check_address("http://127.0.0.1:9/hook", true).is_ok());
        assert!(check_address("ftp://example.org/", true).is_err());
        assert!(check_address("not a url", true).is_err());
    }

    #[test]
    fn retries_back_off_and_stop_after_a_day() {
        let settings = DeliverySettings::default();
        let now = Utc::now();
        let first = retry_at(now, 1, &settings).unwrap();
        let third = retry_at(now, 3, &settings).unwrap();
        assert!((first - now).num_seconds() >= 29 && (first - now).num_seconds() <= 31);
        assert!((third - now).num_seconds() >= 119);
        let old = now - chrono::Duration::hours(24);
        assert_eq!(retry_at(old, 5, &settings), None);
    }
}
