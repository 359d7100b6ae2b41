//! Settings from the environment, with defaults that work out of the box.

use std::env;
use std::path::PathBuf;
use std::time::Duration;

use crate::sync::SourceName;

/// Default address the HTTP server listens on.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default directory for the private PostgreSQL cluster, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = ".citytools";
/// Default number of database connections per service instance.
pub const DEFAULT_POOL_SIZE: u32 = 10;
/// Default prefix of the OCDS contracting-process ids (`ocid`s) in OCDS exports. A publisher of
/// real data registers its own prefix with the OCDS Data Support Team and sets it instead.
pub const DEFAULT_OCID_PREFIX: &str = "ocds-citytools";

/// Runtime settings. Every field has a default, so no configuration is needed to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATABASE_URL`: an existing PostgreSQL database; when unset, a private cluster is run.
    pub database_url: Option<String>,
    /// `CITYTOOLS_BIND`: the address and port to listen on.
    pub bind: String,
    /// `CITYTOOLS_DATA_DIR`: where the private cluster keeps its data.
    pub data_dir: PathBuf,
    /// `CITYTOOLS_POOL_SIZE`: maximum database connections held by this instance.
    pub pool_size: u32,
    /// `CITYTOOLS_OCID_PREFIX`: the prefix of every `ocid` in OCDS exports.
    pub ocid_prefix: String,
    /// `CITYTOOLS_PUBLIC_URL`: the service's address for absolute links (OCDS, iCalendar,
    /// feeds); unset, the request's `Host`.
    pub public_url: Option<String>,
    /// `CITYTOOLS_CORS_ORIGINS`: browser origins allowed to write (GETs are allowed from any).
    pub cors_origins: Vec<String>,
    /// `CITYTOOLS_WRITE_RATE`: writes and imports a minute per key and per address; 0 for none.
    pub write_rate_per_minute: u32,
    /// `CITYTOOLS_CLIENT_TIMEOUT`: seconds a client has to send a request's headers.
    pub client_timeout_secs: u32,
    /// `CITYTOOLS_SAMPLE_DATA`: whether seeding an empty database adds the illustrative
    /// (invented) contracts as well as the catalogue.
    pub sample_data: bool,
    /// `CITYTOOLS_SYNC`: the public sources `serve` syncs in the background; none when unset.
    pub sync_sources: Vec<SourceName>,
    /// `CITYTOOLS_SYNC_INTERVAL`: how often the background sync runs.
    pub sync_interval: Duration,
    /// `CITYTOOLS_DECISION_LEAD_MONTHS`: months before a contract's end that its decision
    /// window opens (watches are told then).
    pub decision_lead_months: u32,
    /// `CITYTOOLS_WEBHOOK_ALLOW_PRIVATE`: whether webhooks may reach loopback, private and
    /// link-local addresses.
    pub webhook_allow_private: bool,
}

/// Default time between two background syncs.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(3600);

/// Default writes (and imports) a minute per API key and per client address.
pub const DEFAULT_WRITE_RATE: u32 = 120;
/// Default seconds a client has to send a request's headers.
pub const DEFAULT_CLIENT_TIMEOUT: u32 = 10;

/// A whole-number setting within `range`, or `default` when unset.
fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
    reason: &'static str,
) -> Result<u32, SettingError> {
    match lookup(name).filter(|value| !value.trim().is_empty()) {
        None => Ok(default),
        Some(value) => match value.trim().parse::<u32>() {
            Ok(number) if range.contains(&number) => Ok(number),
            _ => Err(SettingError {
                name,
                value,
                reason,
            }),
        },
    }
}

/// A true-or-false setting, or `default` when unset.
fn flag(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, SettingError> {
    match lookup(name).filter(|value| !value.trim().is_empty()) {
        None => Ok(default),
        Some(value) => match value.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(SettingError {
                name,
                value,
                reason: "it must be true or false",
            }),
        },
    }
}

