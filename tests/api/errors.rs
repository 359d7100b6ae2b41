//! Every error is RFC 9457 problem+json whose detail names the problem; nothing is a 500.

use crate::helpers::TestApp;

#[actix_web::test]
async fn unknown_route_is_a_problem() {
    let app = TestApp::new();
    let body = app.get("/api/v1/nothing-here").await.problem(404);
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("/api/v1/nothing-here"));
    app.get("/nothing-here").await.problem(404);
    let missing = app.get("/assets/nothing.js").await.problem(404);
    assert!(
        missing["detail"].as_str().unwrap().contains("app.js"),
        "{missing}"
    );
}

#[actix_web::test]
async fn a_cache_busting_underscore_is_ignored_everywhere() {
    let app = TestApp::new();
    for path in [
        "/api/v1/contracts?borough=camden&_=1764500000000",
        "/api/v1/boroughs/camden?_=1",
        "/api/v1/insights/summary?_=",
        "/api/v1/sources?_=2",
        "/healthz?_=3",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status.as_u16(), 200, "{path}: {}", response.text());
    }
    let with = app
        .get("/api/v1/contracts?borough=camden&per_page=3&_=9")
        .await
        .json();
    let without = app
        .get("/api/v1/contracts?borough=camden&per_page=3")
        .await
        .json();
    assert_eq!(with, without);
    // Other unknown parameters are still named.
    app.get("/api/v1/contracts?__=1").await.problem(400);
}

#[actix_web::test]
async fn unknown_query_parameter_is_named() {
    let app = TestApp::new();
    for path in [
        "/api/v1/contracts",
        "/api/v1/boroughs",
        "/api/v1/service-areas",
        "/api/v1/suppliers",
        "/api/v1/systems",
        "/api/v1/boroughs/camden",
        "/api/v1/boroughs/camden/contracts",
    ] {
        let body = app.get(&format!("{path}?colour=red")).await.problem(400);
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("unknown query parameter `colour`"),
            "{path}: {body}"
        );
        assert_eq!(body["errors"][0]["field"], "colour");
    }
}

#[actix_web::test]
async fn malformed_values_are_named_with_the_value() {
    let app = TestApp::new();
    let cases = [
        ("ends_after=31/03/2026", "ends_after", "31/03/2026"),
        ("ends_before=2026-02-30", "ends_before", "2026-02-30"),
        ("active_on=tomorrow", "active_on", "tomorrow"),
        ("per_page=501", "per_page", "501"),
        ("per_page=0", "per_page", "0"),
        ("per_page=ten", "per_page", "ten"),
        ("page=0", "page", "0"),
        ("page=-1", "page", "-1"),
        ("hosting=cloud", "hosting", "cloud"),
        ("procurement_route=tender", "procurement_route", "tender"),
        ("data_access=free", "data_access", "free"),
        ("source=rumour", "source", "rumour"),
        ("min_annual_value=%C2%A3100", "min_annual_value", "£100"),
        ("sort=colour", "sort", "colour"),
        ("sort=-", "sort", ""),
        ("format=xml", "format", "xml"),
    ];
    for (query, field, value) in cases {
        let body = app
            .get(&format!("/api/v1/contracts?{query}"))
            .await
            .problem(400);
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains(value),
            "{query}: {body}"
        );
    }
}

#[actix_web::test]
async fn unknown_filter_values_are_named() {
    let app = TestApp::new();
    let cases = [
        ("borough=camden,atlantis", "borough", "atlantis"),
        ("supplier=acme", "supplier", "acme"),
        ("system=abacus", "system", "abacus"),
        ("service_area=alchemy", "service_area", "alchemy"),
    ];
    for (query, field, value) in cases {
        let body = app
            .get(&format!("/api/v1/contracts?{query}"))
            .await
            .problem(400);
        assert_eq!(body["errors"][0]["field"], field);
        assert!(body["detail"].as_str().unwrap().contains(value), "{body}");
    }
    let body = app
        .get("/api/v1/systems?supplier=acme&service_area=alchemy")
        .await
        .problem(400);
    assert_eq!(
        body["errors"].as_array().unwrap().len(),
        2,
        "every failing parameter is listed"
    );
    app.get("/api/v1/service-areas?parent=alchemy")
        .await
        .problem(400);
    app.get("/api/v1/suppliers?service_area=alchemy")
        .await
        .problem(400);
}

#[actix_web::test]
async fn contradictory_ranges_are_refused() {
    let app = TestApp::new();
    let body = app
        .get("/api/v1/contracts?ends_after=2028-01-01&ends_before=2027-01-01")
        .await
        .problem(400);
    assert_eq!(body["errors"][0]["field"], "ends_before");
    app.get("/api/v1/contracts?min_annual_value=10&max_annual_value=5")
        .await
        .problem(400);
}

#[actix_web::test]
async fn a_list_parameter_takes_either_form_and_a_single_one_repeated_is_named() {
    let app = TestApp::new();
    // `borough=a&borough=b` (explode) and `borough=a,b` are the same question, mixed too.
    let ids = |body: serde_json::Value| -> Vec<i64> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let comma = app
        .get("/api/v1/contracts?borough=camden,hackney,islington&per_page=500")
        .await
        .json();
    assert!(comma["meta"]["total"].as_i64().unwrap() > 0);
    for uri in [
        "/api/v1/contracts?borough=camden&borough=hackney&borough=islington&per_page=500",
        "/api/v1/contracts?borough=camden,hackney&borough=islington&per_page=500",
    ] {
        assert_eq!(ids(app.get(uri).await.json()), ids(comma.clone()), "{uri}");
    }
    let groups = app
        .get("/api/v1/insights/joint-procurement?include=contracts&include=ended")
        .await;
    assert_eq!(groups.status, 200);
    // A parameter that takes one value, twice: the 400 names it.
    let body = app
        .get("/api/v1/contracts?sort=end_date&sort=-end_date")
        .await
        .problem(400);
    assert_eq!(body["errors"][0]["field"], "sort");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("`sort` takes one value"),
        "{body}"
    );
}

