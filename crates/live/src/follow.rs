//! Following the sources' files: inotify (via `notify`) on the data roots, turned
//! into [`Work::Paths`] for the writer, plus a slow periodic rescan as the fallback
//! for file systems without change events. New files and agents appear without a
//! restart: directories are watched recursively and unknown paths trigger a re-plan.

use std::path::PathBuf;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use clawscope_ingest::Roots;

use crate::writer::{relevant, Work};

/// Keeps the watches alive; dropping it stops them.
pub struct Follower {
    _watcher: Option<notify::RecommendedWatcher>,
    /// Paths actually watched.
    pub watched: Vec<PathBuf>,
}

/// What to watch for a set of roots.
pub fn watch_targets(roots: &Roots) -> Vec<(PathBuf, RecursiveMode)> {
    let mut out = Vec::new();
    for r in &roots.openclaw {
        if r.join("agents").is_dir() {
            out.push((r.join("agents"), RecursiveMode::Recursive));
            out.push((r.join("state"), RecursiveMode::NonRecursive));
        } else {
            // A gateway that has not created its agents yet.
            out.push((r.clone(), RecursiveMode::Recursive));
        }
    }
    for r in &roots.claude {
        // Before Claude Code's first run there is no projects/ yet: watch the root,
        // so the directory is followed the moment it appears.
        let projects = r.join("projects");
        let target = if projects.is_dir() {
            projects
        } else {
            r.clone()
        };
        out.push((target, RecursiveMode::Recursive));
    }
    for l in &roots.logs {
        // A log directory gets a new file every day; a configured file may be replaced.
        let dir = if l.is_dir() {
            l.clone()
        } else {
            l.parent()
                .map(|p| p.to_path_buf())
                .unwrap_or_else(|| l.clone())
        };
        out.push((dir, RecursiveMode::NonRecursive));
    }
    out.sort();
    out.dedup();
    out
}

/// Start watching `roots`; changes go to `tx` as [`Work::Paths`]. A root that cannot
/// be watched is logged and left to the periodic rescan.
pub fn follow(roots: &Roots, tx: mpsc::Sender<Work>) -> Follower {
    let handler = move |res: notify::Result<notify::Event>| match res {
        // Opens and reads (ours included: reading a file would trigger the next
        // round) change nothing; a close after writing does.
        Ok(ev)
            if matches!(ev.kind, notify::EventKind::Access(a)
                if a != notify::event::AccessKind::Close(notify::event::AccessMode::Write)) => {}
        Ok(ev) => {
            let paths: Vec<PathBuf> = ev.paths.into_iter().filter(|p| relevant(p)).collect();
            if !paths.is_empty() {
                let _ = tx.blocking_send(Work::Paths(paths));
            }
        }
        Err(e) => tracing::warn!(error = %e, "file watch error"),
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch files; relying on the periodic rescan");
            return Follower {
                _watcher: None,
                watched: Vec::new(),
            };
        }
    };
    let mut watched = Vec::new();
    for (path, mode) in watch_targets(roots) {
        if !path.exists() {
            continue;
        }
        match watcher.watch(&path, mode) {
            Ok(()) => watched.push(path),
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot watch"),
        }
    }
    Follower {
        _watcher: Some(watcher),
        watched,
    }
}

/// Send [`Work::Rescan`] every `every`, and [`Work::Tick`] every second, until the
/// writer is gone.
pub async fn clock(tx: mpsc::Sender<Work>, every: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut rescan = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let w = tokio::select! {
            _ = tick.tick() => Work::Tick,
            _ = rescan.tick() => Work::Rescan,
        };
        if tx.send(w).await.is_err() {
            return;
        }
    }
}
