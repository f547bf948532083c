//! sendguard: moderation and spam detection for a professional network's private messages.
//!
//! Data flow (see `docs/ARCHITECTURE.md`): a request is authenticated and validated by
//! [`server`], the [`app`] reads the relationship from the [`store`], the [`engine`] scores
//! the message and [`policy::decide`] turns the signals into a [`domain::Verdict`], which the
//! store applies durably before [`notify`] tells the recipient.

pub mod app;
pub mod auth;
pub mod batch;
pub mod classify;
pub mod clock;
pub mod commands;
pub mod config;
pub mod dates;
pub mod domain;
pub mod engine;
pub mod error;
pub mod language;
pub mod limits;
pub mod notify;
pub mod policy;
pub mod report;
pub mod rules;
pub mod seed;
pub mod server;
pub mod shipped;
pub mod store;
pub mod test_pattern;
pub mod text;
pub mod tsv;

pub use app::App;
pub use engine::Engine;
pub use error::{Error, ErrorKind};
pub use store::Store;
