//! Find a Tender's OCDS release packages: `{base}/api/1.0/ocdsReleasePackages?updatedFrom=..
//! &updatedTo=..&limit=100`, each page's `links.next` carrying the `cursor` of the next.

use super::search::SourceApi;

/// Find a Tender's release packages.
pub const API: SourceApi = SourceApi {
    name: "find-a-tender",
    default_base_url: "https://www.find-tender.service.gov.uk",
    base_url_variable: "CITYTOOLS_FIND_A_TENDER_URL",
    path: "/api/1.0/ocdsReleasePackages",
    from: "updatedFrom",
    to: "updatedTo",
};
