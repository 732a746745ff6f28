//! The frame around every page: title, navigation, CSRF token, live-feed wiring.

use axum::http::HeaderMap;

use crate::AppState;

/// One navigation link.
pub struct NavItem {
    pub id: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The pages in the navigation, in order.
const NAV: [(&str, &str); 11] = [
    ("overview", "Overview"),
    ("alerts", "Alerts"),
    ("sessions", "Sessions"),
    ("usage", "Usage"),
    ("flow", "Flow"),
    ("tools", "Tools"),
    ("crons", "Crons"),
    ("logs", "Logs"),
    ("memory", "Memory"),
    ("traces", "Traces"),
    ("health", "Health"),
];

/// Layout data every template receives as `chrome`.
pub struct Chrome {
    pub title: String,
    pub page: &'static str,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    pub logged_in: bool,
    pub asset_version: &'static str,
    /// Live-feed URL the script subscribes to (empty: no live updates).
    pub stream: String,
    /// `refresh` (re-render the page on new events) or `append` (session timeline).
    pub live_mode: &'static str,
}

impl NavItem {
    /// The link target.
    pub fn href(&self) -> &'static str {
        match self.id {
            "overview" => "/",
            "alerts" => "/alerts",
            "sessions" => "/sessions",
            "usage" => "/usage",
            "flow" => "/flow",
            "tools" => "/tools",
            "crons" => "/crons",
            "logs" => "/logs",
            "memory" => "/memory",
            "traces" => "/traces",
            _ => "/health",
        }
    }
}

impl Chrome {
    /// The frame for `page` (a navigation id or a sub-page like `session`).
    pub fn new(st: &AppState, headers: &HeaderMap, page: &'static str, title: &str) -> Chrome {
        let section = match page {
            "session" => "sessions",
            "trace" => "traces",
            p => p,
        };
        let (signed_in, csrf) = st.logins.frame(headers);
        Chrome {
            title: title.to_string(),
            page,
            nav: NAV
                .iter()
                .map(|(id, label)| NavItem {
                    id,
                    label,
                    current: *id == section,
                })
                .collect(),
            csrf,
            logged_in: st.token.is_some() && signed_in,
            asset_version: super::assets::VERSION.as_str(),
            stream: String::new(),
            live_mode: "refresh",
        }
    }

    /// Re-render the page when events arrive on the feed (filtered by `query`).
    pub fn live(mut self, query: &str) -> Chrome {
        self.stream = format!("/api/v1/stream?{query}");
        self
    }
}
