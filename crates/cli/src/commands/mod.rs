//! One module per command.

pub mod alerts;
pub mod import;
pub mod otlp;
pub mod report;
pub mod serve;
pub mod sessions;
pub mod show;
pub mod status;
pub mod tail;
pub mod traces;
pub mod watch;
