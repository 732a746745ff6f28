//! `/memory`: the agents' workspace notes (`*.md` at the workspace root and
//! `memory/*.md`), read-only. Only files from that listing can be opened: the `file`
//! parameter is looked up in it, never joined onto a path.

use std::path::{Path, PathBuf};
use std::time::Instant;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use clawscope_core::redact::mask;

use super::chrome::Chrome;
use super::{fmt, render};
use crate::{ApiError, AppState};

/// Largest file shown (the rest is cut with a note).
const MAX_BYTES: usize = 512 * 1024;
/// Files listed per workspace at most.
const MAX_FILES: usize = 500;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    file: String,
}

pub struct FileRow {
    pub id: String,
    pub href: String,
    pub name: String,
    pub size: String,
    pub modified: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "memory.html")]
pub struct MemoryPage {
    pub chrome: Chrome,
    pub groups: Vec<(String, Vec<FileRow>)>,
    pub open_name: String,
    pub content: Option<String>,
    pub note: String,
}

fn md_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Every listed file with a stable id (`<workspace index>:<relative name>`).
fn listing(workspaces: &[PathBuf]) -> Vec<(String, String, PathBuf)> {
    let mut out = Vec::new();
    for (i, ws) in workspaces.iter().enumerate() {
        let mut files = md_files(ws);
        files.extend(md_files(&ws.join("memory")));
        for f in files.into_iter().take(MAX_FILES) {
            let rel = f
                .strip_prefix(ws)
                .unwrap_or(&f)
                .to_string_lossy()
                .into_owned();
            out.push((format!("{i}:{rel}"), ws.display().to_string(), f));
        }
    }
    out
}

/// `GET /memory?file=ID`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    let started = Instant::now();
    let chrome = Chrome::new(&st, &headers, "memory", "Memory");
    let workspaces = st.ui.workspaces.clone();
    let tz = st.ui.tz;
    let r = tokio::task::spawn_blocking(move || {
        let files = listing(&workspaces);
        let mut groups: Vec<(String, Vec<FileRow>)> = Vec::new();
        let mut open: Option<&PathBuf> = None;
        let mut open_name = String::new();
        for (id, ws, path) in &files {
            let meta = path.metadata().ok();
            let current = *id == p.file;
            if current {
                open = Some(path);
                open_name = id.split_once(':').map(|x| x.1).unwrap_or(id).to_string();
            }
            let row = FileRow {
                href: format!(
                    "/memory?{}",
                    serde_urlencoded::to_string([("file", id.as_str())]).unwrap_or_default()
                ),
                name: id.split_once(':').map(|x| x.1).unwrap_or(id).to_string(),
                size: meta
                    .as_ref()
                    .map(|m| format!("{} B", fmt::int(m.len())))
                    .unwrap_or_default(),
                modified: meta
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| fmt::datetime(d.as_millis() as i64, tz))
                    .unwrap_or_default(),
                current,
                id: id.clone(),
            };
            match groups.last_mut() {
                Some((w, rows)) if w == ws => rows.push(row),
                _ => groups.push((ws.clone(), vec![row])),
            }
        }
        if !p.file.is_empty() && open.is_none() {
            return Err(ApiError::NotFound(format!(
                "no workspace file {:?}",
                p.file
            )));
        }
        let (content, note) = match open {
            Some(path) => match std::fs::read(path) {
                Ok(bytes) => {
                    let cut = bytes.len() > MAX_BYTES;
                    let text =
                        String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_BYTES)]).into_owned();
                    (
                        Some(mask(&text).into_owned()),
                        if cut {
                            format!(
                                "showing the first {} of {} bytes",
                                fmt::int(MAX_BYTES as u64),
                                fmt::int(bytes.len() as u64)
                            )
                        } else {
                            String::new()
                        },
                    )
                }
                Err(e) => (None, format!("cannot read: {e}")),
            },
            None => (None, String::new()),
        };
        Ok(MemoryPage {
            chrome,
            groups,
            open_name,
            content,
            note,
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))
    .and_then(|r| r);
    render::page(r, started)
}
