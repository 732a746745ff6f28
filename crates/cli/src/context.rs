//! What every command needs: config, data roots, the store (brought up to date),
//! the pricer, the report time zone and window.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressStyle};

use clawscope_core::query::UsageFilter;
use clawscope_ingest::{
    discover, import_listed, plan, Env, ImportReport, Pricer, Progress, Readers, Roots,
    SourceSelect, Unit,
};
use clawscope_store::{SqliteStore, Store};

use crate::args::{Global, SourceArg, Window};
use crate::config::{default_store, Config};

/// Printed (to stderr) when discovery found nothing to read.
pub const NO_DATA_HINT: &str = "note: no OpenClaw or Claude Code data found (looked in $OPENCLAW_STATE_DIR, ~/.openclaw, \
~/.clawdbot, ~/.moltbot, $CLAUDE_CONFIG_DIR, ~/.config/claude, ~/.claude); point at data with --openclaw-dir or --claude-dir";

/// Shared state of one invocation.
pub struct Ctx {
    pub config: Config,
    pub roots: Roots,
    /// Parses the price table only when something needs pricing.
    pricer: Pricer,
    pub store_path: PathBuf,
    pub show_progress: bool,
}

impl SourceArg {
    pub fn select(self) -> SourceSelect {
        match self {
            SourceArg::All => SourceSelect::All,
            SourceArg::Openclaw => SourceSelect::OpenClaw,
            SourceArg::Claude => SourceSelect::Claude,
        }
    }

    pub fn filter(self) -> Option<String> {
        match self {
            SourceArg::All => None,
            SourceArg::Openclaw => Some("openclaw".into()),
            SourceArg::Claude => Some("claude".into()),
        }
    }
}

impl Ctx {
    pub fn new(g: &Global) -> Result<Ctx> {
        let config = Config::load(g.config.as_deref())?;
        let mut oc = g.openclaw_dirs.clone();
        let mut cc = g.claude_dirs.clone();
        if oc.is_empty() && cc.is_empty() {
            oc = config.openclaw_dirs.clone();
            cc = config.claude_dirs.clone();
        }
        for d in oc.iter().chain(cc.iter()) {
            if !d.exists() {
                bail!("{} does not exist", d.display());
            }
            if !d.is_dir() {
                bail!("{} is not a directory", d.display());
            }
        }
        let roots = discover(&oc, &cc, &Env::from_process());
        if !oc.is_empty() || !cc.is_empty() {
            warn_of_unlikely_roots(&roots);
        }
        let store_path = match (&g.store, &config.store) {
            (Some(p), _) | (None, Some(p)) => p.clone(),
            _ => default_store()?,
        };
        Ok(Ctx {
            pricer: Pricer::embedded_with(config.price_overrides()),
            roots,
            store_path,
            show_progress: !g.no_progress && std::io::stderr().is_terminal(),
            config,
        })
    }

    /// The pricer: the embedded table with the config's overrides.
    pub fn pricer(&self) -> &Pricer {
        &self.pricer
    }

    /// Open the store on disk.
    pub fn open_store(&self) -> Result<SqliteStore> {
        SqliteStore::open(&self.store_path)
            .with_context(|| format!("cannot open store {}", self.store_path.display()))
    }

    /// The store a report reads: imported incrementally first, or a throw-away
    /// in-memory scan for `--no-db`, or as it is for `--offline`.
    pub fn report_store(&self, w: &Window) -> Result<Box<dyn Store>> {
        if !w.offline && self.roots.openclaw.is_empty() && self.roots.claude.is_empty() {
            eprintln!("{NO_DATA_HINT}");
        }
        if w.offline {
            return Ok(Box::new(self.open_store()?));
        }
        let (s, _) = if w.no_db {
            // The scratch store's pages are in memory too: read less far ahead.
            let readers = readers(None).frugal();
            self.open_and_import(
                || Ok(SqliteStore::open_scratch()?),
                w.source.select(),
                readers,
            )?
        } else {
            self.open_and_import(|| self.open_store(), w.source.select(), readers(None))?
        };
        Ok(Box::new(s))
    }

    /// Open a store with `open` and bring it up to date (an incremental import). The
    /// data roots are listed on another thread meanwhile: on a large history where
    /// nothing changed, listing and stat-ing its files is most of the run.
    pub fn open_and_import<S: Store>(
        &self,
        open: impl FnOnce() -> Result<S>,
        select: SourceSelect,
        readers: Readers,
    ) -> Result<(S, ImportReport)> {
        let bar = ImportBar::new(self.show_progress);
        std::thread::scope(|scope| {
            let listing = std::thread::Builder::new()
                .name("clawscope-list".into())
                .spawn_scoped(scope, || plan(&self.roots, select));
            let listed = || match listing {
                Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                // No thread to spare: list here.
                Err(_) => plan(&self.roots, select),
            };
            let mut store = open()?;
            let report = import_listed(&mut store, listed, self.pricer(), readers, &bar)
                .context("import failed")?;
            tracing::info!(elapsed_ms = report.elapsed_ms, "import done");
            Ok((store, report))
        })
    }

    /// The report time zone: --timezone, config, $TZ / system zone, UTC.
    pub fn timezone(&self, w: &Window) -> Result<Tz> {
        self.zone(w.timezone.as_deref())
    }

