//! Integration tests against real PostgreSQL: each test on its own database cloned from a
//! migrated, seeded template.

mod helpers;
mod insights;

mod abandoned;
mod access;
mod browser;
mod catalogue_paging;
mod contracts;
mod csv_export;
mod dashboard;
mod docs_examples;
mod edge;
mod errors;
mod exports;
mod feed_paging;
mod fuzzed;
mod hardening;
mod imports;
mod layers;
mod openapi;
mod paging;
mod purity;
mod resilience;
mod resources;
mod rollups;
mod round_trips;
mod seeds;
mod service;
mod sources;
mod sync;
mod tenders;
mod watches;
mod writes;
