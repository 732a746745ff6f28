//! clawscope-server: the JSON API. It answers from the store only; keeping the
//! store current is the caller's job (a refresh task handed in by the binary).
#![forbid(unsafe_code)]

mod alerts_api;
mod api;
mod auth;
mod live;
mod params;
mod queries;
mod stream;
mod telemetry;
pub mod ui;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;

use clawscope_alerts::gateway::GatewayRpc;
use clawscope_bus::Bus;
use clawscope_store::Store;

pub use params::ApiError;

/// The alert configuration the API and the dashboard show and validate rule edits
/// against: the `[alerts]` section and the `[budget]` amounts the binary read.
#[derive(Debug, Clone, Default)]
pub struct AlertsView {
    /// `[alerts]` (rules, channels; channel secrets are never shown).
    pub config: clawscope_alerts::AlertsConfig,
    /// `[budget]` amounts the budget rules use.
    pub budget: clawscope_alerts::rules::BudgetAmounts,
}

/// Produces the gateway client's status as JSON (for `/api/v1/gateway`).
pub type GatewayStatusFn = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// Shared state of the API handlers.
#[derive(Clone)]
pub struct AppState {
    store: Arc<Mutex<Box<dyn Store>>>,
    token: Option<Arc<str>>,
    started_ms: i64,
    bus: Option<Arc<Bus>>,
    gateway: Option<GatewayStatusFn>,
    ui: Arc<ui::UiConfig>,
    logins: Arc<ui::Logins>,
    alerts: Arc<AlertsView>,
    actions: Option<Arc<dyn GatewayRpc>>,
}

impl AppState {
    /// State over a store, with an optional bearer token.
    pub fn new(store: Box<dyn Store>, token: Option<String>) -> AppState {
        AppState {
            store: Arc::new(Mutex::new(store)),
            token: token.map(Arc::from),
            started_ms: chrono::Utc::now().timestamp_millis(),
            bus: None,
            gateway: None,
            ui: Arc::new(ui::UiConfig::default()),
            logins: Arc::new(ui::Logins::default()),
            alerts: Arc::new(AlertsView::default()),
            actions: None,
        }
    }

    /// Let the dashboard act on the gateway (cron toggle and run-now) through `rpc`.
    pub fn with_gateway_actions(mut self, rpc: Arc<dyn GatewayRpc>) -> AppState {
        self.actions = Some(rpc);
        self
    }

    /// Serve the live feed and live session states from `bus`.
    pub fn with_bus(mut self, bus: Arc<Bus>) -> AppState {
        self.bus = Some(bus);
        self
    }

    /// Serve the gateway client's status.
    pub fn with_gateway(mut self, status: GatewayStatusFn) -> AppState {
        self.gateway = Some(status);
        self
    }

    /// What the dashboard may show beyond the store.
    pub fn with_ui(mut self, config: ui::UiConfig) -> AppState {
        self.ui = Arc::new(config);
        self
    }

    /// Show and validate alerts against this configuration (without it: the built-in
    /// rules and the default `[alerts]` section).
    pub fn with_alerts(mut self, alerts: AlertsView) -> AppState {
        self.alerts = Arc::new(alerts);
        self
    }

    /// Run a read against the store off the async threads.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let guard = store
                .lock()
                .map_err(|_| ApiError::Internal("store lock poisoned".into()))?;
            f(guard.as_ref())
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
    }

    /// Run a write (one store transaction per call) off the async threads.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = store
                .lock()
                .map_err(|_| ApiError::Internal("store lock poisoned".into()))?;
            f(guard.as_mut())
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
    }
}

/// The API and dashboard router.
pub fn router(state: AppState) -> Router {
    api::routes(state.clone())
        .merge(alerts_api::routes(state.clone()))
        .merge(ui::routes().with_state(state.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state,
            auth::require_token,
        ))
}

/// Why the server refused to start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Not loopback and no token.
    #[error("refusing to listen on {0} without a token: anything but loopback needs --token (or CLAWSCOPE_TOKEN)")]
    NeedsToken(SocketAddr),
    /// Bind or serve failure.
    #[error("cannot serve on {addr}")]
    Io {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// Check the listen address against the token rule.
pub fn check_bind(addr: SocketAddr, token: Option<&str>) -> Result<(), ServeError> {
    if !addr.ip().is_loopback() && token.is_none_or(str::is_empty) {
        return Err(ServeError::NeedsToken(addr));
    }
    Ok(())
}

/// Pending connections the kernel queues (hundreds of feed clients reconnect at once
/// after a restart; the default of 128 drops the rest for a second).
const BACKLOG: u32 = 1024;

/// A listener with a deep accept backlog (shared by every HTTP-speaking receiver).
pub fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Bind the API's address, after checking it against the token rule.
pub fn bind(addr: SocketAddr, token: Option<&str>) -> Result<tokio::net::TcpListener, ServeError> {
    check_bind(addr, token)?;
    listen(addr).map_err(|source| ServeError::Io { addr, source })
}

/// Serve the API on a listener from [`bind`] until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    tracing::info!(%addr, "API listening");
    // Small live-feed writes go out at once instead of waiting for the previous ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |t: &mut tokio::net::TcpStream| {
        let _ = t.set_nodelay(true);
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| ServeError::Io { addr, source })
}
