//! The web dashboard: server-rendered pages (askama templates in `templates/`), a small
//! hand-written script and style sheet (`assets/`), SVG charts drawn here. Pages read
//! the store through [`AppState::read`] like the JSON API; the script only fetches
//! server-rendered fragments and listens to the live feed.

mod act;
mod alerts;
mod assets;
mod chrome;
mod cron_actions;
mod crons;
mod flow;
pub(crate) mod fmt;
mod health;
mod login;
mod logs;
mod memory;
mod overview;
mod render;
mod rows;
mod session;
mod sessions;
mod svg;
mod timeline;
mod tools;
mod traces;
mod usage;

use std::path::PathBuf;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use clawscope_core::files::Files;

use crate::AppState;

pub use login::Logins;

/// Monthly, weekly and daily spending limits shown against the totals (USD).
#[derive(Debug, Clone, Default)]
pub struct Budgets {
    /// Per day.
    pub day_usd: Option<f64>,
    /// Per week.
    pub week_usd: Option<f64>,
    /// Per month.
    pub month_usd: Option<f64>,
}

/// What the dashboard shows beyond the store: files, limits, time zone.
#[derive(Clone)]
pub struct UiConfig {
    /// The gateway log tail and workspace notes, read by the binary's sources (none: the
    /// log page shows stored warnings, the memory page says there is no workspace).
    pub files: Option<Arc<dyn Files>>,
    /// Spending limits.
    pub budgets: Budgets,
    /// Time zone for days and hours.
    pub tz: chrono_tz::Tz,
    /// The store file (its size is shown on the health page).
    pub store_path: Option<PathBuf>,
}

impl std::fmt::Debug for UiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiConfig")
            .field("files", &self.files.is_some())
            .field("budgets", &self.budgets)
            .field("tz", &self.tz)
            .field("store_path", &self.store_path)
            .finish()
    }
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            files: None,
            budgets: Budgets::default(),
            tz: chrono_tz::UTC,
            store_path: None,
        }
    }
}

/// The dashboard's routes (auth is applied by the caller's middleware).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/alerts", get(alerts::page))
        .route("/alerts/{id}/ack", post(alerts::ack))
        .route("/alerts/silences", post(alerts::silence))
        .route("/alerts/silences/{id}/remove", post(alerts::unsilence))
        .route("/sessions", get(sessions::page))
        .route("/sessions/{key}", get(session::page))
        .route("/sessions/{key}/events", get(session::fragment))
        .route("/usage", get(usage::page))
        .route("/usage/export", get(usage::export))
        .route("/flow", get(flow::page))
        .route("/tools", get(tools::page))
        .route("/crons", get(crons::page))
        .route(
            "/crons/{id}/toggle",
            get(cron_actions::confirm_toggle).post(cron_actions::toggle),
        )
        .route(
            "/crons/{id}/run",
            get(cron_actions::confirm_run).post(cron_actions::run),
        )
        .route("/logs", get(logs::page))
        .route("/logs/tail", get(logs::tail))
        .route("/memory", get(memory::page))
        .route("/health", get(health::page))
        .route("/traces", get(traces::page))
        .route("/traces/{id}", get(traces::detail))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/assets/{name}", get(assets::serve))
}
