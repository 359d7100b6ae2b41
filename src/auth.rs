//! API keys and the callers they make: an extractor, so a handler's signature shows what it needs.
//!
//! A key looks like `ct_<prefix>_<secret>`: the 8-character prefix finds the key's row, and the
//! SHA-256 of the whole key is compared in constant time with the stored hash. Keys themselves are
//! never stored.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use std::sync::Arc;

use crate::db::DbPool;
use crate::error::ApiError;
use crate::guard::WriteLimiter;
use crate::models::Role;
use crate::queries::keys::{self, NewKey};

const KEY_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const PREFIX_LEN: usize = 8;
const SECRET_LEN: usize = 40;

fn random_chars(count: usize) -> String {
    let mut out = String::with_capacity(count);
    let mut buffer = [0u8; 64];
    while out.len() < count {
        getrandom::fill(&mut buffer).expect("the operating system's random number generator");
        // Rejection sampling keeps every character equally likely (252 = 7 * 36).
        for byte in buffer.iter().filter(|b| **b < 252) {
            if out.len() == count {
                break;
            }
            out.push(KEY_ALPHABET[(*byte % 36) as usize] as char);
        }
    }
    out
}

/// The stored form of a key.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Makes a new random key (about 206 bits of secret).
pub fn generate_key() -> NewKey {
    let prefix = random_chars(PREFIX_LEN);
    let key = format!("ct_{prefix}_{}", random_chars(SECRET_LEN));
    NewKey {
        hash: hash_key(&key),
        prefix,
        key,
    }
}

/// The prefix of a well-formed key, or None.
fn key_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("ct_")?;
    let (prefix, secret) = rest.split_once('_')?;
    let well_formed = prefix.len() == PREFIX_LEN
        && secret.len() == SECRET_LEN
        && prefix
            .bytes()
            .chain(secret.bytes())
            .all(|b| KEY_ALPHABET.contains(&b));
    well_formed.then_some(prefix)
}

/// Whether `key` hashes to `stored_hash`, compared in constant time.
pub fn key_matches(key: &str, stored_hash: &str) -> bool {
    hash_key(key)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// The holder of a valid key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHolder {
    pub key_id: i64,
    pub name: String,
    pub role: Role,
    pub borough_id: Option<String>,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No `Authorization` header: reads everything but assessment fields, writes nothing.
    Anonymous,
    /// A valid, unrevoked API key.
    Key(KeyHolder),
}

pub use crate::changelog::Actor;

impl Caller {
    /// Whether this caller may see satisfaction, value for money, confidence and notes.
    pub fn sees_assessments(&self) -> bool {
        matches!(self, Caller::Key(_))
    }

    /// The key making this call, whatever its role: 401 without one.
    pub fn require_key(&self) -> Result<&KeyHolder, ApiError> {
        self.holder()
    }

    fn holder(&self) -> Result<&KeyHolder, ApiError> {
        match self {
            Caller::Anonymous => Err(ApiError::Unauthorized(
                "this operation needs an API key: send `Authorization: Bearer <key>`".into(),
            )),
            Caller::Key(holder) => Ok(holder),
        }
    }

    /// The admin key making this call: 401 without a key, 403 with another role.
    pub fn require_admin(&self) -> Result<Actor, ApiError> {
        let holder = self.holder()?;
        if holder.role != Role::Admin {
            return Err(ApiError::Forbidden(format!(
                "a {} key cannot do this; it needs an admin key",
                holder.role
            )));
        }
        Ok(self.actor())
    }

    /// A key that may write some contracts (admin, or a borough's): 401 without one, 403 for readers.
    pub fn require_contract_writer(&self) -> Result<Actor, ApiError> {
        let holder = self.holder()?;
        if holder.role == Role::Reader {
            return Err(ApiError::Forbidden(
                "a reader key cannot write; contracts are written with an admin or borough key"
                    .into(),
            ));
        }
        Ok(self.actor())
    }

