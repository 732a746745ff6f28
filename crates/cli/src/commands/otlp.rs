//! The OTLP receivers of `serve`: OTLP/HTTP and OTLP/gRPC, writing through the one
//! store writer and answering exporters only once their data is committed.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::sync::{mpsc, oneshot};

use clawscope_live::Work;
use clawscope_otlp::{Config, Sink};
use clawscope_server::{check_bind, listen};

use crate::args::OtlpArgs;

const DEFAULT_HTTP: &str = "127.0.0.1:4318";
const DEFAULT_GRPC: &str = "127.0.0.1:4317";

/// A sink that queues telemetry for the writer and waits for its commit.
fn writer_sink(tx: mpsc::Sender<Work>) -> Sink {
    Arc::new(move |t| {
        let tx = tx.clone();
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            tx.send(Work::Telemetry(t, reply))
                .await
                .map_err(|_| "the store writer has stopped".to_string())?;
            answer
                .await
                .map_err(|_| "the store writer has stopped".to_string())?
        })
    })
}

/// Bind `explicit` (an error when it fails) or the default address (a warning).
async fn bind(
    what: &str,
    explicit: Option<SocketAddr>,
    default: &str,
) -> Result<Option<tokio::net::TcpListener>> {
    let addr = match explicit {
        Some(a) => a,
        None => default.parse().context("default OTLP address")?,
    };
    match listen(addr) {
        Ok(l) => Ok(Some(l)),
        Err(e) if explicit.is_none() => {
            tracing::warn!(error = %e, %addr, "{what} receiver not started");
            eprintln!(
                "{what} receiver not started: {addr}: {e} (choose another with --{})",
                what.to_lowercase().replace('/', "-")
            );
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| format!("cannot listen on {addr} for {what}")),
    }
}

/// Start the receivers `a` asks for; they run until `shutdown` is notified.
pub async fn start(
    a: &OtlpArgs,
    api_token: Option<&str>,
    tx: mpsc::Sender<Work>,
    shutdown: Arc<tokio::sync::Notify>,
) -> Result<()> {
    let token = a
        .otlp_token
        .clone()
        .or_else(|| api_token.map(str::to_string));
    let cfg = Config {
        token: token.clone(),
        token_header: a.otlp_token_header.as_ref().map(|h| h.to_ascii_lowercase()),
        max_body: a.otlp_max_body.max(1024),
    };
    let sink = writer_sink(tx);
    if !a.no_otlp_http {
        if let Some(addr) = a.otlp_http {
            check_bind(addr, token.as_deref())?;
        }
        if let Some(l) = bind("OTLP/HTTP", a.otlp_http, DEFAULT_HTTP).await? {
            eprintln!("OTLP/HTTP receiver on http://{}", l.local_addr()?);
            let (sink, cfg, stop) = (sink.clone(), cfg.clone(), shutdown.clone());
            tokio::spawn(async move {
                let served =
                    clawscope_otlp::http::serve(l, sink, cfg, async move { stop.notified().await })
                        .await;
                if let Err(e) = served {
                    tracing::warn!(error = %e, "OTLP/HTTP receiver stopped");
                }
            });
        }
    }
    if !a.no_otlp_grpc {
        if let Some(addr) = a.otlp_grpc {
            check_bind(addr, token.as_deref())?;
        }
        if let Some(l) = bind("OTLP/gRPC", a.otlp_grpc, DEFAULT_GRPC).await? {
            eprintln!("OTLP/gRPC receiver on {}", l.local_addr()?);
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let served =
                    clawscope_otlp::grpc::serve(l, sink, cfg, async move { stop.notified().await })
                        .await;
                if let Err(e) = served {
                    tracing::warn!(error = %e, "OTLP/gRPC receiver stopped");
                }
            });
        }
    }
    Ok(())
}
