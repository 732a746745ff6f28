//! `/memory`: the agents' workspace notes (`*.md` at the workspace root and
//! `memory/*.md`), read-only. A file is asked for by the id the listing gave it.

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

/// Largest part of a file shown (the rest is cut with a note).
const MAX_BYTES: usize = 512 * 1024;

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

/// `GET /memory?file=ID`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    let started = Instant::now();
    let chrome = Chrome::new(&st, &headers, "memory", "Memory");
    let files = st.ui.files.clone();
    let tz = st.ui.tz;
    let r = tokio::task::spawn_blocking(move || {
        let listed = files
            .as_ref()
            .map(|f| f.workspace_files())
            .unwrap_or_default();
        let mut groups: Vec<(String, Vec<FileRow>)> = Vec::new();
        let mut open_name = None;
        for f in listed {
            let current = f.id == p.file;
            if current {
                open_name = Some(f.name.clone());
            }
            let row = FileRow {
                href: format!(
                    "/memory?{}",
                    serde_urlencoded::to_string([("file", f.id.as_str())]).unwrap_or_default()
                ),
                size: format!("{} B", fmt::int(f.size)),
                modified: f
                    .modified_ms
                    .map(|m| fmt::datetime(m, tz))
                    .unwrap_or_default(),
                current,
                name: f.name,
                id: f.id,
            };
            match groups.last_mut() {
                Some((w, rows)) if *w == f.workspace => rows.push(row),
                _ => groups.push((f.workspace, vec![row])),
            }
        }
        let (content, note) = match (&open_name, &files) {
            (Some(_), Some(files)) => match files.workspace_file(&p.file, MAX_BYTES) {
                Ok(Some(head)) => {
                    let text = String::from_utf8_lossy(&head.bytes);
                    let note = if head.size > head.bytes.len() as u64 {
                        format!(
                            "showing the first {} of {} bytes",
                            fmt::int(head.bytes.len() as u64),
                            fmt::int(head.size)
                        )
                    } else {
                        String::new()
                    };
                    (Some(mask(&text).into_owned()), note)
                }
                Ok(None) => (None, "the file is gone".to_string()),
                Err(e) => (None, format!("cannot read: {e}")),
            },
            _ if !p.file.is_empty() => {
                return Err(ApiError::NotFound(format!(
                    "no workspace file {:?}",
                    p.file
                )))
            }
            _ => (None, String::new()),
        };
        Ok(MemoryPage {
            chrome,
            groups,
            open_name: open_name.unwrap_or_default(),
            content,
            note,
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))
    .and_then(|r| r);
    render::page(r, started)
}
