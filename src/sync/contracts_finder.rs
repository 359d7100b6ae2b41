//! Contracts Finder's OCDS search: `{base}/Published/Notices/OCDS/Search?publishedFrom=..
//! &publishedTo=..&limit=100`, each page a release package whose `links.next` is the next page.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

/// The public service, used when neither `--base-url` nor the environment names a mirror.
pub const DEFAULT_BASE_URL: &str = "https://www.contractsfinder.service.gov.uk";

/// The environment variable naming a mirror.
pub const BASE_URL_VARIABLE: &str = "CITYTOOLS_CONTRACTS_FINDER_URL";

/// Releases per page: the most the search gives.
const LIMIT: u32 = 100;

/// The first page of the releases published from `from` to `to`.
pub fn search_url(base: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "publishedFrom",
            &from.to_rfc3339_opts(SecondsFormat::Secs, true),
        )
        .append_pair(
            "publishedTo",
            &to.to_rfc3339_opts(SecondsFormat::Secs, true),
        )
        .append_pair("limit", &LIMIT.to_string())
        .finish();
    format!(
        "{}/Published/Notices/OCDS/Search?{query}",
        base.trim_end_matches('/')
    )
}

/// The page after this one (`links.next`), if there is one.
pub fn next_page(package: &Value) -> Option<String> {
    package
        .get("links")
        .and_then(|links| links.get("next"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|next| !next.is_empty())
        .map(str::to_owned)
}

/// The `publishedTo` a search URL reads up to, if it says.
pub fn published_to(url: &str) -> Option<DateTime<Utc>> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "publishedTo")
        .and_then(|(_, value)| DateTime::parse_from_rfc3339(&value).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Releases on a page.
pub fn releases(package: &Value) -> usize {
    package
        .get("releases")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// Tender and planning releases on a page: calls for bids and plans, not yet contracts.
pub fn tenders_seen(package: &Value) -> usize {
    let Some(releases) = package.get("releases").and_then(Value::as_array) else {
        return 0;
    };
    releases
        .iter()
        .filter(|release| {
            release
                .get("tag")
                .and_then(Value::as_array)
                .is_some_and(|tags| {
                    tags.iter()
                        .filter_map(Value::as_str)
                        .any(|tag| tag.starts_with("tender") || tag.starts_with("planning"))
                        && !tags
                            .iter()
                            .filter_map(Value::as_str)
                            .any(|tag| tag.starts_with("award") || tag.starts_with("contract"))
                })
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_search_names_its_window_and_page_size() {
        let from = DateTime::parse_from_rfc3339("2022-10-19T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let to = DateTime::parse_from_rfc3339("2022-10-20T08:43:52Z")
            .unwrap()
            .with_timezone(&Utc);
        let url = search_url("http://127.0.0.1:9/", from, to);
        assert_eq!(
            url,
            "http://127.0.0.1:9/Published/Notices/OCDS/Search?publishedFrom=2022-10-19T00%3A00%3A00Z&publishedTo=2022-10-20T08%3A43%3A52Z&limit=100"
        );
        assert_eq!(published_to(&url), Some(to));
    }

    #[test]
    fn tenders_and_plans_are_counted_and_awards_are_not() {
        let package = json!({"releases": [
            {"tag": ["tender"]}, {"tag": ["tenderAmendment"]}, {"tag": ["planning"]},
            {"tag": ["award"]}, {"tag": ["awardUpdate"]}, {}
        ], "links": {"next": "http://x/next"}});
        assert_eq!(tenders_seen(&package), 3);
        assert_eq!(releases(&package), 6);
        assert_eq!(next_page(&package).as_deref(), Some("http://x/next"));
        assert_eq!(next_page(&json!({"links": {}})), None);
    }
}
