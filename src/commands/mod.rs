//! The CLI's commands as library functions: `main.rs` parses arguments and calls these, and
//! tests call them directly. Each reports bad input with the file (and line) at fault.
//! Files: [`train`], [`eval_groups`] (`eval --by`), [`classify`], [`rules`] (`check`,
//! `scan`), [`report`], [`rescore`], [`store`] (`migrate`, `store import`), [`events`]
//! (`events tail`).

pub mod classify;
pub mod eval_groups;
pub mod events;
pub mod report;
pub mod rescore;
pub mod rules;
pub mod store;
pub mod train;
pub mod worker;
