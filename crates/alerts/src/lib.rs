//! clawscope-alerts: alert rules over the stored events and rollups, the engine that
//! turns their findings into alerts (firing → resolved, silences, cooldowns), the
//! notification outbox and its delivery, and gateway actions (auto-pause).
#![forbid(unsafe_code)]

pub mod config;
pub mod deliver;
pub mod engine;
pub mod gateway;
pub mod pause;
pub mod rules;
pub mod service;

pub use config::{AlertsConfig, ConfigError};
