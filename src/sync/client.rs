//! A polite HTTP client for the public sources: it names itself, pauses between requests, gives
//! each request a time limit, retries what a busy or flaky server answers, and hands back a
//! page as UTF-8 JSON or says why it could not.

use std::time::{Duration, Instant};

use serde_json::Value;

/// How the client behaves; every setting comes from the environment, with defaults.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Pause before every request but the first (`CITYTOOLS_SYNC_PAUSE_MS`, default 1000).
    pub pause: Duration,
    /// Time limit of one request, headers and body (`CITYTOOLS_SYNC_TIMEOUT`, seconds, default 30).
    pub timeout: Duration,
    /// Tries of one page before the source counts as failing (`CITYTOOLS_SYNC_TRIES`, default 5).
    pub tries: u32,
    /// The first wait before a retry without `Retry-After`, doubled each time
    /// (`CITYTOOLS_SYNC_BACKOFF_MS`, default 2000).
    pub backoff: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            pause: Duration::from_millis(1000),
            timeout: Duration::from_secs(30),
            tries: 5,
            backoff: Duration::from_millis(2000),
        }
    }
}

/// The longest wait a `Retry-After` or the backoff may ask for: a source that wants more is
/// treated as failing rather than holding the command for hours.
const LONGEST_WAIT: Duration = Duration::from_secs(300);

/// Largest page body accepted: a page of 100 releases is well under 10 MB.
const LARGEST_BODY: u64 = 64 * 1024 * 1024;

fn env_number(name: &str) -> Result<Option<f64>, String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(Some)
            .ok_or_else(|| format!("{name} must be a number of 0 or more, not {value:?}")),
        _ => Ok(None),
    }
}

impl ClientSettings {
    /// The settings from the environment, defaults for those not set.
    pub fn from_env() -> Result<ClientSettings, String> {
        let mut settings = ClientSettings::default();
        if let Some(ms) = env_number("CITYTOOLS_SYNC_PAUSE_MS")? {
            settings.pause = Duration::from_millis(ms as u64);
        }
        if let Some(seconds) = env_number("CITYTOOLS_SYNC_TIMEOUT")? {
            if seconds == 0.0 {
                return Err("CITYTOOLS_SYNC_TIMEOUT must be more than 0 seconds".into());
            }
            settings.timeout = Duration::from_secs_f64(seconds);
        }
        if let Some(tries) = env_number("CITYTOOLS_SYNC_TRIES")? {
            if !(1.0..=100.0).contains(&tries) {
                return Err("CITYTOOLS_SYNC_TRIES must be between 1 and 100".into());
            }
            settings.tries = tries as u32;
        }
        if let Some(ms) = env_number("CITYTOOLS_SYNC_BACKOFF_MS")? {
            settings.backoff = Duration::from_millis(ms as u64);
        }
        Ok(settings)
    }
}

/// The `User-Agent` every request carries, so a source's operators know who is calling.
pub fn user_agent() -> String {
    format!(
        "citytools/{} (City Tools API sync)",
        env!("CARGO_PKG_VERSION")
    )
}

/// A page as the source gave it: its JSON, and its body as UTF-8 for the importer.
#[derive(Debug)]
pub struct Page {
    /// The page, parsed.
    pub json: Value,
    /// The page's body as UTF-8, for the importer.
    pub utf8: Vec<u8>,
    /// Tries it took (1 when the first answer was good).
    pub tries: u32,
    /// Time spent waiting: the pause before it and every wait before a retry.
    pub waited: Duration,
    /// Time spent on requests and reading their answers.
    pub fetching: Duration,
    /// What went wrong on the tries before the good one.
    pub retried: Vec<String>,
}

/// A page that could not be had in the tries allowed.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong on each try.
    pub attempts: Vec<String>,
    /// Time spent pausing and waiting before retries.
    pub waited: Duration,
}

/// One try's outcome.
enum Try {
    Good(Value, Vec<u8>),
    /// Worth another try, after the wait the server asked for, if it said.
    Again(String, Option<Duration>),
    /// Another try would fail the same way (a 404, say).
    Fatal(String),
}

/// An HTTP client for one sync: one connection pool, the pause kept between requests.
pub struct Client {
    agent: ureq::Agent,
    settings: ClientSettings,
    last_request: Option<Instant>,
}

