//! TestApp: each test gets its own database, cloned from a migrated and seeded template.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::test as actix_test;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::Value;
use sha2::{Digest, Sha256};

use citytools::app::build_app;
use citytools::db::cluster::{ClusterOptions, LocalCluster};
use citytools::db::{self, DbPool};

/// The server the tests use: `DATABASE_URL`'s, or a private cluster started for this run.
struct TestServer {
    /// URL of any existing database on the server, for administration.
    admin_url: String,
    template: String,
    /// Keeps the private cluster alive for the whole run; the server stops when the process ends.
    _cluster: Option<std::sync::Mutex<LocalCluster>>,
}

static SERVER: OnceLock<TestServer> = OnceLock::new();
static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut new = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        new.push('?');
        new.push_str(query);
    }
    new
}

fn start_private_cluster() -> LocalCluster {
    let base = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    // The shared directory is reused between runs; when another test run holds it (two runs at
    // once), this run gets a cluster of its own.
    let candidates = [
        base.join("test-cluster"),
        base.join(format!("test-cluster-{}", std::process::id())),
    ];
    let mut errors = Vec::new();
    for base_dir in candidates {
        let options = ClusterOptions {
            base_dir,
            ephemeral: true,
            port: None,
        };
        match LocalCluster::start(&options) {
            Ok(cluster) => return cluster,
            Err(error) => errors.push(error.to_string()),
        }
    }
    panic!(
        "cannot start a private PostgreSQL for the tests:\n{}",
        errors.join("\n")
    );
}

/// A name that changes whenever the migrations, the seeds or the code do.
fn template_name() -> String {
    let mut hasher = Sha256::new();
    for migration in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations directory")
        .map(|entry| entry.unwrap().path())
        .collect::<std::collections::BTreeSet<_>>()
    {
        hasher.update(migration.to_string_lossy().as_bytes());
        for file in ["up.sql", "down.sql"] {
            hasher.update(std::fs::read(migration.join(file)).unwrap_or_default());
        }
    }
    for seed in [
        citytools::seed::BOROUGHS_CSV,
        citytools::seed::SERVICE_AREAS_CSV,
        citytools::seed::SUPPLIERS_CSV,
        citytools::seed::SYSTEMS_CSV,
        citytools::seed::CONTRACTS_CSV,
    ] {
        hasher.update(seed.as_bytes());
    }
    // The code that migrates and seeds changes with the build: the test binary stands for it.
    if let Ok(metadata) = std::env::current_exe().and_then(std::fs::metadata) {
        hasher.update(format!("{:?} {}", metadata.modified().ok(), metadata.len()).as_bytes());
    }
    format!(
        "citytools_template_{}",
        hex::encode(&hasher.finalize()[..6])
    )
}

fn database_exists(conn: &mut PgConnection, name: &str) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS found")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Found>(conn)
        .expect("query pg_database")
        .found
}

/// Creates the template once per server, under an advisory lock so parallel runs agree.
fn ensure_template(admin_url: &str, template: &str) {
    let mut admin = PgConnection::establish(admin_url).expect("connect to the test server");
    admin
        .batch_execute("SELECT pg_advisory_lock(7262019)")
        .unwrap();
    if !database_exists(&mut admin, template) {
        let building = format!("{template}_building");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {building}"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {building}"))
            .unwrap();
        {
            let mut conn = PgConnection::establish(&with_database(admin_url, &building)).unwrap();
            citytools::app::startup::prepare(&mut conn).expect("migrate and seed the template");
        } // `CREATE DATABASE ... TEMPLATE` fails while any session is connected to the template.
        admin
            .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .unwrap();
        drop_other_templates(&mut admin, template);
    }
    admin
        .batch_execute("SELECT pg_advisory_unlock(7262019)")
        .unwrap();
}

/// Templates of earlier builds: dropped when a new one is made (one still in use is left).
fn drop_other_templates(admin: &mut PgConnection, keep: &str) {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let old: Vec<Name> = diesel::sql_query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'citytools\\_template\\_%' AND datname <> $1",
    )
    .bind::<diesel::sql_types::Text, _>(keep)
    .load(admin)
    .unwrap_or_default();
    for name in old {
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {}", name.datname));
    }
}

fn server() -> &'static TestServer {
    SERVER.get_or_init(|| {
        let _ = env_logger::builder().is_test(true).try_init();
        let (admin_url, cluster) = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => (url, None),
            _ => {
                let cluster = start_private_cluster();
                (cluster.database_url("postgres"), Some(cluster))
            }
        };
        let template = template_name();
        ensure_template(&admin_url, &template);
        TestServer {
            admin_url,
            template,
            _cluster: cluster.map(std::sync::Mutex::new),
        }
    })
}

/// A response, read whole.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    /// Asserts an RFC 9457 problem with `status` and returns its body.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json")
        );
        let body = self.json();
        assert_eq!(body["status"], status);
        assert!(body["title"].is_string());
        assert!(body["type"].is_string());
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "a problem says what was wrong"
        );
        body
    }

    /// The ids of the items of a JSON list.
    pub fn ids(&self) -> Vec<Value> {
        self.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| item["id"].clone())
            .collect()
    }
}

/// The application on a database of its own, dropped with it.
pub struct TestApp {
    pub database: String,
    pub url: String,
    pub pool: DbPool,
    /// Anonymous insight answers kept across this app's requests, as a served instance keeps
    /// them: every test that writes and then reads an insight checks that none is stale.
    pub answers: std::sync::Arc<citytools::api::answers::Answers>,
}

