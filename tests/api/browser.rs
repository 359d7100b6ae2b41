//! Headless Chromium, driven through ChromeDriver (WebDriver), for the dashboard's tests: the
//! service started as a binary on a database of its own, a browser session against it, and
//! what a test needs to read back (the page's state, the browser's console, axe-core's report).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::service::{free_port, http_get, Service};

const BINARY: &str = env!("CARGO_BIN_EXE_citytools");

/// axe-core, vendored for these tests (`tests/fixtures/axe-core`).
const AXE: &str = include_str!("../fixtures/axe-core/axe.min.js");

/// The browser and its driver: `CITYTOOLS_CHROMIUM` and `CITYTOOLS_CHROMEDRIVER`, else the first
/// of the usual names on `PATH`.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let find = |variable: &str, names: &[&str]| -> Option<PathBuf> {
        if let Some(path) = std::env::var_os(variable) {
            return Some(PathBuf::from(path));
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
            .find(|candidate| candidate.is_file())
    };
    let browser = find(
        "CITYTOOLS_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    )?;
    let driver = find("CITYTOOLS_CHROMEDRIVER", &["chromedriver"])?;
    Some((browser, driver))
}

/// The service, serving the seeded London data from a database of its own.
pub struct Site {
    pub app: TestApp,
    pub port: u16,
    service: Option<Service>,
}

impl Site {
    pub fn start() -> Site {
        let app = TestApp::new();
        let port = free_port();
        let mut command = Command::new(BINARY);
        command.env("DATABASE_URL", &app.url);
        let mut service = Service::spawn(command, port);
        service.wait_for(port);
        Site {
            app,
            port,
            service: Some(service),
        }
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The API's JSON answer to `path`.
    pub fn api(&self, path: &str) -> Value {
        let (status, body) = http_get(self.port, path).expect("the service answers");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(service) = self.service.take() {
            service.terminate();
        }
    }
}

/// A headless Chromium session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

/// Chromium's console, as ChromeDriver keeps it (`goog:loggingPrefs`).
#[derive(Debug)]
struct ConsoleLog;

impl WebDriverCompatibleCommand for ConsoleLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

impl Browser {
    /// A new session, or None (with the reason on stderr) where Chromium is not installed. In
    /// CI (`CI` set) a missing browser fails the test instead: the tests are never skipped there.
    pub async fn launch() -> Option<Browser> {
        let Some((chromium, chromedriver)) = tools() else {
            let advice = "the dashboard's browser tests need Chromium and ChromeDriver \
                 (Debian: apt-get install chromium chromium-driver; or set CITYTOOLS_CHROMIUM \
                 and CITYTOOLS_CHROMEDRIVER)";
            if std::env::var_os("CI").is_some() {
                panic!("{advice}; CI runs them, so they are not skipped");
            }
            eprintln!("SKIPPED: {advice}");
            return None;
        };
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", chromedriver.display()));
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("chromium-profile-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let capabilities: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-default-apps", "--disable-quic",
                    "--no-first-run", "--window-size=1400,1000", "--lang=en-GB",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }))
        .unwrap();
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session through chromedriver");
        Some(Browser {
            client,
            driver,
            profile,
        })
    }

    /// Runs `script` in the page (its `arguments` are `args`) and answers its result.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Waits until `script` (a boolean expression) holds in the page.
    pub async fn until(&self, what: &str, script: &str) {
        let started = Instant::now();
        loop {
            if self.eval(&format!("return !!({script});"), vec![]).await == json!(true) {
                return;
            }
            if started.elapsed() > Duration::from_secs(45) {
                let state = self
                    .eval(
                        "return {url: location.href, ready: document.body && document.body.dataset.ready, \
                         error: (document.getElementById('error') || {}).textContent};",
                        vec![],
                    )
                    .await;
                panic!("timed out waiting for {what} ({script}); the page: {state}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The console messages since the last call, as `(level, message)`.
    pub async fn console(&self) -> Vec<(String, String)> {
        let entries = self
            .client
            .issue_cmd(ConsoleLog)
            .await
            .expect("chromedriver's console log");
        entries
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                (
                    entry["level"].as_str().unwrap_or_default().to_string(),
                    entry["message"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// axe-core's violations of impact serious or critical on the page as it is now, each as
    /// `rule: impact: the elements`.
    pub async fn serious_accessibility_violations(&self) -> Vec<String> {
        let script = format!(
            "{AXE}\n;const done = arguments[arguments.length - 1];\n\
             window.axe.run(document, {{resultTypes: ['violations']}})\n\
               .then(r => done(r.violations.map(v => ({{id: v.id, impact: v.impact, help: v.help,\n\
                  nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}}))))\n\
               .catch(e => done([{{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}}]));"
        );
        let violations = self
            .client
            .execute_async(&script, vec![])
            .await
            .expect("axe-core runs");
        violations
            .as_array()
            .expect("a list of violations")
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| {
                format!(
                    "{}: {}: {} at {}",
                    v["id"], v["impact"], v["help"], v["nodes"]
                )
            })
            .collect()
    }

    /// A PNG of the element `css`, written to `target/screenshots/<name>.png`, and to
    /// `docs/screenshots/` too when `CITYTOOLS_UPDATE_SCREENSHOTS` is set.
    pub async fn screenshot(&self, name: &str, css: &str) {
        let element = self
            .client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        let png = element.screenshot().await.expect("a screenshot");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut places = vec![root.join("target/screenshots")];
        if std::env::var_os("CITYTOOLS_UPDATE_SCREENSHOTS").is_some() {
            places.push(root.join("docs/screenshots"));
        }
        for dir in places {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        }
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
