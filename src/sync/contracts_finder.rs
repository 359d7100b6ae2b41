//! Contracts Finder's OCDS search: `{base}/Published/Notices/OCDS/Search?publishedFrom=..
//! &publishedTo=..&limit=100`, each page a release package whose `links.next` is the next page.

use super::search::SourceApi;

/// Contracts Finder's search.
pub const API: SourceApi = SourceApi {
    name: "contracts-finder",
    default_base_url: "https://www.contractsfinder.service.gov.uk",
    base_url_variable: "CITYTOOLS_CONTRACTS_FINDER_URL",
    path: "/Published/Notices/OCDS/Search",
    from: "publishedFrom",
    to: "publishedTo",
};