/// `CITYTOOLS_CORS_ORIGINS`: comma-separated origins such as `https://dashboard.example.org`.
fn cors_origins(lookup: &impl Fn(&str) -> Option<String>) -> Result<Vec<String>, SettingError> {
    let Some(value) = lookup("CITYTOOLS_CORS_ORIGINS") else {
        return Ok(Vec::new());
    };
    let origins: Vec<String> = value
        .split(',')
        .map(|origin| origin.trim().trim_end_matches('/').to_owned())
        .filter(|origin| !origin.is_empty())
        .collect();
    let valid = origins.iter().all(|origin| {
        (origin.starts_with("https://") || origin.starts_with("http://"))
            && !origin["https://".len().min(origin.len())..].contains('/')
    });
    if !valid {
        return Err(SettingError {
            name: "CITYTOOLS_CORS_ORIGINS",
            value,
            reason: "it must be comma-separated origins such as https://dashboard.example.org (scheme and host, no path)",
        });
    }
    Ok(origins)
}

/// `CITYTOOLS_SYNC`: comma-separated source names; unset or empty for none.
fn sync_sources(lookup: &impl Fn(&str) -> Option<String>) -> Result<Vec<SourceName>, SettingError> {
    let Some(value) = lookup("CITYTOOLS_SYNC") else {
        return Ok(Vec::new());
    };
    let mut sources = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let source = SourceName::from_name(name).ok_or_else(|| SettingError {
            name: "CITYTOOLS_SYNC",
            value: value.clone(),
            reason:
                "it must name sources among contracts-finder and find-a-tender, comma-separated",
        })?;
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    Ok(sources)
}

/// A time such as `90` or `90s` (seconds), `15m` or `1h`; `None` for anything else or zero.
pub fn parse_interval(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last()? {
        (at, 's') => (&text[..at], 1),
        (at, 'm') => (&text[..at], 60),
        (at, 'h') => (&text[..at], 3600),
        _ => (text, 1),
    };
    // Digits only: no sign, no fraction, no space between number and unit.
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = number.parse::<u64>().ok()?.checked_mul(unit)?;
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

/// A setting that is present but unusable.
#[derive(Debug, thiserror::Error)]
#[error("{name} is set to {value:?}, but {reason}")]
pub struct SettingError {
    name: &'static str,
    value: String,
    reason: &'static str,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingError> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests can supply an environment of their own.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let non_empty = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let pool_size = number(
            &lookup,
            "CITYTOOLS_POOL_SIZE",
            DEFAULT_POOL_SIZE,
            1..=1000,
            "it must be a whole number from 1 to 1000",
        )?;
        let bind = non_empty("CITYTOOLS_BIND").unwrap_or_else(|| DEFAULT_BIND.to_owned());
        if !bind.contains(':') {
            return Err(SettingError {
                name: "CITYTOOLS_BIND",
                value: bind,
                reason: "it must be an address and a port, such as 127.0.0.1:8080",
            });
        }
        Ok(Settings {
            database_url: non_empty("DATABASE_URL"),
            bind,
            data_dir: non_empty("CITYTOOLS_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            pool_size,
            ocid_prefix: ocid_prefix(&lookup)?,
            public_url: public_url(&lookup)?,
            cors_origins: cors_origins(&lookup)?,
            write_rate_per_minute: number(
                &lookup,
                "CITYTOOLS_WRITE_RATE",
                DEFAULT_WRITE_RATE,
                0..=1_000_000,
                "it must be a whole number of writes a minute (0 for no limit)",
            )?,
            client_timeout_secs: number(
                &lookup,
                "CITYTOOLS_CLIENT_TIMEOUT",
                DEFAULT_CLIENT_TIMEOUT,
                1..=3600,
                "it must be a whole number of seconds from 1 to 3600",
            )?,
            sample_data: flag(&lookup, "CITYTOOLS_SAMPLE_DATA", true)?,
            sync_sources: sync_sources(&lookup)?,
            sync_interval: match non_empty("CITYTOOLS_SYNC_INTERVAL") {
                None => DEFAULT_SYNC_INTERVAL,
                Some(value) => parse_interval(&value).ok_or(SettingError {
                    name: "CITYTOOLS_SYNC_INTERVAL",
                    value,
                    reason: "it must be a whole number of seconds, or of seconds, minutes or hours with s, m or h (such as 90, 30s, 15m, 1h), and more than 0",
                })?,
            },
            decision_lead_months: number(
                &lookup,
                "CITYTOOLS_DECISION_LEAD_MONTHS",
                crate::watches::decisions::DEFAULT_LEAD_MONTHS,
                0..=120,
                "it must be a whole number of months from 0 to 120",
            )?,
            webhook_allow_private: flag(&lookup, "CITYTOOLS_WEBHOOK_ALLOW_PRIVATE", false)?,
        })
    }
}

