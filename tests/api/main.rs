//! Integration tests against real PostgreSQL: each test on its own database cloned from a
//! migrated, seeded template.

mod helpers;
mod insights;

mod access;
mod contracts;
mod csv_export;
mod errors;
mod exports;
mod openapi;
mod resources;
mod seeds;
mod service;
mod writes;
