//! SVG charts drawn on the server: bars over time, stacked bars, a line against a
//! ceiling, inline meters. Colours come from CSS classes (themes), sizes from
//! attributes (the CSP allows no inline style). Every label is escaped here.

use std::fmt::Write;

/// Escape text for SVG/HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One bar: its axis label, value and hover text.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub tip: String,
}

const W: f64 = 600.0;

fn open(w: f64, h: f64, title: &str, class: &str) -> String {
    format!(
        r#"<svg class="chart {class}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = esc(title)
    )
}

/// Vertical bars (a time series); the tallest fills the height. Empty data draws a
/// "no data" note rather than nothing.
pub fn bars(data: &[Bar], title: &str, class: &str) -> String {
    let h = 120.0;
    let mut s = open(W, h + 16.0, title, class);
    let max = data.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    if data.is_empty() || max <= 0.0 {
        s.push_str(r#"<text x="300" y="64" text-anchor="middle" class="muted">no data in this range</text></svg>"#);
        return s;
    }
    let step = W / data.len() as f64;
    let bw = (step * 0.8).max(1.0);
    for (i, b) in data.iter().enumerate() {
        let bh = (b.value / max * h).max(if b.value > 0.0 { 1.0 } else { 0.0 });
        let _ = write!(
            s,
            r#"<rect class="bar" x="{:.1}" y="{:.1}" width="{bw:.1}" height="{bh:.1}"><title>{}</title></rect>"#,
            i as f64 * step,
            h - bh,
            esc(&b.tip)
        );
    }
    if let (Some(first), Some(last)) = (data.first(), data.last()) {
        let _ = write!(
            s,
            r#"<text x="0" y="{y}" class="axis">{}</text><text x="{W}" y="{y}" text-anchor="end" class="axis">{}</text>"#,
            esc(&first.label),
            esc(&last.label),
            y = h + 14.0
        );
    }
    s.push_str("</svg>");
    s
}

/// Stacked vertical bars; `parts[i]` uses CSS class `s{i}`.
pub fn stacked(data: &[(String, Vec<f64>)], names: &[&str], title: &str) -> String {
    let h = 120.0;
    let mut s = open(W, h, title, "stacked");
    let max = data
        .iter()
        .map(|(_, p)| p.iter().sum::<f64>())
        .fold(0.0_f64, f64::max);
    if data.is_empty() || max <= 0.0 {
        s.push_str(r#"<text x="300" y="64" text-anchor="middle" class="muted">no model calls on this page</text></svg>"#);
        return s;
    }
    let step = W / data.len() as f64;
    let bw = (step * 0.8).max(1.0);
    for (i, (label, parts)) in data.iter().enumerate() {
        let mut y = h;
        let tip: Vec<String> = names
            .iter()
            .zip(parts)
            .map(|(n, v)| format!("{n} {}", super::fmt::int(*v as u64)))
            .collect();
        let _ = write!(
            s,
            "<g><title>{}: {}</title>",
            esc(label),
            esc(&tip.join(", "))
        );
        for (k, v) in parts.iter().enumerate() {
            let ph = v / max * h;
            if ph <= 0.0 {
                continue;
            }
            y -= ph;
            let _ = write!(
                s,
                r#"<rect class="s{k}" x="{:.1}" y="{y:.1}" width="{bw:.1}" height="{ph:.1}"/>"#,
                i as f64 * step
            );
        }
        s.push_str("</g>");
    }
    s.push_str("</svg>");
    s
}

/// A line of values against a ceiling (context used vs window).
pub fn line(values: &[f64], ceiling: Option<f64>, title: &str) -> String {
    let h = 100.0;
    let mut s = open(W, h, title, "line");
    let top = values
        .iter()
        .copied()
        .fold(ceiling.unwrap_or(0.0), f64::max);
    if values.is_empty() || top <= 0.0 {
        s.push_str(r#"<text x="300" y="54" text-anchor="middle" class="muted">no context data</text></svg>"#);
        return s;
    }
    let step = if values.len() > 1 {
        W / (values.len() - 1) as f64
    } else {
        W
    };
    let pts: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", i as f64 * step, h - v / top * h))
        .collect();
    let _ = write!(
        s,
        r#"<polyline class="series" points="{}"/>"#,
        pts.join(" ")
    );
    if let Some(c) = ceiling {
        let y = h - c / top * h;
        let _ = write!(
            s,
            r#"<line class="ceiling" x1="0" x2="{W}" y1="{y:.1}" y2="{y:.1}"/>"#
        );
    }
    s.push_str("</svg>");
    s
}

/// A small horizontal meter for table cells: `value` of `max`.
pub fn meter(value: f64, max: f64, tip: &str) -> String {
    let w = if max > 0.0 {
        (value / max * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    format!(
        r#"<svg class="meter" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label="{t}"><rect class="track" width="100" height="8"/><rect class="fill" width="{w:.1}" height="8"/></svg>"#,
        t = esc(tip)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        let b = [Bar {
            label: "<script>".into(),
            value: 1.0,
            tip: "\"><img src=x onerror=alert(1)>".into(),
        }];
        let s = bars(&b, "t<", "c");
        assert!(!s.contains("<script>"));
        assert!(!s.contains("<img"));
        assert!(s.contains("&lt;script&gt;"));
        assert!(s.contains("&quot;&gt;&lt;img"));
    }

    #[test]
    fn empty_charts_say_so() {
        assert!(bars(&[], "x", "c").contains("no data"));
        assert!(line(&[], None, "x").contains("no context data"));
    }
}