/// `CITYTOOLS_PUBLIC_URL` read through `lookup`: the service's address as its users reach it
/// (`https://citytools.example.org`), without a trailing slash; None when unset.
pub fn public_url(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<String>, SettingError> {
    let Some(value) = lookup("CITYTOOLS_PUBLIC_URL").filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let url = value.trim().trim_end_matches('/').to_owned();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let valid = rest.is_some_and(|host| {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]/_".contains(&b))
    });
    if !valid {
        return Err(SettingError {
            name: "CITYTOOLS_PUBLIC_URL",
            value,
            reason: "it must be an http or https address such as https://citytools.example.org",
        });
    }
    Ok(Some(url))
}

/// `CITYTOOLS_OCID_PREFIX` read through `lookup`, or [`DEFAULT_OCID_PREFIX`] when unset.
pub fn ocid_prefix(lookup: impl Fn(&str) -> Option<String>) -> Result<String, SettingError> {
    let Some(value) = lookup("CITYTOOLS_OCID_PREFIX").filter(|v| !v.trim().is_empty()) else {
        return Ok(DEFAULT_OCID_PREFIX.to_owned());
    };
    let prefix = value.trim();
    let valid = prefix
        .split('-')
        .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !valid {
        return Err(SettingError {
            name: "CITYTOOLS_OCID_PREFIX",
            value,
            reason: "it must be letters and digits in parts joined by single hyphens, such as ocds-a1b2c3",
        });
    }
    Ok(prefix.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_public_url_is_an_http_address_without_a_trailing_slash() {
        assert_eq!(settings(&[]).unwrap().public_url, None);
        let set =
            settings(&[("CITYTOOLS_PUBLIC_URL", " https://citytools.example.org/ ")]).unwrap();
        assert_eq!(
            set.public_url.as_deref(),
            Some("https://citytools.example.org")
        );
        for bad in [
            "javascript:alert(1)",
            "citytools.example.org",
            "https://a b",
            "https://",
        ] {
            let error = settings(&[("CITYTOOLS_PUBLIC_URL", bad)]).unwrap_err();
            assert!(error.to_string().contains("CITYTOOLS_PUBLIC_URL"), "{bad}");
        }
    }

    #[test]
    fn defaults_need_no_environment() {
        let settings = settings(&[]).unwrap();
        assert_eq!(settings.bind, "127.0.0.1:8080");
        assert_eq!(settings.database_url, None);
        assert_eq!(settings.data_dir, PathBuf::from(".citytools"));
        assert_eq!(settings.pool_size, DEFAULT_POOL_SIZE);
    }

    #[test]
    fn empty_database_url_means_private_cluster() {
        assert_eq!(
            settings(&[("DATABASE_URL", " ")]).unwrap().database_url,
            None
        );
    }

    #[test]
    fn bad_pool_size_is_named() {
        let error = settings(&[("CITYTOOLS_POOL_SIZE", "lots")]).unwrap_err();
        assert!(error.to_string().contains("CITYTOOLS_POOL_SIZE"));
    }

    #[test]
    fn ocid_prefix_has_a_default_and_is_checked() {
        assert_eq!(settings(&[]).unwrap().ocid_prefix, DEFAULT_OCID_PREFIX);
        assert_eq!(
            settings(&[("CITYTOOLS_OCID_PREFIX", " ocds-a1b2c3 ")])
                .unwrap()
                .ocid_prefix,
            "ocds-a1b2c3"
        );
        for bad in ["ocds-", "ocds a1", "ocds--x", "ocds/x"] {
            let error = settings(&[("CITYTOOLS_OCID_PREFIX", bad)]).unwrap_err();
            assert!(error.to_string().contains("CITYTOOLS_OCID_PREFIX"), "{bad}");
        }
    }

    #[test]
    fn cors_origins_are_origins() {
        let settings = settings(&[(
            "CITYTOOLS_CORS_ORIGINS",
            "https://a.example, http://b.example:3000/",
        )])
        .unwrap();
        assert_eq!(
            settings.cors_origins,
            vec!["https://a.example", "http://b.example:3000"]
        );
        assert!(super::cors_origins(&|_: &str| Some("https://a.example/path".into())).is_err());
        assert!(super::cors_origins(&|_: &str| Some("*".into())).is_err());
    }

    #[test]
    fn write_rate_can_be_turned_off_but_not_garbled() {
        assert_eq!(
            settings(&[("CITYTOOLS_WRITE_RATE", "0")])
                .unwrap()
                .write_rate_per_minute,
            0
        );
        assert!(settings(&[("CITYTOOLS_WRITE_RATE", "fast")]).is_err());
        assert_eq!(
            settings(&[]).unwrap().write_rate_per_minute,
            DEFAULT_WRITE_RATE
        );
    }

    #[test]
    fn sample_data_is_on_by_default_and_must_be_true_or_false() {
        assert!(settings(&[]).unwrap().sample_data);
        assert!(
            settings(&[("CITYTOOLS_SAMPLE_DATA", "")])
                .unwrap()
                .sample_data
        );
        assert!(
            !settings(&[("CITYTOOLS_SAMPLE_DATA", " False ")])
                .unwrap()
                .sample_data
        );
        assert!(
            settings(&[("CITYTOOLS_SAMPLE_DATA", "TRUE")])
                .unwrap()
                .sample_data
        );
        for bad in ["no", "0", "off", "maybe"] {
            let error = settings(&[("CITYTOOLS_SAMPLE_DATA", bad)]).unwrap_err();
            assert!(error.to_string().contains("CITYTOOLS_SAMPLE_DATA"), "{bad}");
        }
    }

    #[test]
    fn intervals_are_seconds_or_have_a_unit() {
        assert_eq!(parse_interval("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_interval(" 30s "), Some(Duration::from_secs(30)));
        assert_eq!(parse_interval("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_interval("1h"), Some(Duration::from_secs(3600)));
        for bad in [
            "",
            "0",
            "0s",
            "h",
            "1.5h",
            "-5",
            "+5",
            "1d",
            "1 h",
            "ten",
            "1hh",
            "99999999999999999h",
        ] {
            assert_eq!(parse_interval(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn background_sync_is_off_by_default_and_names_known_sources() {
        let off = settings(&[]).unwrap();
        assert!(off.sync_sources.is_empty());
        assert_eq!(off.sync_interval, DEFAULT_SYNC_INTERVAL);
        assert!(settings(&[("CITYTOOLS_SYNC", " ")])
            .unwrap()
            .sync_sources
            .is_empty());
        let both = settings(&[
            (
                "CITYTOOLS_SYNC",
                "find-a-tender, contracts-finder,find-a-tender",
            ),
            ("CITYTOOLS_SYNC_INTERVAL", "10m"),
        ])
        .unwrap();
        assert_eq!(
            both.sync_sources,
            vec![SourceName::FindATender, SourceName::ContractsFinder]
        );
        assert_eq!(both.sync_interval, Duration::from_secs(600));
        let error = settings(&[("CITYTOOLS_SYNC", "contracts-finder,tenders-r-us")]).unwrap_err();
        assert!(error.to_string().contains("CITYTOOLS_SYNC "), "{error}");
        let error = settings(&[("CITYTOOLS_SYNC_INTERVAL", "soon")]).unwrap_err();
        assert!(
            error.to_string().contains("CITYTOOLS_SYNC_INTERVAL"),
            "{error}"
        );
    }

    #[test]
    fn bind_without_port_is_refused() {
        assert!(settings(&[("CITYTOOLS_BIND", "localhost")]).is_err());
    }
}
