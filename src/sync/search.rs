//! An OCDS search of a public source: a first page asked for a window of time, each page a
//! release package whose `links.next` is the next page (the OCDS pagination extension).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

/// Where a source's search is and what its parameters are called.
#[derive(Debug)]
pub struct SourceApi {
    /// The name stored in `sync_runs.source`.
    pub name: &'static str,
    /// The public service, used when neither `--base-url` nor the environment names a mirror.
    pub default_base_url: &'static str,
    /// The environment variable naming a mirror.
    pub base_url_variable: &'static str,
    /// The search's path under the base URL.
    pub path: &'static str,
    /// The parameter of the window's start.
    pub from: &'static str,
    /// The parameter of the window's end.
    pub to: &'static str,
}

/// Releases per page: the most the searches give.
const LIMIT: u32 = 100;

/// The first page of the releases of the window from `from` to `to`.
pub fn search_url(api: &SourceApi, base: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair(api.from, &from.to_rfc3339_opts(SecondsFormat::Secs, true))
        .append_pair(api.to, &to.to_rfc3339_opts(SecondsFormat::Secs, true))
        .append_pair("limit", &LIMIT.to_string())
        .finish();
    format!("{}{}?{query}", base.trim_end_matches('/'), api.path)
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

/// The end of the window a search URL reads, if it says.
pub fn window_end(api: &SourceApi, url: &str) -> Option<DateTime<Utc>> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == api.to)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{contracts_finder, find_a_tender};
    use serde_json::json;

    #[test]
    fn a_search_names_its_window_and_page_size() {
        let from = DateTime::parse_from_rfc3339("2022-10-19T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let to = DateTime::parse_from_rfc3339("2022-10-20T08:43:52Z")
            .unwrap()
            .with_timezone(&Utc);
        let url = search_url(&contracts_finder::API, "http://127.0.0.1:9/", from, to);
        assert_eq!(
            url,
            "http://127.0.0.1:9/Published/Notices/OCDS/Search?publishedFrom=2022-10-19T00%3A00%3A00Z&publishedTo=2022-10-20T08%3A43%3A52Z&limit=100"
        );
        assert_eq!(window_end(&contracts_finder::API, &url), Some(to));
        let url = search_url(&find_a_tender::API, "http://127.0.0.1:9", from, to);
        assert_eq!(
            url,
            "http://127.0.0.1:9/api/1.0/ocdsReleasePackages?updatedFrom=2022-10-19T00%3A00%3A00Z&updatedTo=2022-10-20T08%3A43%3A52Z&limit=100"
        );
        assert_eq!(window_end(&find_a_tender::API, &url), Some(to));
    }

    #[test]
    fn a_page_says_how_many_releases_it_holds_and_where_the_next_is() {
        let package = json!({"releases": [
            {"tag": ["tender"]}, {"tag": ["award"]}, {}
        ], "links": {"next": "http://x/next"}});
        assert_eq!(releases(&package), 3);
        assert_eq!(next_page(&package).as_deref(), Some("http://x/next"));
        assert_eq!(next_page(&json!({"links": {}})), None);
    }
}
