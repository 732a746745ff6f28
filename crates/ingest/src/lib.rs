//! clawscope-ingest: sources that read what OpenClaw and Claude Code write, turn it
//! into normalized events, and the import pipeline that prices, dedups and stores
//! them incrementally. Sources know nothing of views.
#![forbid(unsafe_code)]

mod backlog;
pub mod cursor;
pub mod discover;
pub mod files;
pub mod import;
pub mod lines;
pub mod pipeline;
pub mod sources;
pub mod unit;

pub use discover::{discover, plan, Env, Roots, SourceSelect};
pub use import::{import, import_listed, ImportReport, NoProgress, Progress, Readers};
pub use pipeline::Pricer;
pub use unit::Unit;