    /// 403 unless this caller may write contracts of `borough_id`.
    pub fn check_borough(&self, borough_id: &str) -> Result<(), ApiError> {
        let holder = self.holder()?;
        match (holder.role, holder.borough_id.as_deref()) {
            (Role::Admin, _) => Ok(()),
            (Role::Borough, Some(own)) if own == borough_id => Ok(()),
            (Role::Borough, Some(own)) => Err(ApiError::Forbidden(format!(
                "this key writes contracts of {own} only, not of {borough_id}"
            ))),
            _ => Err(ApiError::Forbidden(
                "this key cannot write contracts".into(),
            )),
        }
    }

    /// Who to record in the change log.
    pub fn actor(&self) -> Actor {
        match self {
            Caller::Anonymous => Actor {
                kind: "api_key",
                key_id: None,
                name: "anonymous".into(),
            },
            Caller::Key(holder) => Actor {
                kind: "api_key",
                key_id: Some(holder.key_id),
                name: holder.name.clone(),
            },
        }
    }
}

/// Reads the caller from `Authorization: Bearer <key>`.
async fn authenticate(req: HttpRequest) -> Result<Caller, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(Caller::Anonymous);
    };
    let malformed = || {
        ApiError::Unauthorized(
            "malformed Authorization header: expected `Bearer <key>` with a City Tools API key"
                .into(),
        )
    };
    let text = value.to_str().map_err(|_| malformed())?;
    let (scheme, key) = text.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed());
    }
    let key = key.trim().to_owned();
    let prefix = key_prefix(&key).ok_or_else(malformed)?.to_owned();
    let pool = req
        .app_data::<web::Data<DbPool>>()
        .ok_or_else(|| ApiError::Internal("no database pool registered".into()))?
        .clone();
    let found = crate::db::run(&pool, move |conn| Ok(keys::find_by_prefix(conn, &prefix)?)).await?;
    let invalid = || ApiError::Unauthorized("unknown or revoked API key".into());
    let stored = found.ok_or_else(invalid)?;
    if !key_matches(&key, &stored.key_hash) || stored.revoked_at.is_some() {
        return Err(invalid());
    }
    let role = stored
        .role
        .parse::<Role>()
        .map_err(|e| ApiError::Internal(format!("key {}: {e}", stored.id)))?;
    let key_id = stored.id;
    // A verified key pays for its writes; an unverified one paid only as its address.
    if crate::guard::is_write(req.method()) {
        let limiter = req.app_data::<web::Data<Option<Arc<WriteLimiter>>>>();
        if let Some(limiter) = limiter.and_then(|l| l.as_ref().as_ref()) {
            match limiter.check_key(key_id) {
                Ok(budget) => {
                    actix_web::HttpMessage::extensions_mut(&req).insert(budget);
                }
                Err(wait) => return Err(limiter.too_many(wait)),
            }
        }
    }
    crate::db::run(&pool, move |conn| Ok(keys::touch(conn, key_id)?)).await?;
    Ok(Caller::Key(KeyHolder {
        key_id,
        name: stored.name,
        role,
        borough_id: stored.borough_id,
    }))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_well_formed_and_distinct() {
        let a = generate_key();
        let b = generate_key();
        assert_ne!(a.key, b.key);
        assert_eq!(key_prefix(&a.key), Some(a.prefix.as_str()));
        assert_eq!(a.key.len(), 3 + PREFIX_LEN + 1 + SECRET_LEN);
        assert!(key_matches(&a.key, &a.hash));
        assert!(!key_matches(&b.key, &a.hash));
        assert_eq!(a.hash.len(), 64);
    }

    #[test]
    fn malformed_keys_have_no_prefix() {
        for key in [
            "",
            "ct_",
            "ct_abc_def",
            "xx_abcdefgh_0123456789012345678901234567890123456789",
        ] {
            assert_eq!(key_prefix(key), None, "{key}");
        }
        let upper = format!("ct_ABCDEFGH_{}", "a".repeat(SECRET_LEN));
        assert_eq!(key_prefix(&upper), None);
    }
}