    /// The time zone `name` (a --timezone value), else config, $TZ / system zone, UTC.
    pub fn zone(&self, name: Option<&str>) -> Result<Tz> {
        if let Some(name) = name.or(self.config.timezone.as_deref()) {
            return name.parse::<Tz>().map_err(|_| {
                anyhow::anyhow!(
                    "unknown time zone {name:?} (use an IANA name like Europe/Berlin or UTC)"
                )
            });
        }
        let system = std::env::var("TZ")
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| iana_time_zone::get_timezone().ok());
        let Some(name) = system else {
            return Ok(chrono_tz::UTC);
        };
        Ok(name.trim_start_matches(':').parse().unwrap_or_else(|_| {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                eprintln!(
                    "warning: the system time zone {name:?} is not an IANA name; using UTC (give --timezone)"
                );
            });
            chrono_tz::UTC
        }))
    }

    /// The usage filter for a window.
    pub fn filter(&self, w: &Window) -> Result<UsageFilter> {
        let tz = self.timezone(w)?;
        let f = UsageFilter {
            since_ms: w
                .since
                .as_deref()
                .map(|s| parse_bound(s, tz, false))
                .transpose()?,
            until_ms: w
                .until
                .as_deref()
                .map(|s| parse_bound(s, tz, true))
                .transpose()?,
            source: w.source.filter(),
            agent: None,
            keep: Default::default(),
        };
        if let (Some(since), Some(until)) = (f.since_ms, f.until_ms) {
            if since >= until {
                bail!(
                    "--since {} is not before --until {}: the window is empty",
                    w.since.as_deref().unwrap_or_default(),
                    w.until.as_deref().unwrap_or_default()
                );
            }
        }
        Ok(f)
    }
}

/// Directories given by hand with nothing clawscope reads in them are likely wrong paths.
fn warn_of_unlikely_roots(roots: &Roots) {
    for d in &roots.openclaw {
        if !["agents", "state", "openclaw.json"]
            .iter()
            .any(|n| d.join(n).exists())
        {
            eprintln!(
                "warning: {} does not look like an OpenClaw state dir (no agents/, state/ or openclaw.json)",
                d.display()
            );
        }
    }
    for d in &roots.claude {
        if !d.join("projects").is_dir() {
            eprintln!(
                "warning: {} has no projects/ directory (give the Claude Code config dir, e.g. ~/.claude)",
                d.display()
            );
        }
    }
}

/// Parse a --since/--until value into epoch ms. Dates are whole days in `tz`;
/// an `until` date includes that day.
pub fn parse_bound(s: &str, tz: Tz, until: bool) -> Result<i64> {
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(dt.timestamp_millis());
    }
    let parsed = NaiveDate::parse_from_str(s, "%Y-%m-%d");
    let parsed = match parsed {
        Err(e) if e.kind() == chrono::format::ParseErrorKind::Invalid => {
            NaiveDate::parse_from_str(s, "%Y%m%d")
        }
        other => other,
    };
    let date = parsed.map_err(|e| match e.kind() {
        chrono::format::ParseErrorKind::OutOfRange | chrono::format::ParseErrorKind::Impossible => {
            anyhow::anyhow!("{s:?} is not a day of the calendar")
        }
        _ => anyhow::anyhow!("cannot read {s:?} as a date (YYYY-MM-DD, YYYYMMDD or RFC 3339)"),
    })?;
    let date = if until {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let local = tz
        .from_local_datetime(&midnight)
        .earliest()
        .with_context(|| format!("{s} has no midnight in {tz}"))?;
    Ok(local.timestamp_millis())
}

/// A byte-progress bar on stderr (hidden when not a terminal).
struct ImportBar {
    bar: Option<ProgressBar>,
}

impl ImportBar {
    fn new(show: bool) -> ImportBar {
        ImportBar {
            bar: show.then(|| {
                let b = ProgressBar::new(0);
                b.set_style(
                    ProgressStyle::with_template(
                        "{spinner} importing {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                b
            }),
        }
    }
}

impl Progress for ImportBar {
    fn start(&self, _units: usize, total_bytes: u64) {
        if let Some(b) = &self.bar {
            b.set_length(total_bytes);
        }
    }
    fn unit_done(&self, unit: &Unit) {
        if let Some(b) = &self.bar {
            b.inc(unit.size);
        }
    }
    fn stage(&self, what: &str) {
        if let Some(b) = &self.bar {
            spin(b, what);
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Turn `b` into a ticking spinner that says `what` and the time since.
fn spin(b: &ProgressBar, what: &str) {
    b.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    b.set_message(what.to_string());
    b.reset_elapsed();
    b.enable_steady_tick(std::time::Duration::from_millis(120));
}

/// A spinner with a message on stderr while a slow step runs (nothing when progress
/// is off); cleared when dropped.
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    /// Show `msg` when `show`.
    pub fn new(show: bool, msg: &str) -> Spinner {
        Spinner(show.then(|| {
            let b = ProgressBar::new_spinner();
            spin(&b, msg);
            b
        }))
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// Import readers: `threads` of them (default: one per core) with the default read-ahead.
pub fn readers(threads: Option<usize>) -> Readers {
    Readers::new(threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        let utc = chrono_tz::UTC;
        assert_eq!(
            parse_bound("2026-09-01", utc, false).unwrap(),
            1_788_220_800_000
        );
        assert_eq!(
            parse_bound("20260901", utc, true).unwrap(),
            1_788_307_200_000
        );
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        assert_eq!(
            parse_bound("2026-09-01", tokyo, false).unwrap(),
            1_788_220_800_000 - 9 * 3_600_000
        );
        assert!(parse_bound("yesterday", utc, false).is_err());
    }
}
