//! The gateway client as the alert and dashboard actions use it: the live client's
//! call queue behind the alerts crate's `GatewayRpc`, and a short-lived connection
//! for one-off commands (`clawscope alerts resume`).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{bail, Result};
use serde_json::Value;

use clawscope_alerts::gateway::{BoxFuture, GatewayRpc};
use clawscope_ingest::discover::{gateway_config, Env};
use clawscope_live::gateway_rpc::{self, GatewayCaller};
use clawscope_live::gateway_ws::{self, GatewayConfig, GatewayStatus, SharedStatus};
use clawscope_live::Work;

use crate::context::Ctx;

/// Scopes for a connection that acts (cron writes, config.patch, aborts need admin).
pub const ACTION_SCOPES: [&str; 3] = ["operator.read", "operator.write", "operator.admin"];

/// The live client's call queue as a `GatewayRpc`.
pub struct LiveGateway(pub GatewayCaller);

impl GatewayRpc for LiveGateway {
    fn call<'a>(&'a self, method: &'a str, params: Value) -> BoxFuture<'a, Result<Value, String>> {
        Box::pin(self.0.call(method, params))
    }
}

/// The gateway to talk to: `url`, else the discovered openclaw.json's port; `token`,
/// else openclaw.json's.
pub fn target(ctx: &Ctx, url: Option<String>, token: Option<String>) -> Option<GatewayConfig> {
    let env = Env::from_process();
    let found = ctx
        .roots
        .openclaw
        .iter()
        .find_map(|r| gateway_config(r, &env));
    let url = url.or_else(|| {
        found
            .as_ref()
            .map(|c| format!("ws://127.0.0.1:{}", c.port.unwrap_or(18789)))
    })?;
    let token = token.or_else(|| found.and_then(|c| c.token));
    Some(GatewayConfig::new(url, token))
}

/// Connect to the gateway for a one-off command; waits up to 15 s for the handshake.
pub async fn connect_once(mut cfg: GatewayConfig) -> Result<Arc<LiveGateway>> {
    cfg.scopes = ACTION_SCOPES.iter().map(|s| s.to_string()).collect();
    let url = cfg.url.clone();
    let (caller, calls) = gateway_rpc::channel(Duration::from_secs(20));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Work>(256);
    // Live events are not needed here: drain them.
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let status: SharedStatus = Arc::new(RwLock::new(GatewayStatus::default()));
    tokio::spawn(gateway_ws::run(cfg, tx, status.clone(), calls));
    for _ in 0..150 {
        let (state, err) = status
            .read()
            .map(|s| (s.state.clone(), s.last_error.clone()))
            .unwrap_or_default();
        match state.as_str() {
            "connected" => return Ok(Arc::new(LiveGateway(caller))),
            "unauthorized" => bail!(
                "the gateway at {url} refused the token: {}",
                err.unwrap_or_default()
            ),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let why = status.read().ok().and_then(|s| s.last_error.clone());
    bail!(
        "cannot reach the gateway at {url}: {}",
        why.unwrap_or_else(|| "no answer within 15 s".into())
    )
}