#[actix_web::test]
async fn unknown_ids_are_404_problems() {
    let app = TestApp::new();
    for path in [
        "/api/v1/boroughs/atlantis",
        "/api/v1/boroughs/E09999999",
        "/api/v1/service-areas/alchemy",
        "/api/v1/suppliers/acme",
        "/api/v1/systems/abacus",
        "/api/v1/contracts/999999",
        "/api/v1/contracts/not-a-number",
        "/api/v1/contracts/99999999999999999999999",
        "/api/v1/boroughs/atlantis/contracts",
        "/api/v1/suppliers/acme/contracts",
        "/api/v1/systems/abacus/contracts",
    ] {
        let body = app.get(path).await.problem(404);
        let last = path.rsplit('/').find(|s| *s != "contracts").unwrap();
        assert!(
            body["detail"].as_str().unwrap().contains(last),
            "{path}: {body}"
        );
    }
}

#[actix_web::test]
async fn a_method_the_route_does_not_take_is_a_problem() {
    let app = TestApp::new();
    let response = app
        .call(actix_web::test::TestRequest::post().uri("/api/v1/boroughs/camden"))
        .await;
    let problem = response.problem(405);
    assert!(problem["detail"].as_str().unwrap().contains("POST"));
    let allow = response.header("allow").unwrap();
    assert!(allow.contains("GET") && allow.contains("PATCH"), "{allow}");
}

#[actix_web::test]
async fn an_overlong_query_string_is_refused() {
    let app = TestApp::new();
    let long = "a".repeat(10_000);
    app.get(&format!("/api/v1/contracts?q={long}"))
        .await
        .problem(400);
}

#[actix_web::test]
async fn hostile_input_never_causes_a_500() {
    let app = TestApp::new();
    let inputs = [
        "/api/v1/contracts?q=%27%3B%20DROP%20TABLE%20contracts%3B--",
        "/api/v1/contracts?borough=%00",
        "/api/v1/contracts?q=%F0%9F%92%A9",
        "/api/v1/contracts?min_annual_value=99999999999999999999",
        "/api/v1/contracts?ends_after=9999-12-31",
        "/api/v1/contracts?page=1000000&per_page=500",
        "/api/v1/boroughs/%27%20OR%201%3D1",
        "/api/v1/contracts?service_area=,,,",
        "/api/v1/contracts?borough=",
    ];
    for uri in inputs {
        let response = app.get(uri).await;
        assert!(response.status.as_u16() < 500, "{uri}: {}", response.text());
        if !response.status.is_success() {
            response.problem(response.status.as_u16());
        }
    }
    assert!(!app.column("SELECT count(*) AS value FROM contracts")[0].starts_with('0'));
}

#[actix_web::test]
async fn ids_are_matched_in_any_case_and_a_slip_gets_a_suggestion() {
    let app = TestApp::new();
    let total = |body: serde_json::Value| body["meta"]["total"].as_i64().unwrap();
    let lower = total(
        app.get(
            "/api/v1/contracts?borough=camden&supplier=civica&service_area=revenues-and-benefits",
        )
        .await
        .json(),
    );
    assert!(lower > 0);
    for uri in [
        "/api/v1/contracts?borough=Camden&supplier=CIVICA&service_area=Revenues-And-Benefits",
        "/api/v1/contracts?borough=e09000007&supplier=Civica&service_area=REVENUES-AND-BENEFITS",
    ] {
        let response = app.get(uri).await;
        assert_eq!(response.status, 200, "{uri}: {}", response.text());
        assert_eq!(total(response.json()), lower, "{uri}");
    }
    let body = app
        .get("/api/v1/contracts?borough=camdn")
        .await
        .problem(400);
    assert_eq!(body["errors"][0]["field"], "borough");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `camden`?"),
        "{body}"
    );
    let body = app
        .get("/api/v1/insights/market-share?service_area=waste")
        .await
        .problem(400);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("`waste-and-recycling`"),
        "{body}"
    );
    let body = app
        .get("/api/v1/contracts?system=atlantis-pro")
        .await
        .problem(400);
    assert_eq!(
        body["errors"][0]["message"],
        "unknown system \"atlantis-pro\""
    );
}

#[actix_web::test]
async fn a_trailing_slash_redirects_to_the_resource() {
    let app = TestApp::new();
    for (asked, location) in [
        ("/api/v1/contracts/", "/api/v1/contracts"),
        (
            "/api/v1/contracts/?borough=camden&per_page=5",
            "/api/v1/contracts?borough=camden&per_page=5",
        ),
        ("/api/v1/boroughs/camden/", "/api/v1/boroughs/camden"),
        ("/api/v1/insights/summary//", "/api/v1/insights/summary"),
    ] {
        let response = app.get(asked).await;
        assert_eq!(response.status, 308, "{asked}");
        assert_eq!(
            response.header("location").as_deref(),
            Some(location),
            "{asked}"
        );
        assert_eq!(app.get(location).await.status, 200, "{location}");
    }
    // The docs page keeps its own slash.
    assert_eq!(app.get("/docs/").await.status, 200);
}
