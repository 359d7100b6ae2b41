//! The dashboard at `/`, in headless Chromium against the service serving the seeded London
//! data: each filter applied through its control, the URL and the back button, the figures
//! beside the API's for the same query, each view, the key kept out of URLs, no console errors,
//! no request to another origin, and axe-core's check.

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::browser::{Browser, Site};

/// The page's settled state: the totals and the open view rendered for the current address.
const SETTLED: &str = "document.body.dataset.ready === 'true' && \
     document.querySelector('[role=tabpanel]:not([hidden])').dataset.loadedFor === location.search.slice(1)";

async fn open(browser: &Browser, site: &Site, query: &str) {
    browser
        .client
        .goto(&format!("{}/{query}", site.origin()))
        .await
        .unwrap();
    browser.until("the page to settle", SETTLED).await;
}

/// Waits for the page to settle after an action.
async fn settled(browser: &Browser) {
    browser.until("the page to settle", SETTLED).await;
}

/// Chooses `value` in the select `id`, by clicking its option.
async fn choose(browser: &Browser, id: &str, value: &str) {
    browser
        .client
        .find(Locator::Css(&format!("#{id} option[value=\"{value}\"]")))
        .await
        .unwrap_or_else(|e| panic!("#{id} has an option {value}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn click(browser: &Browser, css: &str) {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// The page's address, from its query on.
async fn address(browser: &Browser) -> String {
    let url = browser.client.current_url().await.unwrap();
    url.query().unwrap_or_default().to_string()
}

/// The headline totals the page shows, by name.
async fn shown_totals(browser: &Browser) -> Value {
    browser
        .eval(
            "const out = {}; document.querySelectorAll('#totals [data-total]').forEach(e => \
             out[e.dataset.total] = Number(e.dataset.value)); return out;",
            vec![],
        )
        .await
}

/// The API's headline totals for `query`, as the page shows them.
fn api_totals(site: &Site, query: &str) -> Value {
    let summary = site.api(&format!("/api/v1/insights/summary?{query}"));
    json!({
        "contracts": summary["contracts"], "authorities": summary["authorities"],
        "suppliers": summary["suppliers"], "systems": summary["systems"],
    })
}

/// The number of rows of the table `css` shows.
async fn rows(browser: &Browser, css: &str) -> usize {
    browser
        .eval(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![json!(format!("{css} tbody tr"))],
        )
        .await
        .as_u64()
        .unwrap() as usize
}

/// The JSON requests a view names as "the API request behind this".
async fn requests_behind(browser: &Browser, view: &str) -> Vec<String> {
    let hrefs = browser
        .eval(
            "return [...document.querySelectorAll(`#view-${arguments[0]} details.api-request a`)]\
             .map(a => a.getAttribute('href'));",
            vec![json!(view)],
        )
        .await;
    hrefs
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect()
}

/// What may not appear: console errors or warnings, requests to another origin, serious or
/// critical accessibility violations.
async fn assert_clean(browser: &Browser, site: &Site, context: &str) {
    let console: Vec<_> = browser
        .console()
        .await
        .into_iter()
        .filter(|(level, _)| level == "SEVERE" || level == "WARNING")
        .collect();
    assert!(console.is_empty(), "{context}: console: {console:?}");
    let origins = browser
        .eval(
            "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin);",
            vec![],
        )
        .await;
    let foreign: Vec<&Value> = origins
        .as_array()
        .unwrap()
        .iter()
        .filter(|origin| **origin != json!(site.origin()))
        .collect();
    assert!(
        foreign.is_empty(),
        "{context}: requests to another origin: {foreign:?}"
    );
    let violations = browser.serious_accessibility_violations().await;
    assert!(
        violations.is_empty(),
        "{context}: axe-core: {violations:#?}"
    );
}

#[actix_web::test]
async fn each_filter_applied_through_its_control_shows_the_apis_totals_and_lives_in_the_url() {
    let Some(browser) = Browser::launch().await else {
        return;
    };
    let site = Site::start();
    open(&browser, &site, "").await;
    let facts = browser
        .eval(
            "return {lang: document.documentElement.lang, title: document.title, \
             banner: !document.getElementById('illustrative-banner').hidden, \
             bannerText: document.getElementById('illustrative-banner').textContent};",
            vec![],
        )
        .await;
    assert_eq!(facts["lang"], "en");
    assert!(
        facts["title"].as_str().unwrap().contains("City Tools"),
        "{facts}"
    );
    let illustrative = site.api("/api/v1/insights/summary")["sources"]["illustrative"].clone();
    assert_eq!(
        facts["banner"], true,
        "the seeded data is illustrative: {facts}"
    );
    assert!(
        facts["bannerText"]
            .as_str()
            .unwrap()
            .contains(&illustrative.to_string()),
        "the banner counts the invented contracts: {facts}"
    );
    assert_eq!(shown_totals(&browser).await, api_totals(&site, ""));
    assert_clean(&browser, &site, "the first load").await;

    let selects = [
        ("borough", "camden"),
        ("service_area", "council-tax"),
        ("service_area", "revenues-and-benefits"),
        ("supplier", "civica"),
        ("system", "civica-openrevenues"),
        ("hosting", "saas"),
        ("data_access", "charged"),
    ];
    for (param, value) in selects {
        choose(&browser, &format!("filter-{param}"), value).await;
        shows_then_clears(&browser, &site, &format!("{param}={value}")).await;
    }

    // The date range, typed into the date controls as a person would, in the order of fields
    // the browser's locale shows.
    for (param, date) in [("ends_after", "2027-01-01"), ("ends_before", "2027-12-31")] {
        set_date(&browser, &format!("filter-{param}"), date).await;
        shows_then_clears(&browser, &site, &format!("{param}={date}")).await;
    }

    // The banner's own button leaves the invented rows out: no banner, and the API agrees.
    click(&browser, "#banner-real-only").await;
    settled(&browser).await;
    let query = address(&browser).await;
    assert!(query.starts_with("source="), "{query}");
    assert_eq!(shown_totals(&browser).await, api_totals(&site, &query));
    let hidden = browser
        .eval(
            "return document.getElementById('illustrative-banner').hidden;",
            vec![],
        )
        .await;
    assert_eq!(hidden, true, "no banner without invented rows");
    click(&browser, "#clear-filters").await;
    settled(&browser).await;

    // Filters cross-filter and stack in the URL; the back button walks back through them.
    choose(&browser, "filter-borough", "camden").await;
    settled(&browser).await;
    choose(&browser, "filter-service_area", "council-tax").await;
    settled(&browser).await;
    assert_eq!(
        address(&browser).await,
        "borough=camden&service_area=council-tax"
    );
    browser.client.back().await.unwrap();
    settled(&browser).await;
    assert_eq!(address(&browser).await, "borough=camden");
    let controls = browser
        .eval(
            "return [document.getElementById('filter-borough').value, \
             document.getElementById('filter-service_area').value];",
            vec![],
        )
        .await;
    assert_eq!(
        controls,
        json!(["camden", ""]),
        "the controls follow the back button"
    );
    assert_eq!(
        shown_totals(&browser).await,
        api_totals(&site, "borough=camden")
    );

    // A shared link opens the same view.
    open(&browser, &site, "?borough=camden&service_area=council-tax").await;
    let controls = browser
        .eval(
            "return [document.getElementById('filter-borough').value, \
             document.getElementById('filter-service_area').value];",
            vec![],
        )
        .await;
    assert_eq!(controls, json!(["camden", "council-tax"]));
    assert_eq!(
        shown_totals(&browser).await,
        api_totals(&site, "borough=camden&service_area=council-tax")
    );
    assert_clean(&browser, &site, "after every filter").await;

    // The checks above can fail: a console error and an image without a text alternative are
    // both caught.
    browser
        .eval(
            "console.error('probe'); const img = document.createElement('img'); \
             img.src = '/assets/favicon.svg'; document.querySelector('main').append(img);",
            vec![],
        )
        .await;
    let console = browser.console().await;
    assert!(
        console
            .iter()
            .any(|(level, message)| level == "SEVERE" && message.contains("probe")),
        "the console is read: {console:?}"
    );
    let violations = browser.serious_accessibility_violations().await;
    assert!(
        violations.iter().any(|v| v.contains("image-alt")),
        "axe-core runs: {violations:?}"
    );
    browser.close().await;
}

/// After a filter is applied: the address is `query`, the totals are the API's for it, and
/// "Clear filters" takes the address back to none.
async fn shows_then_clears(browser: &Browser, site: &Site, query: &str) {
    settled(browser).await;
    assert_eq!(address(browser).await, query);
    assert_eq!(
        shown_totals(browser).await,
        api_totals(site, query),
        "{query}"
    );
    click(browser, "#clear-filters").await;
    settled(browser).await;
    assert_eq!(address(browser).await, "", "cleared after {query}");
}

/// Types `date` (YYYY-MM-DD) into the date control `id` as its locale shows dates.
async fn set_date(browser: &Browser, id: &str, date: &str) {
    let [year, month, day]: [&str; 3] = date.split('-').collect::<Vec<_>>().try_into().unwrap();
    let input = browser
        .client
        .find(Locator::Css(&format!("#{id}")))
        .await
        .unwrap();
    // The control's order of fields (day first or month first) is the browser's locale's.
    let order = browser
        .eval(
            "return new Intl.DateTimeFormat(navigator.language).formatToParts(new Date(2001, 1, 3))\
             .filter(p => p.type !== 'literal').map(p => p.type).join(',');",
            vec![],
        )
        .await;
    let typed = match order.as_str().unwrap() {
        "day,month,year" => format!("{day}{month}{year}"),
        "year,month,day" => format!("{year}{month}{day}"),
        _ => format!("{month}{day}{year}"),
    };
    input.send_keys(&typed).await.unwrap();
    // A date control reports its value on change, which leaving it fires.
    browser
        .client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let value = browser
        .eval(
            "return document.getElementById(arguments[0]).value;",
            vec![json!(id)],
        )
        .await;
    assert_eq!(value, json!(date), "typed {typed} into #{id}");
}

#[actix_web::test]
async fn each_view_answers_the_question_with_the_apis_figures() {
    let Some(browser) = Browser::launch().await else {
        return;
    };
    let site = Site::start();

    // The estate: a row per borough, a cell per borough and area, a cell's contracts on click.
    open(&browser, &site, "?borough=camden,hackney,islington").await;
    let estate = site.api("/api/v1/insights/estate?borough=camden,hackney,islington");
    let cells = estate["items"].as_array().unwrap();
    assert_eq!(rows(&browser, "#estate-matrix").await, 3);
    let buttons = browser
        .eval(
            "return document.querySelectorAll('#estate-matrix button.cell-button').length;",
            vec![],
        )
        .await;
    assert_eq!(buttons, json!(cells.len()));
    assert_clean(&browser, &site, "the estate").await;
    browser.screenshot("estate", "#view-estate").await;
    let first = &cells[0];
    click(
        &browser,
        &format!(
            "#estate-matrix button.cell-button[data-borough=\"{}\"][data-area=\"{}\"]",
            first["borough_id"].as_str().unwrap(),
            first["service_area_id"].as_str().unwrap()
        ),
    )
    .await;
    browser
        .until(
            "the cell's contracts",
            "document.getElementById('detail').open && \
             document.getElementById('detail').dataset.ready === 'true'",
        )
        .await;
    let listed = browser
        .eval(
            "return document.querySelectorAll('#detail-contracts button[data-contract]').length;",
            vec![],
        )
        .await;
    assert_eq!(listed, first["contracts"], "the cell's contracts: {first}");
    click(&browser, "#detail-contracts button[data-contract]").await;
    browser
        .until(
            "the contract's record",
            "document.getElementById('contract-record') !== null",
        )
        .await;
    assert_clean(&browser, &site, "a contract's record").await;
    click(&browser, "#detail-close").await;

    // Joint procurement, reached from the keyboard: the right arrow on the open tab moves to
    // the next view. The timeline and the groups are the API's.
    let estate_tab = browser
        .client
        .find(Locator::Css("#tab-estate"))
        .await
        .unwrap();
    estate_tab
        .send_keys(&fantoccini::key::Key::Right.to_string())
        .await
        .unwrap();
    settled(&browser).await;
    let focus = browser
        .eval(
            "return [document.activeElement.id,              document.getElementById('tab-joint').getAttribute('aria-selected')];",
            vec![],
        )
        .await;
    assert_eq!(
        focus,
        json!(["tab-joint", "true"]),
        "arrow keys move between the views"
    );
    assert!(address(&browser).await.contains("view=joint"));
    let requests = requests_behind(&browser, "joint").await;
    let timeline = requests
        .iter()
        .find(|r| r.contains("/insights/expiry-timeline"))
        .expect("the timeline's request");
    assert!(timeline.contains("borough=camden"), "{timeline}");
    let periods = site.api(timeline)["items"].as_array().unwrap().len();
    assert_eq!(rows(&browser, "#joint-timeline-table").await, periods);
    let groups = requests
        .iter()
        .find(|r| r.contains("/insights/joint-procurement"))
        .expect("the groups' request");
    let answer = site.api(groups);
    assert_eq!(
        rows(&browser, "#joint-groups").await,
        answer["items"].as_array().unwrap().len(),
        "{groups}"
    );
    assert_clean(&browser, &site, "joint procurement").await;
    browser.screenshot("joint-procurement", "#view-joint").await;

    // Peer expertise: anonymous, then with a key kept for the session only.
    open(&browser, &site, "?view=expertise").await;
    choose(&browser, "expertise-system", "civica-openrevenues").await;
    settled(&browser).await;
    let users = site.api("/api/v1/insights/expertise?system=civica-openrevenues");
    assert_eq!(
        rows(&browser, "#expertise-table").await,
        users["items"].as_array().unwrap().len()
    );
    let key = site.app.key("reader", None);
    let input = browser.client.find(Locator::Css("#api-key")).await.unwrap();
    input.send_keys(&key).await.unwrap();
    click(&browser, "#api-key-save").await;
    browser
        .until(
            "the confidence columns",
            "[...document.querySelectorAll('#expertise-table thead th')].some(th => /confiden/i.test(th.textContent))",
        )
        .await;
    settled(&browser).await;
    let url = browser.client.current_url().await.unwrap().to_string();
    assert!(
        !url.contains(&key),
        "the key is never in the address: {url}"
    );
    let storage = browser
        .eval(
            "return {session: sessionStorage.getItem('citytools.key'), local: localStorage.length};",
            vec![],
        )
        .await;
    assert_eq!(storage, json!({"session": key, "local": 0}));
    assert_clean(&browser, &site, "peer expertise").await;
    browser.screenshot("expertise", "#view-expertise").await;

    // SME opportunities: the window's contracts, market share, and a supplier's footprint.
    open(&browser, &site, "?view=opportunities").await;
    let requests = requests_behind(&browser, "opportunities").await;
    let window = requests
        .iter()
        .find(|r| r.contains("/insights/opportunities"))
        .expect("the opportunities' request");
    let total = site.api(window)["meta"]["total"].clone();
    let shown = browser
        .eval(
            "return Number(document.getElementById('opportunities-total').dataset.value);",
            vec![],
        )
        .await;
    assert_eq!(shown, total, "{window}");
    let shares = site.api("/api/v1/insights/market-share");
    assert_eq!(
        rows(&browser, "#market-share").await,
        shares["items"].as_array().unwrap().len()
    );
    choose(&browser, "footprint-supplier", "civica").await;
    settled(&browser).await;
    let footprint = site.api("/api/v1/suppliers/civica/footprint");
    let expected: i64 = footprint["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["contracts"].as_i64().unwrap())
        .sum();
    let map = browser
        .eval(
            "const tiles = [...document.querySelectorAll('#footprint-map g.tile')]; \
             return {tiles: tiles.length, contracts: tiles.reduce((n, t) => n + Number(t.dataset.count || 0), 0)};",
            vec![],
        )
        .await;
    assert_eq!(map, json!({"tiles": 33, "contracts": expected}));
    assert_clean(&browser, &site, "SME opportunities").await;
    browser
        .screenshot("opportunities", "#view-opportunities")
        .await;

    // Vendors against satisfaction, with the correlation; who charges for data.
    click(&browser, "#tab-vendors").await;
    settled(&browser).await;
    let ratings = site.api("/api/v1/insights/vendor-satisfaction");
    assert_eq!(
        rows(&browser, "#vendors-table").await,
        ratings["items"].as_array().unwrap().len()
    );
    let correlation = browser
        .eval(
            "return document.getElementById('vendors-correlation').textContent;",
            vec![],
        )
        .await;
    assert!(
        correlation.as_str().unwrap().contains("r ="),
        "the correlation is stated: {correlation}"
    );
    assert!(rows(&browser, "#data-access-table").await > 0);
    // With the key (kept from the expertise view, in this tab's session), each borough's
    // ratings are plotted; anonymous answers carry none.
    let rated = ratings["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b.get("mean_satisfaction").is_some_and(|v| !v.is_null()))
        .count();
    assert_eq!(rated, 0, "anonymous answers carry no ratings per borough");
    let dots = browser
        .eval(
            "return document.querySelectorAll('#vendors-scatter circle').length;",
            vec![],
        )
        .await;
    assert!(
        dots.as_u64().unwrap() > 0,
        "the boroughs are plotted with a key"
    );
    assert_clean(&browser, &site, "vendors").await;
    browser.screenshot("vendors", "#view-vendors").await;

    // What a view shows can be taken away: its CSV downloads answer.
    let links = browser
        .eval(
            "return [...document.querySelectorAll('#view-vendors a.download-csv')].map(a => a.getAttribute('href'));",
            vec![],
        )
        .await;
    let links = links.as_array().unwrap();
    assert!(!links.is_empty());
    for link in links {
        let link = link.as_str().unwrap();
        let (status, body) = crate::service::http_get(site.port, link).unwrap();
        assert_eq!(status, 200, "{link}: {body}");
        assert!(body.lines().count() > 1, "{link}");
        let workbook = link.replace("format=csv", "format=xlsx");
        let status = status_line(site.port, &workbook);
        assert!(status.contains(" 200 "), "{workbook}: {status}");
    }
    let workbooks = browser
        .eval(
            "return document.querySelectorAll('#view-vendors a.download-xlsx').length;",
            vec![],
        )
        .await;
    assert_eq!(
        workbooks,
        json!(links.len()),
        "an Excel link beside each CSV"
    );

    // The key is forgotten on request.
    click(&browser, "#tab-expertise").await;
    settled(&browser).await;
    click(&browser, "#forget-key").await;
    settled(&browser).await;
    let kept = browser
        .eval("return sessionStorage.getItem('citytools.key');", vec![])
        .await;
    assert_eq!(kept, Value::Null);
    browser.close().await;
}

/// The status line of a GET of `path` (for answers that are not text).
fn status_line(port: u16, path: &str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line
}

#[actix_web::test]
async fn the_estate_pages_its_authorities() {
    let Some(browser) = Browser::launch().await else {
        return;
    };
    let site = Site::start();
    // Twenty more authorities, each with a contract: 53 rows, more than a page of 50.
    let mut sql = String::new();
    for n in 0..20 {
        sql.push_str(&format!(
            "INSERT INTO boroughs (id, gss_code, name, official_name, kind, inner_london_statutory, \
                                   inner_london_ons, surveyed) \
             VALUES ('zz-authority-{n:02}', 'E0799{n:04}', 'Zz Authority {n:02}', \
                     'Zz Authority {n:02} Council', 'district_council', false, false, false);
             INSERT INTO contracts (id, borough_id, supplier_id, title, start_date, end_date, source)
             VALUES ({id}, 'zz-authority-{n:02}', 'civica', 'Revenues', '2024-01-01', '2028-01-01', 'manual');
             INSERT INTO contract_service_areas (contract_id, service_area_id) VALUES ({id}, 'council-tax');",
            id = 90_000 + n
        ));
    }
    diesel::connection::SimpleConnection::batch_execute(&mut site.app.conn(), &sql).unwrap();
    open(&browser, &site, "").await;
    let range = browser
        .eval(
            "return document.getElementById('estate-range').textContent;",
            vec![],
        )
        .await;
    assert_eq!(range, json!("Authorities 1–50 of 53, by name."));
    assert_eq!(rows(&browser, "#estate-matrix").await, 50);
    click(&browser, "#estate-next").await;
    settled(&browser).await;
    assert_eq!(address(&browser).await, "estate_page=2");
    assert_eq!(rows(&browser, "#estate-matrix").await, 3);
    let names = browser
        .eval(
            "return [...document.querySelectorAll('#estate-matrix tbody th')].map(th => th.textContent);",
            vec![],
        )
        .await;
    let page = site.api("/api/v1/insights/estate?page=2");
    let mut expected: Vec<Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| cell["borough_name"].clone())
        .collect();
    expected.dedup();
    assert_eq!(names, json!(expected));
    // A filter starts the authorities from the first page again.
    choose(&browser, "filter-service_area", "council-tax").await;
    settled(&browser).await;
    assert_eq!(address(&browser).await, "service_area=council-tax");
    assert_clean(&browser, &site, "the estate's pages").await;
    browser.close().await;
}

#[actix_web::test]
async fn the_page_and_its_files_are_served_with_a_strict_policy_and_validators() {
    let app = crate::helpers::TestApp::new();
    let page = app.get("/").await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    let html = page.text();
    assert!(html.contains("<html lang=\"en\""), "lang is set");
    assert!(!html.contains("<script>"), "no inline script");
    assert!(html.contains("/assets/app.js"), "the page loads its script");
    let mut weight = page.body.len();
    for file in ["app.js", "app.css", "charts.js", "tiles.js", "favicon.svg"] {
        let path = format!("/assets/{file}");
        let response = app.get(&path).await;
        assert_eq!(response.status.as_u16(), 200, "{path}");
        weight += response.body.len();
        let etag = response.header("etag").expect("a validator");
        let again = app.get_with(&path, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status.as_u16(), 304, "{path} unchanged");
    }
    assert!(
        weight < 1_000_000,
        "the page and its files weigh {weight} bytes"
    );
}