impl TestApp {
    pub fn new() -> TestApp {
        Self::create(Some(&server().template))
    }

    /// The application on an empty database: not migrated, not seeded.
    pub fn empty() -> TestApp {
        Self::create(None)
    }

    /// A new database cloned from `template`, or empty (from `template0`) without one.
    fn create(template: Option<&str>) -> TestApp {
        let server = server();
        let database = format!(
            "citytools_test_{}_{}",
            std::process::id(),
            NEXT_DATABASE.fetch_add(1, Ordering::SeqCst)
        );
        let mut admin = PgConnection::establish(&server.admin_url).unwrap();
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {database}"))
            .unwrap();
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {database} TEMPLATE {}",
                template.unwrap_or("template0")
            ))
            .expect("clone the template");
        let url = with_database(&server.admin_url, &database);
        let pool = db::pool(&url, 4).unwrap();
        TestApp {
            database,
            url,
            pool,
            answers: citytools::api::answers::Answers::new(),
        }
    }

    /// A direct connection, to check what the API says against the database.
    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).unwrap()
    }

    /// Creates an API key with `role` (and `borough` for a borough key); returns the key.
    pub fn key(&self, role: &str, borough: Option<&str>) -> String {
        let key = citytools::auth::generate_key();
        citytools::queries::keys::create(
            &mut self.conn(),
            &key,
            &format!("test {role}"),
            role,
            borough,
        )
        .expect("create a key");
        key.key
    }

    /// Sends `method uri` with an optional key, JSON body and extra headers. A change or
    /// deletion that names no `If-Match` sends `If-Match: *` (the service requires the header;
    /// the tests of that requirement build their requests themselves).
    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        key: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let changes = matches!(method, "PATCH" | "PUT" | "DELETE");
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = actix_test::TestRequest::default().method(method).uri(uri);
        if let Some(key) = key {
            request = request.insert_header(("authorization", format!("Bearer {key}")));
        }
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        if changes
            && !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("if-match"))
        {
            request = request.insert_header(("if-match", "*"));
        }
        if let Some(body) = body {
            request = request
                .insert_header(("content-type", "application/json"))
                .set_payload(body.to_string());
        }
        self.call(request).await
    }

    /// The number of entries in the change log.
    pub fn change_count(&self) -> i64 {
        self.column("SELECT count(*) AS value FROM changes")[0]
            .parse()
            .unwrap()
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.get_with(uri, &[]).await
    }

    pub async fn get_with(&self, uri: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut request = actix_test::TestRequest::get().uri(uri);
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        self.call(request).await
    }

    pub async fn call(&self, request: actix_test::TestRequest) -> TestResponse {
        self.call_with(
            citytools::app::AppOptions {
                answers: Some(self.answers.clone()),
                ..Default::default()
            },
            request,
        )
        .await
    }

    /// Sends `request` to the application built with `options`.
    pub async fn call_with(
        &self,
        options: citytools::app::AppOptions,
        request: actix_test::TestRequest,
    ) -> TestResponse {
        let app = actix_test::init_service(build_app(self.pool.clone(), options)).await;
        let response = actix_test::call_service(&app, request.to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let body = actix_test::read_body(response).await.to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// Runs SQL and returns the single-column results as strings.
    pub fn column(&self, sql: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            value: String,
        }
        diesel::sql_query(format!("SELECT value::text AS value FROM ({sql}) AS q"))
            .load::<Row>(&mut self.conn())
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .map(|row| row.value)
            .collect()
    }

    /// Contract ids from SQL, as JSON numbers, to compare with `TestResponse::ids`.
    pub fn contract_ids(&self, sql: &str) -> Vec<Value> {
        self.column(sql)
            .into_iter()
            .map(|id| Value::from(id.parse::<i64>().unwrap()))
            .collect()
    }

    /// A digest of the rows of `tables` (each with the order of its rows), which changes when
    /// any of those rows does: for checking that an operation wrote nothing.
    pub fn fingerprint(&self, tables: &[(&str, &str)]) -> String {
        let digests: Vec<String> = tables
            .iter()
            .map(|(name, order)| {
                format!(
                    "(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY {order}), '')) FROM {name} t)"
                )
            })
            .collect();
        self.column(&format!(
            "SELECT concat_ws(' ', {}) AS value",
            digests.join(", ")
        ))
        .remove(0)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = SERVER.get() {
            if let Ok(mut admin) = PgConnection::establish(&server.admin_url) {
                let _ = admin.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.database
                ));
            }
        }
    }
}

#[test]
fn database_name_is_replaced_in_every_url_form() {
    assert_eq!(
        with_database("postgres://u:p@localhost:5432/app?sslmode=disable", "x"),
        "postgres://u:p@localhost:5432/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgresql://postgres@/citytools?host=/tmp/s&port=5", "x"),
        "postgresql://postgres@/x?host=/tmp/s&port=5"
    );
    assert_eq!(
        with_database("postgres://localhost", "x"),
        "postgres://localhost/x"
    );
}

/// The `&sort=` part of a list's query string; nothing for the default order.
pub fn sort_param(sort: &str) -> String {
    if sort.is_empty() {
        String::new()
    } else {
        format!("&sort={sort}")
    }
}
