//! The requests the README and docs/ show, run against the seeded data: every `curl` of a read
//! answers 2xx, so the documentation cannot drift from the API it describes.

use crate::helpers::TestApp;

/// One documented read: where it was found, its path and query, and its headers.
#[derive(Debug)]
struct Example {
    place: String,
    path: String,
    headers: Vec<(String, String)>,
}

/// The `curl` reads of `text`: lines that start a command with `curl`, are not writes (`-X`,
/// `-d`, `-F`), and name an address on the service's default origin.
fn examples(file: &str, text: &str) -> Vec<Example> {
    const ORIGIN: &str = "http://127.0.0.1:8080";
    let mut found = Vec::new();
    let mut command = String::new();
    let mut start = 0;
    for (n, line) in text.lines().enumerate() {
        if command.is_empty() {
            if !line.trim_start().starts_with("curl ") {
                continue;
            }
            start = n + 1;
        }
        command.push_str(line.trim_end_matches('\\'));
        command.push(' ');
        if line.ends_with('\\') {
            continue;
        }
        let whole = std::mem::take(&mut command);
        let words: Vec<&str> = whole.split_whitespace().collect();
        if words
            .iter()
            .any(|w| matches!(*w, "-X" | "-d" | "--data" | "-F" | "--data-binary"))
        {
            continue;
        }
        let Some(at) = whole.find(ORIGIN) else {
            continue;
        };
        let address: String = whole[at + ORIGIN.len()..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '\'' && *c != '"')
            .collect();
        let mut headers = Vec::new();
        let mut rest = whole.as_str();
        while let Some(at) = rest.find("-H ") {
            rest = &rest[at + 3..];
            let quote = rest.chars().next().unwrap();
            let value: String = rest[1..].chars().take_while(|c| *c != quote).collect();
            if let Some((name, value)) = value.split_once(": ") {
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
        found.push(Example {
            place: format!("{file}:{start}"),
            path: address,
            headers,
        });
    }
    found
}

#[actix_web::test]
async fn every_documented_read_answers() {
    let app = TestApp::new();
    let key = app.key("reader", None);
    let mut files = vec!["README.md".to_owned()];
    let mut docs: Vec<String> = std::fs::read_dir("docs")
        .unwrap()
        .map(|entry| entry.unwrap().path().display().to_string())
        .filter(|path| path.ends_with(".md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for example in examples(file, &text) {
            let headers: Vec<(String, String)> = example
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.replace("$KEY", &key)))
                .collect();
            let borrowed: Vec<(&str, &str)> = headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect();
            let response = app.get_with(&example.path, &borrowed).await;
            checked += 1;
            if !response.status.is_success() {
                failures.push(format!(
                    "{}: GET {} answered {}: {}",
                    example.place,
                    example.path,
                    response.status,
                    response.text().chars().take(300).collect::<String>()
                ));
            }
        }
    }
    assert!(checked >= 20, "only {checked} documented reads were found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
