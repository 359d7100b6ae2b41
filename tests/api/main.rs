//! Integration tests against real PostgreSQL: each test on its own database cloned from a
//! migrated, seeded template.

mod helpers;

mod access;
mod contracts;
mod csv_export;
mod errors;
mod openapi;
mod resources;
mod seeds;
mod service;
mod writes;
