//! `/flow`: channels → agents → models → tools, with counts (user messages, model
//! calls, tool calls) from the store's flow rollups, drawn as a column diagram.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Instant;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use clawscope_core::redact::mask;
use clawscope_core::stats::FlowEdge;

use super::chrome::Chrome;
use super::svg::esc;
use super::{fmt, render};
use crate::{params, AppState};

const COLUMNS: [(&str, &str); 4] = [
    ("channel", "Channels"),
    ("agent", "Agents"),
    ("model", "Models"),
    ("tool", "Tools"),
];
/// Nodes per column at most (the rest are summed into "other").
const PER_COLUMN: usize = 12;
const W: f64 = 960.0;
const H: f64 = 420.0;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    range: String,
}

pub struct EdgeRow {
    pub from: String,
    pub to: String,
    pub kind: String,
    pub count: u64,
}

#[derive(Template)]
#[template(path = "flow.html")]
pub struct FlowPage {
    pub chrome: Chrome,
    pub diagram: String,
    pub edges: Vec<EdgeRow>,
    pub ranges: Vec<(&'static str, bool)>,
}

struct Node {
    y: f64,
    h: f64,
}

/// Fold names past the first [`PER_COLUMN`] of a column into `other`.
fn cap(edges: Vec<FlowEdge>) -> Vec<FlowEdge> {
    let mut weight: BTreeMap<(String, String), u64> = BTreeMap::new();
    for e in &edges {
        *weight
            .entry((e.from_kind.clone(), e.from.clone()))
            .or_default() += e.count;
        *weight.entry((e.to_kind.clone(), e.to.clone())).or_default() += e.count;
    }
    let mut keep: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for ((k, n), w) in &weight {
        keep.entry(k.clone()).or_default().push((*w, n.clone()));
    }
    let kept: std::collections::HashSet<(String, String)> = keep
        .into_iter()
        .flat_map(|(k, mut v)| {
            v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            v.into_iter()
                .take(PER_COLUMN)
                .map(move |(_, n)| (k.clone(), n))
        })
        .collect();
    let name = |k: &str, n: &str| {
        if kept.contains(&(k.to_string(), n.to_string())) {
            n.to_string()
        } else {
            "other".to_string()
        }
    };
    let mut merged: BTreeMap<(String, String, String, String), u64> = BTreeMap::new();
    for e in edges {
        let key = (
            e.from_kind.clone(),
            name(&e.from_kind, &e.from),
            e.to_kind.clone(),
            name(&e.to_kind, &e.to),
        );
        *merged.entry(key).or_default() += e.count;
    }
    merged
        .into_iter()
        .map(|((from_kind, from, to_kind, to), count)| FlowEdge {
            from_kind,
            from,
            to_kind,
            to,
            count,
        })
        .collect()
}

fn diagram(edges: &[FlowEdge]) -> String {
    let mut s = format!(
        r#"<svg class="chart flow" viewBox="0 0 {W} {H}" role="img" aria-label="Flow from channels to agents, models and tools"><title>Flow</title>"#
    );
    if edges.is_empty() {
        s.push_str(r#"<text x="480" y="200" text-anchor="middle" class="muted">no traffic in this range</text></svg>"#);
        return s;
    }
    // Node weights: the larger of what flows in and out.
    let mut inflow: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut outflow: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for e in edges {
        *outflow.entry((&e.from_kind, &e.from)).or_default() += e.count;
        *inflow.entry((&e.to_kind, &e.to)).or_default() += e.count;
    }
    let mut nodes: BTreeMap<(&str, &str), Node> = BTreeMap::new();
    let col_x = |i: usize| 10.0 + i as f64 * (W - 140.0) / 3.0;
    for (ci, (kind, label)) in COLUMNS.iter().enumerate() {
        let mut col: Vec<(&str, u64)> = inflow
            .keys()
            .chain(outflow.keys())
            .filter(|(k, _)| k == kind)
            .map(|(_, n)| *n)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|n| {
                (
                    n,
                    inflow
                        .get(&(*kind, n))
                        .copied()
                        .unwrap_or(0)
                        .max(outflow.get(&(*kind, n)).copied().unwrap_or(0)),
                )
            })
            .collect();
        col.sort_by_key(|c| std::cmp::Reverse(c.1));
        let total: u64 = col.iter().map(|c| c.1).sum::<u64>().max(1);
        let gap = 6.0;
        let usable = H - 30.0 - gap * col.len() as f64;
        let mut y = 24.0;
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="14" class="axis">{label}</text>"#,
            col_x(ci)
        );
        for (name, w) in col {
            let h = (w as f64 / total as f64 * usable).max(3.0);
            let _ = write!(
                s,
                r#"<g class="node"><rect class="n{ci}" x="{x:.1}" y="{y:.1}" width="10" height="{h:.1}"><title>{t}</title></rect><text x="{tx:.1}" y="{ty:.1}" class="label">{n} <tspan class="muted">{c}</tspan></text></g>"#,
                x = col_x(ci),
                t = esc(&format!("{name}: {}", fmt::int(w))),
                tx = col_x(ci) + 14.0,
                ty = y + h / 2.0 + 4.0,
                n = esc(&fmt::clip(name, 22)),
                c = fmt::int(w),
            );
            nodes.insert((kind, name), Node { y, h });
            y += h + gap;
        }
    }
    let max = edges.iter().map(|e| e.count).max().unwrap_or(1).max(1) as f64;
    let col_of = |k: &str| COLUMNS.iter().position(|(c, _)| *c == k).unwrap_or(0);
    for e in edges {
        let (Some(a), Some(b)) = (
            nodes.get(&(e.from_kind.as_str(), e.from.as_str())),
            nodes.get(&(e.to_kind.as_str(), e.to.as_str())),
        ) else {
            continue;
        };
        let (x1, x2) = (
            col_x(col_of(&e.from_kind)) + 10.0,
            col_x(col_of(&e.to_kind)),
        );
        let (y1, y2) = (a.y + a.h / 2.0, b.y + b.h / 2.0);
        let mid = (x1 + x2) / 2.0;
        let _ = write!(
            s,
            r#"<path class="edge" d="M{x1:.1},{y1:.1} C{mid:.1},{y1:.1} {mid:.1},{y2:.1} {x2:.1},{y2:.1}" stroke-width="{:.1}"><title>{}</title></path>"#,
            (e.count as f64 / max * 18.0).max(1.0),
            esc(&format!("{} → {}: {}", e.from, e.to, fmt::int(e.count)))
        );
    }
    s.push_str("</svg>");
    s
}

/// `GET /flow?range=7d`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    let started = Instant::now();
    let chrome = Chrome::new(&st, &headers, "flow", "Flow").live("type=event");
    let r = st
        .read(move |s| {
            let now = chrono::Utc::now().timestamp_millis();
            let since = params::since(&p.range, "all", now)?;
            let mut edges = s.flow(since)?;
            for e in &mut edges {
                e.from = mask(&e.from).into_owned();
                e.to = mask(&e.to).into_owned();
            }
            let edges = cap(edges);
            let mut rows: Vec<EdgeRow> = edges
                .iter()
                .map(|e| EdgeRow {
                    from: e.from.clone(),
                    to: e.to.clone(),
                    kind: format!("{} → {}", e.from_kind, e.to_kind),
                    count: e.count,
                })
                .collect();
            rows.sort_by_key(|r| std::cmp::Reverse(r.count));
            let cur = if p.range.is_empty() {
                "all"
            } else {
                p.range.as_str()
            };
            Ok(FlowPage {
                chrome,
                diagram: diagram(&edges),
                edges: rows,
                ranges: ["24h", "7d", "30d", "all"]
                    .into_iter()
                    .map(|r| (r, r == cur))
                    .collect(),
            })
        })
        .await;
    render::page(r, started)
}
