//! `/sessions`: every session, searchable (key, label and full text), filterable by
//! agent, channel, model and status, sortable, paged, exportable as CSV or JSON.

use std::collections::{BTreeSet, HashMap};

use std::time::Instant;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use clawscope_core::query::{Dims, SessionFilter, SessionOrder, SessionSummary, UsageFilter};
use clawscope_core::redact::mask;

use super::chrome::Chrome;
use super::render;
use super::rows::SessionRow;
use crate::{ApiError, AppState};

/// Rows per page.
const PER_PAGE: usize = 50;
/// Sessions found by full text at most (a common word matches nearly every session;
/// finding them all means walking every match).
const TEXT_SESSIONS: usize = 50;

#[derive(Debug, Default, Deserialize, Clone)]
pub struct Params {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub agent: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub dir: String,
    #[serde(default)]
    pub page: Option<String>,
    #[serde(default)]
    pub format: String,
}

pub struct SortLink {
    pub id: &'static str,
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
pub struct SessionsPage {
    pub chrome: Chrome,
    pub p: Params,
    pub rows: Vec<SessionRow>,
    pub table_id: &'static str,
    pub total: u64,
    pub page_no: usize,
    pub pages: usize,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    pub sorts: Vec<SortLink>,
    pub agents: Vec<String>,
    pub models: Vec<String>,
    pub export_csv: String,
    pub export_json: String,
    pub text_note: String,
}

fn order(sort: &str) -> Result<SessionOrder, ApiError> {
    Ok(match sort {
        "" | "recent" => SessionOrder::LastActivity,
        "cost" => SessionOrder::Cost,
        "tokens" => SessionOrder::Tokens,
        "events" => SessionOrder::Events,
        "started" => SessionOrder::FirstActivity,
        "key" => SessionOrder::Key,
        o => {
            return Err(ApiError::BadRequest(format!(
                "sort must be recent, cost, tokens, events, started or key, got {o:?}"
            )))
        }
    })
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl Params {
    fn href(&self, change: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, String)> = [
            ("q", &self.q),
            ("agent", &self.agent),
            ("channel", &self.channel),
            ("model", &self.model),
            ("status", &self.status),
            ("sort", &self.sort),
            ("dir", &self.dir),
        ]
        .into_iter()
        .filter(|(k, _)| !change.iter().any(|(c, _)| c == k))
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.clone()))
        .collect();
        pairs.extend(
            change
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (*k, v.to_string())),
        );
        let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if q.is_empty() {
            "/sessions".into()
        } else {
            format!("/sessions?{q}")
        }
    }

    fn filter(&self, also_keys: Vec<String>) -> Result<SessionFilter, ApiError> {
        Ok(SessionFilter {
            usage: UsageFilter {
                agent: opt(&self.agent),
                ..UsageFilter::default()
            },
            key_contains: opt(&self.q),
            also_keys,
            channel: opt(&self.channel),
            model: opt(&self.model),
            status: opt(&self.status),
            order: order(&self.sort)?,
            reverse: match self.dir.as_str() {
                "" | "desc" => false,
                "asc" => true,
                d => {
                    return Err(ApiError::BadRequest(format!(
                        "dir must be asc or desc, got {d:?}"
                    )))
                }
            },
            ..SessionFilter::default()
        })
    }
}

/// Sessions whose text matches `q` (full-text index), newest matches first.
fn text_keys(s: &dyn clawscope_store::Store, q: &str) -> (Vec<String>, String) {
    if q.trim().is_empty() {
        return (Vec::new(), String::new());
    }
    match s.text_sessions(q, TEXT_SESSIONS) {
        Ok(keys) if keys.len() >= TEXT_SESSIONS => {
            let note = format!("text matches in {TEXT_SESSIONS}+ sessions; listing the {TEXT_SESSIONS} with the newest matches");
            (keys, note)
        }
        Ok(keys) => {
            let note = format!("{} sessions with matching text", keys.len());
            (keys, note)
        }
        Err(e) => (Vec::new(), format!("full-text search skipped: {e}")),
    }
}

fn page_number(raw: Option<&str>, pages: usize) -> Result<usize, ApiError> {
    match raw {
        None | Some("") => Ok(1),
        Some("last") => Ok(pages.max(1)),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n.min(pages.max(1))),
            _ => Err(ApiError::BadRequest(format!(
                "page must be a number from 1, got {s:?}"
            ))),
        },
    }
}

