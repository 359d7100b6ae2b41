//! Watches: saved searches told through an Atom feed and signed webhooks, from every way data
//! changes (API writes, imports, syncs, the passage of time), at least once and never for a
//! write that rolled back. Webhooks go to a loopback receiver.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::test as actix_test;
use chrono::{Months, Utc};
use diesel::Connection;
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestResponse};
use crate::sync::{healthy, sync, text, Server};
use crate::tenders::{tender_package, CROYDON_OCID};
use citytools::api::watches::{ListFilters, WebhookPolicy};
use citytools::app::AppOptions;
use citytools::watches::deliver::{self, DeliverySettings};
use citytools::watches::signature;
use citytools::watches::{decisions, dispatch};

/// One request the receiver got: its headers (lower-case names) and body.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A loopback webhook receiver answering each POST with the next status of `statuses` (the last
/// one once they run out).
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(statuses: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let statuses = statuses.to_vec();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut data = Vec::new();
                let mut buffer = [0u8; 4096];
                let (head, body_start) = loop {
                    let read = stream.read(&mut buffer).unwrap_or(0);
                    if read == 0 {
                        break (String::new(), 0);
                    }
                    data.extend_from_slice(&buffer[..read]);
                    if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (String::from_utf8_lossy(&data[..at]).into_owned(), at + 4);
                    }
                };
                let headers: Vec<(String, String)> = head
                    .lines()
                    .skip(1)
                    .filter_map(|line| line.split_once(':'))
                    .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let length: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = data[body_start.min(data.len())..].to_vec();
                while body.len() < length {
                    let read = stream.read(&mut buffer).unwrap_or(0);
                    if read == 0 {
                        break;
                    }
                    body.extend_from_slice(&buffer[..read]);
                }
                log.lock().unwrap().push(Received { headers, body });
                let status = statuses.get(n).or(statuses.last()).copied().unwrap_or(200);
                let _ = stream.write_all(
                    format!("HTTP/1.1 {status} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                );
            }
        });
        Receiver { url, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Webhooks to loopback allowed, as `CITYTOOLS_WEBHOOK_ALLOW_PRIVATE=true` sets.
fn private_options() -> AppOptions {
    AppOptions {
        webhooks: WebhookPolicy {
            allow_private: true,
        },
        ..AppOptions::default()
    }
}

fn delivery_settings() -> DeliverySettings {
    DeliverySettings {
        allow_private: true,
        timeout: Duration::from_secs(5),
        backoff: Duration::from_millis(300),
        ..DeliverySettings::default()
    }
}

async fn send(
    app: &TestApp,
    method: &str,
    uri: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> TestResponse {
    let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = actix_test::TestRequest::default()
        .method(method)
        .uri(uri)
        .insert_header(("if-match", "*"));
    if let Some(key) = key {
        request = request.insert_header(("authorization", format!("Bearer {key}")));
    }
    if let Some(body) = body {
        request = request
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_string());
    }
    app.call_with(private_options(), request).await
}

async fn watch(app: &TestApp, key: &str, body: Value) -> Value {
    let response = send(app, "POST", "/api/v1/watches", Some(key), Some(&body)).await;
    assert_eq!(response.status.as_u16(), 201, "{}", response.text());
    response.json()
}

/// The path of a feed URL (the test service is not on a network).
fn feed_path(watch: &Value) -> String {
    let url = watch["feed_url"].as_str().unwrap();
    url[url.find("/api/v1/feeds/").unwrap()..].to_owned()
}

/// The feed's entries as (category, link).
async fn entries(app: &TestApp, watch: &Value) -> Vec<(String, String)> {
    let response = app.get(&feed_path(watch)).await;
    assert_eq!(response.status.as_u16(), 200, "{}", response.text());
    assert!(response
        .header("content-type")
        .unwrap()
        .starts_with("application/atom+xml"));
    let xml = response.text();
    xml.split("<entry>")
        .skip(1)
        .map(|entry| {
            let category = entry
                .split("<category term=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap()
                .to_owned();
            let link = entry
                .split("href=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap()
                .to_owned();
            (category, link)
        })
        .collect()
}

fn catch_up(app: &TestApp) -> dispatch::CaughtUp {
    dispatch::catch_up(&mut app.conn(), &ListFilters).unwrap()
}

fn deliver(app: &TestApp) -> usize {
    deliver::turn(&app.pool, &delivery_settings()).unwrap()
}

#[actix_web::test]
async fn a_croydon_tender_watch_hears_of_the_synced_tender_once_signed_and_no_one_else_sees_it() {
    let app = TestApp::new();
    let receiver = Receiver::start(&[200]);
    let key = app.key("reader", None);
    let croydon = watch(
        &app,
        &key,
        json!({"name": "Croydon tenders", "resource": "tenders",
               "filters": {"borough": ["croydon"]}, "webhook_url": receiver.url}),
    )
    .await;
    let secret = croydon["webhook_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64);
    let merton = watch(
        &app,
        &key,
        json!({"name": "Merton contracts", "resource": "contracts",
               "filters": {"borough": "merton"}}),
    )
    .await;
    assert!(merton.get("webhook_secret").is_none());

    // Real pages with a Croydon technology tender, synced after the watch was made.
    let server = Server::start(tender_package(), healthy());
    let output = sync(&app, &server, &["--since", "2022-10-19"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let tender_id = app.column(&format!(
        "SELECT id AS value FROM tenders WHERE ocid = '{CROYDON_OCID}'"
    ))[0]
        .clone();

    // Exactly that tender in the feed (reading the feed matches the change log first).
    let feed = entries(&app, &croydon).await;
    assert_eq!(feed.len(), 1, "{feed:?}");
    assert_eq!(feed[0].0, "tender.published");
    assert!(
        feed[0].1.ends_with(&format!("/api/v1/tenders/{tender_id}")),
        "{feed:?}"
    );

    // One signed `tender.published` POST whose signature verifies.
    assert_eq!(deliver(&app), 1);
    assert_eq!(deliver(&app), 0, "delivered once");
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let post = &received[0];
    let header = post.header("citytools-signature").unwrap();
    assert!(signature::verify(&secret, header, &post.body), "{header}");
    assert!(!signature::verify("another secret", header, &post.body));
    let payload = post.json();
    assert_eq!(payload["event"], "tender.published");
    assert_eq!(payload["watch_id"], croydon["id"]);
    assert_eq!(payload["record"]["ocid"], CROYDON_OCID);
    assert_eq!(payload["record"]["borough_id"], "croydon");
    let id = croydon["id"].as_i64().unwrap();
    let log = send(
        &app,
        "GET",
        &format!("/api/v1/watches/{id}/deliveries"),
        Some(&key),
        None,
    )
    .await
    .json();
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
    assert_eq!(log["items"][0]["status"], "delivered");
    assert_eq!(log["items"][0]["tries"][0]["status_code"], 200);

    // A Merton contract written through the API is in the Merton watch's feed, and only there.
    let admin = app.key("admin", None);
    let created = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(
                &json!({"borough_id": "merton", "supplier_id": "civica", "title": "Revenues",
                         "service_area_ids": ["council-tax"], "source": "manual"}),
            ),
            &[],
        )
        .await
        .json();
    let feed = entries(&app, &merton).await;
    assert_eq!(feed.len(), 1, "{feed:?}");
    assert_eq!(feed[0].0, "contract.created");
    assert!(feed[0]
        .1
        .ends_with(&format!("/api/v1/contracts/{}", created["id"])));
    assert_eq!(entries(&app, &croydon).await.len(), 1);

    // A second sync changes nothing and tells nothing.
    let again = sync(&app, &server, &["--since", "2022-10-19"]);
    assert!(again.status.success());
    assert_eq!(entries(&app, &croydon).await.len(), 1);

    // Another key sees neither watch.
    let other = app.key("reader", None);
    for path in [
        format!("/api/v1/watches/{id}"),
        format!("/api/v1/watches/{id}/deliveries"),
        format!("/api/v1/watches/{}", merton["id"]),
    ] {
        assert_eq!(
            send(&app, "GET", &path, Some(&other), None)
                .await
                .status
                .as_u16(),
            404
        );
    }
    let theirs = send(&app, "GET", "/api/v1/watches", Some(&other), None)
        .await
        .json();
    assert_eq!(theirs["items"], json!([]));
    let delete = send(
        &app,
        "DELETE",
        &format!("/api/v1/watches/{id}"),
        Some(&other),
        None,
    )
    .await;
    assert_eq!(delete.status.as_u16(), 404);
    // The owner lists both, without the secret.
    let mine = send(&app, "GET", "/api/v1/watches", Some(&key), None)
        .await
        .json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    assert!(mine["items"][0].get("webhook_secret").is_none());

    // An unchanged feed answers 304 to its ETag.
    let first = app.get(&feed_path(&croydon)).await;
    let etag = first.header("etag").unwrap();
    let cached = app
        .get_with(&feed_path(&croydon), &[("if-none-match", &etag)])
        .await;
    assert_eq!(cached.status.as_u16(), 304);

    // Revoking the key stops its watches: no feed.
    citytools::queries::keys::revoke(
        &mut app.conn(),
        app.column(&format!(
            "SELECT id AS value FROM api_keys WHERE key_hash = '{}'",
            citytools::auth::hash_key(&key)
        ))[0]
            .parse()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(app.get(&feed_path(&croydon)).await.status.as_u16(), 404);
}

#[actix_web::test]
async fn no_event_is_made_for_a_write_that_rolled_back_or_an_import_that_failed() {
    let app = TestApp::new();
    let key = app.key("reader", None);
    let all = watch(
        &app,
        &key,
        json!({"name": "Everything", "resource": "contracts"}),
    )
    .await;

    // A write whose transaction rolls back leaves no change and no event.
    let mut conn = app.conn();
    let _ = conn.transaction::<(), diesel::result::Error, _>(|conn| {
        let actor = citytools::changelog::Actor::cli("test");
        citytools::changelog::record(
            conn,
            &actor,
            citytools::changelog::Resource::Contracts,
            "1",
            Some(&json!({})),
            Some(&json!({"title": "never"})),
        )?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert_eq!(catch_up(&app).events, 0);

    // An import with an error in one row writes nothing, and tells nothing.
    let admin = app.key("admin", None);
    let register = "reference,title,supplier,start_date,end_date,annual_value\n\
                    R1,Revenues system,Civica,2024-04-01,2029-03-31,100000\n\
                    R2,Payroll,Civica,2024-04-01,not a date,50000\n";
    let report = app
        .call(
            actix_test::TestRequest::post()
                .uri("/api/v1/imports?format=contracts-register&borough=camden")
                .insert_header(("authorization", format!("Bearer {admin}")))
                .insert_header(("content-type", "text/csv"))
                .set_payload(register),
        )
        .await;
    assert_eq!(report.json()["outcome"], "failed", "{}", report.text());
    assert_eq!(catch_up(&app).events, 0);
    assert!(entries(&app, &all).await.is_empty());

    // The same import, fixed, tells of each contract it made.
    let fixed = register.replace("not a date", "2028-03-31");
    let report = app
        .call(
            actix_test::TestRequest::post()
                .uri("/api/v1/imports?format=contracts-register&borough=camden")
                .insert_header(("authorization", format!("Bearer {admin}")))
                .insert_header(("content-type", "text/csv"))
                .set_payload(fixed),
        )
        .await;
    assert_eq!(report.json()["outcome"], "imported", "{}", report.text());
    let feed = entries(&app, &all).await;
    assert_eq!(feed.len(), 2, "{feed:?}");
    assert!(feed.iter().all(|(event, _)| event == "contract.created"));
}

#[actix_web::test]
async fn a_delivery_cut_short_or_refused_is_tried_again_until_it_is_delivered() {
    let app = TestApp::new();
    // The receiver fails the first POST with a 503, then accepts.
    let receiver = Receiver::start(&[503, 200]);
    let key = app.key("borough", Some("camden"));
    let camden = watch(
        &app,
        &key,
        json!({"name": "Camden", "resource": "contracts", "filters": {"borough": ["camden"]},
               "webhook_url": receiver.url}),
    )
    .await;
    let admin = app.key("admin", None);
    app.send(
        "POST",
        "/api/v1/contracts",
        Some(&admin),
        Some(
            &json!({"borough_id": "camden", "supplier_id": "civica", "title": "Payments",
                     "service_area_ids": ["council-tax"], "source": "manual"}),
        ),
        &[],
    )
    .await;
    assert_eq!(catch_up(&app).events, 1);

    // An instance claims the delivery and dies before sending it: its lease lapses and the
    // delivery is still there for the next.
    let claimed = citytools::queries::watches::claim(&mut app.conn(), 10, 1).unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(deliver(&app), 0, "leased to the instance that died");
    std::thread::sleep(Duration::from_millis(1100));

    // First try: 503, retried after the backoff (not due again within the turn); second:
    // delivered.
    assert_eq!(deliver(&app), 1);
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(deliver(&app), 1);
    assert_eq!(deliver(&app), 0);
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body, "the same event, again");
    let log = send(
        &app,
        "GET",
        &format!("/api/v1/watches/{}/deliveries", camden["id"]),
        Some(&key),
        None,
    )
    .await
    .json();
    let delivery = &log["items"][0];
    assert_eq!(delivery["status"], "delivered");
    assert_eq!(delivery["attempts"], 2);
    let codes: Vec<&Value> = delivery["tries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["status_code"])
        .collect();
    assert_eq!(codes, [&json!(503), &json!(200)]);
}

#[actix_web::test]
async fn a_contract_entering_its_decision_window_is_told_once_a_day() {
    let app = TestApp::new();
    let key = app.key("reader", None);
    let lambeth = watch(
        &app,
        &key,
        json!({"name": "Lambeth", "resource": "contracts", "filters": {"borough": ["lambeth"]}}),
    )
    .await;
    let admin = app.key("admin", None);
    let today = Utc::now().date_naive();
    let mut ids = Vec::new();
    // One whose window opens today (it ends 18 months on), one whose opens in two years.
    for end in [
        today.checked_add_months(Months::new(18)).unwrap(),
        today.checked_add_months(Months::new(42)).unwrap(),
    ] {
        let created = app
            .send(
                "POST",
                "/api/v1/contracts",
                Some(&admin),
                Some(
                    &json!({"borough_id": "lambeth", "supplier_id": "civica", "title": "Revenues",
                             "service_area_ids": ["council-tax"], "source": "manual",
                             "end_date": end.to_string()}),
                ),
                &[],
            )
            .await
            .json();
        ids.push(created["id"].clone());
    }
    catch_up(&app);
    let told = decisions::run_day(&mut app.conn(), &ListFilters, 18, today).unwrap();
    assert_eq!(told, Some(1));
    assert_eq!(
        decisions::run_day(&mut app.conn(), &ListFilters, 18, today).unwrap(),
        None,
        "once a day"
    );
    assert_eq!(
        decisions::windows(&mut app.conn(), &ListFilters, 18, today).unwrap(),
        0,
        "once a contract"
    );
    let feed = entries(&app, &lambeth).await;
    let due: Vec<&(String, String)> = feed
        .iter()
        .filter(|(e, _)| e == "contract.decision_due")
        .collect();
    assert_eq!(due.len(), 1, "{feed:?}");
    assert!(due[0].1.ends_with(&format!("/api/v1/contracts/{}", ids[0])));
    assert_eq!(feed.len(), 3, "two created, one due");
}

#[actix_web::test]
async fn a_watch_is_checked_as_its_list_checks_its_filters() {
    let app = TestApp::new();
    let key = app.key("reader", None);
    let post = |body: Value| {
        let app = &app;
        let key = key.clone();
        async move { send(app, "POST", "/api/v1/watches", Some(&key), Some(&body)).await }
    };
    let anonymous = send(
        &app,
        "POST",
        "/api/v1/watches",
        None,
        Some(&json!({"name": "x", "resource": "tenders"})),
    )
    .await;
    assert_eq!(anonymous.status.as_u16(), 401);

    let fields = |response: &TestResponse| -> Vec<String> {
        assert_eq!(response.status.as_u16(), 422, "{}", response.text());
        response.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    let bad = post(json!({"resource": "bids", "filters": {"sort": "title"}, "colour": 1})).await;
    let named = fields(&bad);
    for field in ["name", "resource", "filters.sort", "colour"] {
        assert!(named.contains(&field.to_owned()), "{field} in {named:?}");
    }
    let unknown = post(json!({"name": "x", "resource": "contracts",
                              "filters": {"borough": ["atlantis"], "ends_after": "soon"}}))
    .await;
    assert!(
        fields(&unknown).contains(&"filters.ends_after".to_owned()),
        "{}",
        unknown.text()
    );
    let atlantis =
        post(json!({"name": "x", "resource": "contracts", "filters": {"borough": ["atlantis"]}}))
            .await;
    assert_eq!(fields(&atlantis), ["filters.borough"]);
    let colour =
        post(json!({"name": "x", "resource": "tenders", "filters": {"colour": ["red"]}})).await;
    assert_eq!(fields(&colour), ["filters.colour"]);
    let status =
        post(json!({"name": "x", "resource": "tenders", "filters": {"status": ["open"]}})).await;
    assert_eq!(fields(&status), ["filters.status"]);

    // Webhooks may not reach internal addresses unless the service allows it.
    let internal = app
        .send(
            "POST",
            "/api/v1/watches",
            Some(&key),
            Some(&json!({"name": "x", "resource": "tenders", "webhook_url": "http://127.0.0.1:9/hook"})),
            &[],
        )
        .await;
    assert_eq!(fields(&internal), ["webhook_url"]);
    let metadata = app
        .send(
            "POST",
            "/api/v1/watches",
            Some(&key),
            Some(&json!({"name": "x", "resource": "tenders", "webhook_url": "http://169.254.169.254/latest"})),
            &[],
        )
        .await;
    assert_eq!(fields(&metadata), ["webhook_url"]);

    // Two values, in either form of the list, and a group of service areas.
    let ok = post(json!({"name": "Revenues", "resource": "contracts",
                         "filters": {"borough": ["camden", "E09000019"], "service_area": "revenues-and-benefits"}})).await;
    assert_eq!(ok.status.as_u16(), 201, "{}", ok.text());
    assert!(ok
        .header("location")
        .unwrap()
        .starts_with("/api/v1/watches/"));
    assert_eq!(app.column("SELECT count(*) AS value FROM watches"), ["1"]);
}
