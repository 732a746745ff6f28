//! `clawscope import`.

use std::io::Write;

use anyhow::Result;
use clawscope_store::Store;

use crate::args::ImportArgs;
use crate::context::{readers, Ctx, Spinner};
use crate::render::{num, Table};

pub fn run(ctx: &Ctx, a: &ImportArgs, out: &mut impl Write) -> Result<()> {
    if ctx.roots.openclaw.is_empty() && ctx.roots.claude.is_empty() {
        eprintln!("{}", crate::context::NO_DATA_HINT);
    }
    let (store, report) =
        ctx.open_and_import(|| ctx.open_store(), a.source.select(), readers(a.threads))?;
    let started = std::time::Instant::now();
    let indexed = {
        let _shown = Spinner::new(ctx.show_progress, "indexing message text for search");
        store.index_text()?
    };
    let index_ms = started.elapsed().as_millis() as u64;
    if a.json {
        serde_json::to_writer_pretty(
            &mut *out,
            &serde_json::json!({
                "store": ctx.store_path,
                "roots": ctx.roots,
                "price_table": ctx.pricer().version(),
                "report": report,
                "text_index": { "rows": indexed, "elapsed_ms": index_ms },
            }),
        )?;
        writeln!(out)?;
        return Ok(());
    }
    let mut t = Table::new(&[
        "source",
        "files/dbs",
        "new bytes",
        "records",
        "events",
        "new",
        "updated",
        "unchanged",
        "skipped",
    ]);
    for (name, r) in &report.sources {
        t.row(vec![
            name.clone(),
            num(r.units),
            num(r.bytes),
            num(r.records),
            num(r.events),
            num(r.inserted),
            num(r.updated),
            num(r.unchanged),
            num(r.skipped.total()),
        ]);
    }
    t.print(out)?;
    for (name, r) in &report.sources {
        for (reason, n) in &r.skipped.0 {
            writeln!(out, "  {name}: skipped {} × {}", num(*n), reason.describe())?;
        }
        for ex in &r.skip_examples {
            writeln!(
                out,
                "    e.g. {} @ {}: {}",
                ex.path,
                ex.position,
                ex.reason.describe()
            )?;
        }
    }
    let total = report.total();
    writeln!(
        out,
        "{} new events in {:.2}s into {}; text index +{} messages in {:.2}s",
        num(total.inserted),
        report.elapsed_ms as f64 / 1000.0,
        ctx.store_path.display(),
        num(indexed),
        index_ms as f64 / 1000.0
    )?;
    Ok(())
}