/// `GET /sessions`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    let started = Instant::now();
    if !p.format.is_empty() {
        return export(st, p).await;
    }
    let chrome = Chrome::new(&st, &headers, "sessions", "Sessions").live("type=session");
    let live: HashMap<String, &'static str> = st
        .bus
        .as_ref()
        .map(|b| b.sessions())
        .unwrap_or_default()
        .into_iter()
        .map(|l| (l.session_key, l.status.as_str()))
        .collect();
    let tz = st.ui.tz;
    let r = st
        .read(move |s| {
            let (keys, text_note) = text_keys(s, &p.q);
            let mut f = p.filter(keys)?;
            let total = s.count_sessions(&f)?;
            let pages = (total as usize).div_ceil(PER_PAGE).max(1);
            let page_no = page_number(p.page.as_deref(), pages)?;
            f.limit = PER_PAGE;
            f.offset = (page_no - 1) * PER_PAGE;
            let found = s.sessions(&f)?;
            let now = chrono::Utc::now().timestamp_millis();
            let max_tokens = found
                .iter()
                .map(|r| r.totals.total_tokens)
                .max()
                .unwrap_or(0);
            let rows = found
                .iter()
                .map(|r| SessionRow::new(r, max_tokens, live.get(&r.session_key).copied(), now, tz))
                .collect();
            let dims = s.usage_buckets(&UsageFilter {
                keep: Dims::AgentModel,
                ..UsageFilter::default()
            })?;
            let agents: BTreeSet<String> = dims
                .iter()
                .map(|b| b.agent.clone())
                .filter(|a| !a.is_empty())
                .collect();
            let models: BTreeSet<String> = dims
                .iter()
                .map(|b| b.model.clone())
                .filter(|m| !m.is_empty())
                .collect();
            let sorts = [
                ("recent", "Last activity"),
                ("started", "Started"),
                ("cost", "Cost"),
                ("tokens", "Tokens"),
                ("events", "Events"),
                ("key", "Key"),
            ]
            .into_iter()
            .map(|(id, label)| SortLink {
                id,
                label,
                href: p.href(&[("sort", id), ("dir", "")]),
                current: p.sort == id || (p.sort.is_empty() && id == "recent"),
            })
            .collect();
            let page_href = |n: usize| p.href(&[("page", &n.to_string())]);
            Ok(SessionsPage {
                chrome,
                rows,
                table_id: "sessions",
                total,
                page_no,
                pages,
                prev_href: (page_no > 1).then(|| page_href(page_no - 1)),
                next_href: (page_no < pages).then(|| page_href(page_no + 1)),
                sorts,
                agents: agents.into_iter().collect(),
                models: models.into_iter().collect(),
                export_csv: p.href(&[("format", "csv")]),
                export_json: p.href(&[("format", "json")]),
                text_note,
                p,
            })
        })
        .await;
    render::page(r, started)
}

/// Sessions matching the filters, as CSV or JSON (every page, secrets masked).
async fn export(st: AppState, p: Params) -> Response {
    let format = p.format.clone();
    let r = st
        .read(move |s| {
            let (keys, _) = text_keys(s, &p.q);
            let f = p.filter(keys)?;
            Ok(s.sessions(&f)?)
        })
        .await;
    let rows = match r {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match format.as_str() {
        "json" => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    let mut v = r.to_json();
                    mask_json_strings(&mut v);
                    v
                })
                .collect();
            download(
                serde_json::to_string_pretty(&v).unwrap_or_default(),
                "sessions.json",
                "application/json",
            )
        }
        "csv" => download(
            sessions_csv(&rows),
            "sessions.csv",
            "text/csv; charset=utf-8",
        ),
        f => ApiError::BadRequest(format!("format must be csv or json, got {f:?}")).into_response(),
    }
}

/// Mask every string in a JSON value.
pub fn mask_json_strings(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => *s = mask(s).into_owned(),
        serde_json::Value::Array(a) => a.iter_mut().for_each(mask_json_strings),
        serde_json::Value::Object(o) => o.values_mut().for_each(mask_json_strings),
        _ => {}
    }
}

/// A file download response.
pub fn download(body: String, name: &str, kind: &'static str) -> Response {
    let mut r = ([(header::CONTENT_TYPE, kind)], body).into_response();
    if let Ok(v) = format!("attachment; filename=\"{name}\"").parse() {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    r
}

/// One CSV field: quoted when needed, and never starting a spreadsheet formula.
pub fn csv_field(s: &str) -> String {
    let s = mask(s).into_owned();
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    };
    clawscope_core::text::csv_quote(&s)
}

fn sessions_csv(rows: &[SessionSummary]) -> String {
    let mut out = String::from("session_key,agent,channel,status,parent_session_key,models,first_ms,last_ms,events,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,total_tokens,cost_usd,cost_source\n");
    for r in rows {
        let t = &r.totals;
        let cells = [
            csv_field(&r.session_key),
            csv_field(r.agent.as_deref().unwrap_or("")),
            csv_field(r.channel.as_deref().unwrap_or("")),
            csv_field(r.status.as_deref().unwrap_or("")),
            csv_field(r.parent_session_key.as_deref().unwrap_or("")),
            csv_field(&r.models.join(" ")),
            r.first_ms.to_string(),
            r.last_ms.to_string(),
            r.events.to_string(),
            t.input_tokens.to_string(),
            t.output_tokens.to_string(),
            t.cache_read_tokens.to_string(),
            t.cache_write_tokens.to_string(),
            t.total_tokens.to_string(),
            t.cost_usd.to_string(),
            t.cost_source().to_string(),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_safe() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
