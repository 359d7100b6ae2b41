//! City Tools API: the open data layer behind "City Tools: London".

pub mod api;
pub mod app;
pub mod auth;
pub mod changelog;
pub mod config;
pub mod db;
pub mod error;
pub mod export;
pub mod forms;
pub mod guard;
pub mod import;
pub mod insights;
pub mod models;
pub mod normalize;
pub mod page;
pub mod purge;
pub mod queries;
pub mod representations;
pub mod seed;
pub mod sync;
pub mod synthetic;
pub mod watches;