impl Client {
    /// A client with these settings.
    pub fn new(settings: ClientSettings) -> Client {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(settings.timeout))
            .user_agent(user_agent())
            // Statuses are answers to judge here (429, 5xx), not transport errors.
            .http_status_as_error(false)
            .build();
        Client {
            agent: config.into(),
            settings,
            last_request: None,
        }
    }

    /// Reads one page of JSON, retrying what is worth retrying.
    pub fn page(&mut self, url: &str) -> Result<Page, Failure> {
        let mut waited = Duration::ZERO;
        let mut fetching = Duration::ZERO;
        let mut attempts = Vec::new();
        let mut backoff = self.settings.backoff;
        for attempt in 1..=self.settings.tries {
            waited += self.pause();
            let started = Instant::now();
            let outcome = self.try_once(url);
            fetching += started.elapsed();
            self.last_request = Some(Instant::now());
            match outcome {
                Try::Good(json, utf8) => {
                    return Ok(Page {
                        json,
                        utf8,
                        tries: attempt,
                        waited,
                        fetching,
                        retried: attempts,
                    })
                }
                Try::Fatal(why) => {
                    attempts.push(why);
                    return Err(Failure { attempts, waited });
                }
                Try::Again(why, retry_after) => {
                    attempts.push(why);
                    if attempt == self.settings.tries {
                        break;
                    }
                    let wait = retry_after.unwrap_or(backoff).min(LONGEST_WAIT);
                    backoff = (backoff * 2).min(LONGEST_WAIT);
                    std::thread::sleep(wait);
                    waited += wait;
                    // The wait stands in for the pause before the next request.
                    self.last_request = Some(Instant::now() - self.settings.pause);
                }
            }
        }
        Err(Failure { attempts, waited })
    }

    /// Sleeps what is left of the pause since the last request; returns how long.
    fn pause(&self) -> Duration {
        let Some(last) = self.last_request else {
            return Duration::ZERO;
        };
        let left = self.settings.pause.saturating_sub(last.elapsed());
        if !left.is_zero() {
            std::thread::sleep(left);
        }
        left
    }

    fn try_once(&self, url: &str) -> Try {
        let mut response = match self
            .agent
            .get(url)
            .header("Accept", "application/json")
            .call()
        {
            Ok(response) => response,
            Err(error) => return Try::Again(format!("{url}: {error}"), None),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response
            .body_mut()
            .with_config()
            .limit(LARGEST_BODY)
            .read_to_vec();
        if status == 429 || status == 403 || (500..600).contains(&status) {
            return Try::Again(format!("{url}: HTTP {status}"), retry_after);
        }
        if !(200..300).contains(&status) {
            return Try::Fatal(format!("{url}: HTTP {status}"));
        }
        let body = match body {
            Ok(body) => body,
            Err(error) => return Try::Again(format!("{url}: reading the body: {error}"), None),
        };
        let utf8 = match decode(&body, &content_type) {
            Ok(text) => text.into_bytes(),
            Err(why) => return Try::Again(format!("{url}: {why}"), None),
        };
        match serde_json::from_slice::<Value>(&utf8) {
            Ok(json) if json.is_object() => Try::Good(json, utf8),
            Ok(_) => Try::Again(format!("{url}: the body is not a JSON object"), None),
            Err(error) => Try::Again(
                format!("{url}: the body is not JSON (cut short?): {error}"),
                None,
            ),
        }
    }
}

/// The charset a `Content-Type` names, lower-cased; None when it names none.
fn charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        (name.trim().eq_ignore_ascii_case("charset"))
            .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
    })
}

/// The body as UTF-8 text: ISO-8859-1 (by the `Content-Type` charset) is decoded, UTF-8 is
/// checked, anything else refused.
pub fn decode(body: &[u8], content_type: &str) -> Result<String, String> {
    match charset(content_type).as_deref() {
        // Every ISO-8859-1 byte is the Unicode code point of the same number.
        Some("iso-8859-1" | "latin1" | "latin-1" | "iso8859-1" | "l1") => {
            Ok(body.iter().map(|&b| char::from(b)).collect())
        }
        None | Some("utf-8" | "utf8" | "us-ascii") => String::from_utf8(body.to_vec())
            .map_err(|e| format!("the body is not UTF-8 as its Content-Type says: {e}")),
        Some(other) => Err(format!("the body's charset {other:?} is not supported")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_bodies_are_decoded_by_their_charset() {
        let body = b"{\"name\":\"Caf\xe9\"}";
        assert_eq!(
            decode(body, "application/json; charset=ISO-8859-1").unwrap(),
            "{\"name\":\"Café\"}"
        );
        assert!(decode(body, "application/json").is_err());
        assert_eq!(
            decode("é".as_bytes(), "application/json; charset=\"utf-8\"").unwrap(),
            "é"
        );
        assert!(decode(b"x", "text/plain; charset=shift_jis").is_err());
    }

    #[test]
    fn the_user_agent_names_the_project_and_its_version() {
        assert!(user_agent().starts_with("citytools/"));
        assert!(user_agent().ends_with("(City Tools API sync)"));
    }
}
