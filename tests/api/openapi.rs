//! The served OpenAPI document is the committed one, and documents every operation.

use crate::helpers::TestApp;

#[actix_web::test]
async fn served_document_equals_the_committed_one() {
    let app = TestApp::new();
    let served = app.get("/openapi.json").await.json();
    let committed: serde_json::Value =
        serde_json::from_str(include_str!("../../openapi/openapi.json"))
            .expect("openapi/openapi.json is JSON");
    assert!(
        served == committed,
        "openapi/openapi.json is out of date: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
    assert_eq!(
        citytools::app::openapi_json(),
        include_str!("../../openapi/openapi.json")
    );
}

#[actix_web::test]
async fn every_operation_is_documented() {
    let document = serde_json::to_value(citytools::app::openapi()).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.contains_key("/api/v1/contracts"));
    assert!(paths.contains_key("/api/v1/boroughs/{id}/contracts"));
    let mut operation_ids = std::collections::BTreeSet::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{name} has a summary"
            );
            assert!(
                operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{name} has a tag"
            );
            assert!(operation_ids.insert(operation["operationId"].as_str().unwrap().to_owned()));
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|status| status.starts_with('2')),
                "{name} documents success"
            );
            if path.starts_with("/api/") {
                for status in ["400", "401", "503"] {
                    let problem =
                        &responses[status]["content"]["application/problem+json"]["schema"]["$ref"];
                    assert_eq!(
                        problem, "#/components/schemas/Problem",
                        "{name} documents {status}"
                    );
                }
            }
            if method != "get" {
                let security = operation["security"]
                    .as_array()
                    .expect("writes list their security");
                assert!(
                    security.iter().any(|s| s.get("bearer").is_some()),
                    "{name} needs a key"
                );
                assert!(responses.contains_key("401"), "{name} documents 401");
                // A key acts on its own watches only (another's are a 404), and they have no
                // versions to match: no 403, no If-Match.
                let own_records_only = path.starts_with("/api/v1/watches");
                if !own_records_only {
                    assert!(responses.contains_key("403"), "{name} documents 403");
                }
                if method != "post" && !own_records_only {
                    for status in ["404", "412"] {
                        assert!(responses.contains_key(status), "{name} documents {status}");
                    }
                }
                if method != "delete" {
                    assert!(responses.contains_key("422"), "{name} documents 422");
                    assert!(
                        operation["requestBody"]["content"].is_object(),
                        "{name} documents its body"
                    );
                }
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                assert!(
                    parameter["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{name} parameter {} has a description",
                    parameter["name"]
                );
            }
        }
    }
}

#[actix_web::test]
async fn the_docs_ui_is_served_without_the_internet() {
    let app = TestApp::new();
    let redirect = app.get("/docs").await;
    assert!(redirect.status.is_redirection());
    let page = app.get("/docs/").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("swagger-ui"));
    assert!(!html.contains("https://"), "no assets from a CDN");
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status, 200);
    assert!(
        bundle.body.len() > 100_000,
        "the UI bundle is served locally"
    );
}

fn collect_refs(value: &serde_json::Value, refs: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", serde_json::Value::String(target)) => refs.push(target.clone()),
                    _ => collect_refs(child, refs),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

#[actix_web::test]
async fn every_schema_reference_resolves() {
    let document = serde_json::to_value(citytools::app::openapi()).unwrap();
    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);
    assert!(!refs.is_empty());
    for target in refs {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {target}"));
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{target} is referenced but not defined"
        );
    }
}

#[actix_web::test]
async fn a_contracts_assessment_fields_are_typed_properties_and_every_csv_answer_offers_xlsx() {
    let app = TestApp::new();
    let document = app.get("/openapi.json").await.json();
    let contract = &document["components"]["schemas"]["Contract"];
    assert!(contract.get("allOf").is_none(), "{contract}");
    for field in [
        "satisfaction",
        "value_for_money",
        "support_confidence",
        "development_confidence",
        "notes",
    ] {
        let property = &contract["properties"][field];
        assert!(
            property["type"]
                .as_array()
                .is_some_and(|types| types.contains(&serde_json::json!("null"))),
            "{field}: {property}"
        );
        assert!(!contract["required"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(field)));
    }
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(ok) = item
            .get("get")
            .map(|get| &get["responses"]["200"]["content"])
        else {
            continue;
        };
        assert_eq!(
            ok.get("text/csv").is_some(),
            ok.get(xlsx).is_some(),
            "{path}: a CSV answer and a workbook go together"
        );
    }
}

#[actix_web::test]
async fn every_answer_with_a_body_has_an_example_that_its_schema_accepts() {
    let app = TestApp::new();
    let document = app.get("/openapi.json").await.json();
    let components = document["components"].clone();
    let mut missing = Vec::new();
    let mut invalid = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(responses) = operation["responses"].as_object() else {
                continue;
            };
            let mut any = false;
            for (status, response) in responses {
                for (media, content) in response["content"].as_object().into_iter().flatten() {
                    let Some(example) = content.get("example") else {
                        continue;
                    };
                    any |= status.starts_with('2');
                    if !media.ends_with("json") {
                        continue;
                    }
                    let mut schema = content["schema"].clone();
                    schema["components"] = components.clone();
                    let validator = jsonschema::validator_for(&schema)
                        .unwrap_or_else(|e| panic!("{method} {path} {status}: {e}"));
                    let errors: Vec<String> = validator
                        .iter_errors(example)
                        .map(|e| format!("{} at {}", e, e.instance_path()))
                        .collect();
                    if !errors.is_empty() {
                        invalid.push(format!("{method} {path} {status} {media}: {errors:?}"));
                    }
                }
            }
            let has_body = responses
                .iter()
                .any(|(status, r)| status.starts_with('2') && r.get("content").is_some());
            if has_body && !any {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "answers without an example: {missing:#?}"
    );
    assert!(
        invalid.is_empty(),
        "examples their schemas refuse: {invalid:#?}"
    );

    // The check can fail: a contract whose id is text is refused.
    let mut schema = document["paths"]["/api/v1/contracts/{id}"]["get"]["responses"]["200"]
        ["content"]["application/json"]["schema"]
        .clone();
    schema["components"] = components;
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut wrong = document["paths"]["/api/v1/contracts/{id}"]["get"]["responses"]["200"]
        ["content"]["application/json"]["example"]
        .clone();
    assert!(validator.is_valid(&wrong));
    wrong["id"] = serde_json::json!("forty-two");
    assert!(!validator.is_valid(&wrong));
}
