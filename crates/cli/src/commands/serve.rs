//! `clawscope serve`: the JSON API plus a background task that keeps the store current.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use clawscope_ingest::SourceSelect;
use clawscope_server::{check_bind, serve, AppState};
use clawscope_store::Store;

use crate::args::ServeArgs;
use crate::context::Ctx;

pub fn run(ctx: Ctx, a: &ServeArgs) -> Result<()> {
    check_bind(a.listen, a.token.as_deref())?;
    let reader = ctx.open_store()?;
    let state = AppState::new(Box::new(reader), a.token.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let ctx = Arc::new(ctx);
    let refresh = Duration::from_secs(a.refresh.max(1));
    rt.block_on(async move {
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let importer = {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                loop {
                    let c = ctx.clone();
                    let res = tokio::task::spawn_blocking(move || -> Result<u64> {
                        let mut store = c.open_store()?;
                        let n = c
                            .import(&mut store, SourceSelect::All, None)?
                            .total()
                            .inserted;
                        store.index_text()?;
                        Ok(n)
                    })
                    .await;
                    match res {
                        Ok(Ok(n)) if n > 0 => tracing::info!(new_events = n, "store updated"),
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::warn!(error = %e, "background import failed"),
                        Err(e) => tracing::warn!(error = %e, "background import panicked"),
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(refresh) => {}
                        _ = stop_rx.changed() => break,
                    }
                }
            })
        };
        eprintln!("clawscope API on http://{} (Ctrl-C to stop)", a.listen);
        let shutdown = async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = stop_tx.send(true);
        };
        let served = serve(a.listen, state, shutdown).await;
        importer.abort();
        served
    })?;
    Ok(())
}
