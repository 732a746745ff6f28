//! `clawscope serve`: the JSON API and live feed, with one writer that follows the
//! sources (file changes, the gateway WebSocket, the native event stream).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};

use clawscope_alerts::engine::GatewayProbe;
use clawscope_alerts::gateway::GatewayRpc;
use clawscope_alerts::service::{api_edits, AlertService, ProbeFn, ServiceConfig};
use clawscope_alerts::AlertsConfig;
use clawscope_bus::{Bus, StreamLimits};
use clawscope_ingest::discover::{gateway_config, Env};
use clawscope_ingest::files::SourceFiles;
use clawscope_ingest::{Pricer, SourceSelect};
use clawscope_live::gateway_rpc;
use clawscope_live::gateway_ws::{self, GatewayConfig, GatewayStatus};
use clawscope_live::{event_socket, follow, TrackerConfig, Work, Writer};
use clawscope_server::ui::{Budgets, UiConfig};
use clawscope_server::{bind, serve, AlertsView, AppState};
use clawscope_store::{AlertStore, StoredRule};

use crate::args::ServeArgs;
use crate::context::Ctx;
use crate::gateway::{LiveGateway, ACTION_SCOPES};

/// Work queued for the writer before producers wait.
const QUEUE: usize = 8192;

/// The gateway to follow: the flag, else the discovered openclaw.json's port.
fn gateway_target(ctx: &Ctx, a: &ServeArgs) -> Option<GatewayConfig> {
    if a.no_gateway {
        return None;
    }
    crate::gateway::target(ctx, a.gateway.clone(), a.gateway_token.clone())
}

/// What the dashboard shows beyond the store: workspaces (from openclaw.json, else
/// `<state dir>/workspace`), gateway logs, budgets, time zone.
fn ui_config(ctx: &Ctx) -> Result<UiConfig> {
    let env = Env::from_process();
    let mut workspaces: Vec<PathBuf> = Vec::new();
    for root in &ctx.roots.openclaw {
        let ws = gateway_config(root, &env)
            .and_then(|c| c.workspace)
            .unwrap_or_else(|| root.join("workspace"));
        if ws.is_dir() && !workspaces.contains(&ws) {
            workspaces.push(ws);
        }
    }
    let b = &ctx.config.budget;
    Ok(UiConfig {
        files: Some(Arc::new(SourceFiles {
            logs: ctx.roots.logs.clone(),
            workspaces,
        })),
        budgets: Budgets {
            day_usd: b.daily_usd,
            week_usd: b.weekly_usd,
            month_usd: b.monthly_usd,
        },
        tz: ctx.zone(None)?,
        store_path: Some(ctx.store_path.clone()),
    })
}

/// Whether the alert rules act on the gateway (pause, channel messages).
fn needs_actions(c: &AlertsConfig, stored: &[StoredRule]) -> bool {
    use clawscope_alerts::deliver::ChannelConfig;
    use clawscope_alerts::rules::Action;
    let api_pause = api_edits(stored)
        .iter()
        .any(|(_, e)| e.as_ref().is_some_and(|e| e.action == Some(Action::Pause)));
    c.enabled
        && (api_pause
            || c.rules.values().any(|r| r.action == Some(Action::Pause))
            || c.channels
                .values()
                .any(|ch| matches!(ch, ChannelConfig::OpenClaw(_))))
}

/// The gateway client's status as the alert engine reads it.
fn probe(status: Arc<RwLock<GatewayStatus>>) -> ProbeFn {
    Arc::new(move || {
        let s = status.read().ok()?;
        Some(GatewayProbe {
            connected: s.state == "connected",
            last_frame_ms: s.last_frame_ms,
            since_ms: s.state_since_ms?,
        })
    })
}

/// Page cache of the alert engine's store connection (SQLite's own default).
const ALERT_CACHE_KIB: u32 = 2_000;

/// The alert service over its own store connection, or `None` when `[alerts]` is off.
fn alert_service(
    ctx: &Ctx,
    gateway: Option<Arc<dyn GatewayRpc>>,
    probe: Option<ProbeFn>,
) -> Result<Option<AlertService>> {
    let alerts = ctx.config.alerts.clone();
    if !alerts.enabled {
        return Ok(None);
    }
    // The engine reads each new event once and small rollup ranges: SQLite's default
    // page cache is plenty, where the store's default would hold ~24 MB more under load.
    let mut store = ctx.open_store()?;
    store.limit_cache(ALERT_CACHE_KIB)?;
    let service = AlertService::new(
        Box::new(store),
        ServiceConfig {
            alerts,
            budget: ctx.config.budget.amounts(),
            tz: ctx.zone(None)?,
            gateway,
            probe,
        },
    )
    .context("cannot start the alert engine (check [alerts] in the config file)")?;
    Ok(Some(service))
}

