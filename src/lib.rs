//! sendguard: moderation and spam detection for a professional network's private messages.
//!
//! Data flow (see `docs/ARCHITECTURE.md`): a request is authenticated and validated by
//! [`server`], the [`app`] reads the relationship from the [`store`], the [`engine`] scores
//! the message and [`policy::decide`] turns the signals into a [`domain::Verdict`], which the
//! store applies durably before the notification hub tells the recipient.
//!
//! Modules the binary, the tests and the benches use are `pub`; the rest are `pub(crate)`.
//! The layer order (no module imports one above it, no import circles) is checked by
//! `tests/module_boundaries.rs` and drawn in `docs/ARCHITECTURE.md`.

pub mod app;
pub(crate) mod auth;
pub mod batch;
pub mod classify;
pub mod clock;
pub mod commands;
pub mod config;
pub mod dates;
pub mod domain;
pub mod engine;
pub(crate) mod error;
pub(crate) mod language;
pub mod limits;
pub(crate) mod notify;
pub mod policy;
pub mod report;
pub mod rules;
pub mod seed;
pub mod server;
pub mod shipped;
pub mod store;
pub(crate) mod test_pattern;
pub mod text;
pub mod text_file;
pub mod tsv;

pub use app::App;
pub use engine::Engine;
pub use error::{Error, ErrorKind};
pub use notify::event_stream_names;
pub use store::Store;
