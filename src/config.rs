//! Settings from the environment, with defaults that work out of the box.

use std::env;
use std::path::PathBuf;

/// Default address the HTTP server listens on.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default directory for the private PostgreSQL cluster, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = ".citytools";
/// Default number of database connections per service instance.
pub const DEFAULT_POOL_SIZE: u32 = 10;

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
        let pool_size = match non_empty("CITYTOOLS_POOL_SIZE") {
            None => DEFAULT_POOL_SIZE,
            Some(value) => match value.trim().parse::<u32>() {
                Ok(size) if (1..=1000).contains(&size) => size,
                _ => {
                    return Err(SettingError {
                        name: "CITYTOOLS_POOL_SIZE",
                        value,
                        reason: "it must be a whole number from 1 to 1000",
                    })
                }
            },
        };
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
        })
    }
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
    fn bind_without_port_is_refused() {
        assert!(settings(&[("CITYTOOLS_BIND", "localhost")]).is_err());
    }
}