/// Wake the alert engine when the writer publishes events. It watches the published
/// sequence rather than subscribing to the event feed, which would make the bus mask and
/// render every event to JSON for a listener that reads none of it.
async fn wake_on_events(
    mut stored: tokio::sync::watch::Receiver<i64>,
    wake: Arc<tokio::sync::Notify>,
) {
    while stored.changed().await.is_ok() {
        wake.notify_one();
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM (how service managers stop a process), so
/// either ends with the writer's round finished and the store closed cleanly.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

pub fn run(ctx: Ctx, a: &ServeArgs) -> Result<()> {
    let retention = Some(a.otlp.telemetry_retention_days).filter(|d| *d > 0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Bound first: a port in use (or a missing token) ends the run before anything starts.
    let listener = {
        let _runtime = rt.enter();
        bind(a.listen, a.token.as_deref())?
    };
    let bus = Bus::new(StreamLimits {
        max_clients: a.max_stream_clients.max(1),
        max_age_secs: a.max_stream_age.max(1),
        ..StreamLimits::default()
    });
    // Watched from before the writer starts, so no publish goes unnoticed by the engine.
    let stored = bus.stored();
    let (tx, rx) = tokio::sync::mpsc::channel::<Work>(QUEUE);
    let writer = Writer::new(
        Box::new(ctx.open_store()?),
        Pricer::embedded_with(ctx.config.price_overrides()),
        ctx.roots.clone(),
        SourceSelect::All,
        bus.clone(),
        TrackerConfig {
            hung_after_ms: a.hung_after.max(1) as i64 * 1000,
            ..TrackerConfig::default()
        },
    )
    .context("cannot start the store writer")?
    .with_telemetry_retention(retention);
    let writer = std::thread::Builder::new()
        .name("clawscope-writer".into())
        .spawn(move || writer.run(rx))
        .context("cannot start the writer thread")?;
    let follower = follow::follow(&ctx.roots, tx.clone());
    tracing::info!(watched = follower.watched.len(), "following sources");

    let reader = ctx.open_store()?;
    let mut state = AppState::new(Box::new(reader), a.token.clone())
        .with_bus(bus.clone())
        .with_ui(ui_config(&ctx)?)
        .with_alerts(AlertsView {
            config: ctx.config.alerts.clone(),
            budget: ctx.config.budget.amounts(),
        });
    let mut gateway = gateway_target(&ctx, a);
    if let Some(g) = gateway.as_mut() {
        let store = ctx.open_store()?;
        let stored = store.stored_rules()?;
        // A pause in force must be undoable even if its rule is gone from the config.
        let paused = !store.pause_targets()?.is_empty();
        if a.gateway_actions || paused || needs_actions(&ctx.config.alerts, &stored) {
            g.scopes = ACTION_SCOPES.iter().map(|s| s.to_string()).collect();
        }
    }
    let status = Arc::new(RwLock::new(GatewayStatus::default()));
    if gateway.is_some() {
        let s = status.clone();
        state = state.with_gateway(Arc::new(move || {
            s.read()
                .map(|g| serde_json::to_value(&*g).unwrap_or_default())
                .unwrap_or_default()
        }));
    }
    let (caller, calls) = gateway_rpc::channel(Duration::from_secs(20));
    let rpc: Option<Arc<dyn GatewayRpc>> = gateway
        .as_ref()
        .map(|_| Arc::new(LiveGateway(caller)) as Arc<dyn GatewayRpc>);
    let alerts = alert_service(
        &ctx,
        rpc.clone(),
        gateway.is_some().then(|| probe(status.clone())),
    )?;
    if let Some(rpc) = rpc.filter(|_| a.gateway_actions) {
        state = state.with_gateway_actions(rpc);
    }
    let rescan = Duration::from_secs(a.rescan.max(1));
    let served = rt.block_on(async {
        tokio::spawn(follow::clock(tx.clone(), rescan));
        if let Some(service) = alerts {
            let wake = Arc::new(tokio::sync::Notify::new());
            tokio::spawn(wake_on_events(stored, wake.clone()));
            tokio::spawn(service.run(wake));
        }
        if let Some(cfg) = gateway {
            eprintln!("following the gateway at {}", cfg.url);
            tokio::spawn(gateway_ws::run(cfg, tx.clone(), status.clone(), calls));
        }
        if !a.no_event_socket {
            let path = a
                .event_socket
                .clone()
                .unwrap_or_else(event_socket::default_socket_path);
            match event_socket::bind_unix(&path) {
                Ok(l) => {
                    eprintln!("event stream socket at {}", path.display());
                    tokio::spawn(event_socket::serve_unix(l, tx.clone()));
                }
                // An explicit socket that cannot be opened is an error; the default
                // one is a convenience.
                Err(e) if a.event_socket.is_some() => return Err(anyhow::Error::new(e)),
                Err(e) => tracing::warn!(error = %e, "event socket not opened"),
            }
        }
        if let Some(addr) = a.event_tcp {
            let l = event_socket::bind_tcp(addr).await?;
            eprintln!("event stream on tcp://{addr}");
            tokio::spawn(event_socket::serve_tcp(l, tx.clone()));
        }
        let stop = Arc::new(tokio::sync::Notify::new());
        super::otlp::start(&a.otlp, a.token.as_deref(), tx.clone(), stop.clone()).await?;
        eprintln!(
            "clawscope dashboard and API on http://{} (Ctrl-C to stop)",
            a.listen
        );
        let shutdown = stop_signal();
        serve(listener, state, shutdown).await?;
        stop.notify_waiters();
        Ok(())
    });
    drop(follower);
    drop(tx);
    rt.shutdown_timeout(Duration::from_secs(2));
    // The writer ends once every sender is gone; it finishes its current round first.
    let _ = writer.join();
    served
}
