//! How fast can SQLite alone store the event rows an import produced? A lower bound for
//! any import into this schema on this machine.
//!
//! ```text
//! cargo run --release -p clawscope-store --example sqlite_floor -- STORE.db [SCRATCH_DIR]
//! ```
//!
//! Copies the `events` table of an existing store into a new database file (in
//! `SCRATCH_DIR`, default the system temp dir) with one `INSERT … SELECT` in one
//! transaction, then builds each of the store's full indexes on `events` in turn (its
//! partial indexes exist before the copy, as during an import). Nothing is
//! parsed, bound, deduplicated, rolled up or priced, and durability is off (no journal,
//! no syncs): what is timed is SQLite's own work on rows already encoded, which an
//! import has to do on top of everything else. The same bundled SQLite as the store.
//!
//! Prints one JSON object: rows, milliseconds for the copy and for each index, their
//! sum, and the events per second that sum allows. Warm the page cache with the store
//! file first, or the copy also times reading it from disk.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use rusqlite::{Connection, OpenFlags};

const USAGE: &str = "sqlite_floor STORE.db [SCRATCH_DIR]";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let Some(store) = args.next().map(PathBuf::from) else {
        bail!("usage: {USAGE}");
    };
    let scratch_dir = args.next().map_or_else(std::env::temp_dir, PathBuf::from);
    let scratch = tempfile::Builder::new()
        .prefix("sqlite-floor")
        .tempdir_in(&scratch_dir)
        .with_context(|| format!("a scratch directory in {}", scratch_dir.display()))?;
    let floor = measure(&store, &scratch.path().join("floor.db"))?;
    println!("{}", serde_json::to_string_pretty(&floor)?);
    Ok(())
}

/// Copy `store`'s events into a new file at `target` and index them; return the timings.
fn measure(store: &Path, target: &Path) -> anyhow::Result<serde_json::Value> {
    // Read-only first: a wrong path must not leave an empty file behind.
    let source = Connection::open_with_flags(store, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", store.display()))?;
    let table: String = source
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'",
            [],
            |r| r.get(0),
        )
        .with_context(|| format!("{} has no events table", store.display()))?;
    let mut stmt = source.prepare(
        "SELECT name, sql FROM sqlite_master
         WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL ORDER BY name",
    )?;
    let indexes = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    drop(stmt);
    drop(source);

    let conn = Connection::open(target)?;
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536;",
    )?;
    conn.execute("ATTACH DATABASE ?1 AS src", [store.to_string_lossy()])?;
    conn.execute_batch(&table)?;
    // A partial index sees few rows: kept up during the copy, as an import keeps it, it
    // costs next to nothing, where building it afterwards would scan the whole table.
    let (partial, full): (Vec<_>, Vec<_>) = indexes
        .iter()
        .partition(|(_, sql)| sql.to_ascii_uppercase().contains(" WHERE "));
    for (name, sql) in &partial {
        conn.execute_batch(sql)
            .with_context(|| format!("creating {name}"))?;
    }
    let t = Instant::now();
    let rows = conn.execute(
        "INSERT INTO main.events SELECT * FROM src.events ORDER BY seq",
        [],
    )?;
    let copy_ms = t.elapsed().as_secs_f64() * 1e3;
    conn.execute_batch("DETACH DATABASE src")?;
    let mut total_ms = copy_ms;
    let mut index_ms = serde_json::Map::new();
    for (name, sql) in &full {
        let t = Instant::now();
        conn.execute_batch(sql)
            .with_context(|| format!("building {name}"))?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        total_ms += ms;
        index_ms.insert(name.clone(), round(ms).into());
    }
    let bytes = std::fs::metadata(target)?.len();
    let events_per_s = if total_ms > 0.0 {
        rows as f64 / (total_ms / 1e3)
    } else {
        f64::INFINITY
    };
    Ok(serde_json::json!({
        "sqlite_version": rusqlite::version(),
        "rows": rows,
        "copy_ms": round(copy_ms),
        "index_ms": index_ms,
        "total_ms": round(total_ms),
        "events_per_s": events_per_s.round(),
        "file_bytes": bytes,
    }))
}

fn round(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}
