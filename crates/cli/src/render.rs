//! Plain-text tables, CSV and JSON output.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

/// Thousands separators: 1234567 → "1,234,567".
pub use clawscope_core::text::thousands as num;

/// Dollars with cents (or more precision under a cent).
pub fn usd(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.01 {
        format!("${v:.4}")
    } else {
        format!("${v:.2}")
    }
}

/// Remove control characters (terminal escapes in hostile transcript text) and cut to `max` chars.
pub fn clean(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// A simple aligned table; numeric-looking cells are right-aligned.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn separator(&mut self) {
        self.rows.push(Vec::new());
    }

    pub fn print(&self, out: &mut impl Write) -> Result<()> {
        let n = self.header.len();
        let mut w = vec![0usize; n];
        for r in std::iter::once(&self.header).chain(self.rows.iter()) {
            for (i, c) in r.iter().enumerate().take(n) {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let line = |out: &mut dyn Write, cells: &[String]| -> Result<()> {
            let mut s = String::new();
            for (i, width) in w.iter().enumerate() {
                let c = cells.get(i).map(String::as_str).unwrap_or("");
                let numeric =
                    c.starts_with('$') || c.chars().next().is_some_and(|ch| ch.is_ascii_digit());
                let pad = width.saturating_sub(c.chars().count());
                if i > 0 {
                    s.push_str("  ");
                }
                if numeric && i > 0 {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                }
            }
            writeln!(out, "{}", s.trim_end())?;
            Ok(())
        };
        line(out, &self.header)?;
        let total: usize = w.iter().sum::<usize>() + 2 * n.saturating_sub(1);
        writeln!(out, "{}", "─".repeat(total))?;
        for r in &self.rows {
            if r.is_empty() {
                writeln!(out, "{}", "─".repeat(total))?;
            } else {
                line(out, r)?;
            }
        }
        Ok(())
    }
}

/// Write rows as CSV (RFC 4180 quoting).
pub fn csv(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let esc = clawscope_core::text::csv_quote;
    writeln!(
        out,
        "{}",
        header.iter().map(|h| esc(h)).collect::<Vec<_>>().join(",")
    )?;
    for r in rows {
        writeln!(
            out,
            "{}",
            r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(",")
        )?;
    }
    Ok(())
}

/// Print `v` as pretty JSON and a newline.
pub fn json(out: &mut impl Write, v: &impl Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    writeln!(out)?;
    Ok(())
}

/// Print the report JSON contract `{"rows": [...], "totals": {...}}`.
pub fn json_report<R: Serialize, T: Serialize>(
    out: &mut impl Write,
    rows: &[R],
    totals: &T,
) -> Result<()> {
    json(out, &serde_json::json!({ "rows": rows, "totals": totals }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting() {
        assert_eq!(num(1234567), "1,234,567");
        assert_eq!(num(12), "12");
        assert_eq!(usd(0.0012), "$0.0012");
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(clean("a\u{1b}[31mb\nc", 100), "a[31mb c");
        let mut out = Vec::new();
        csv(&mut out, &["a", "b"], &[vec!["x,y".into(), "q\"".into()]]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a,b\n\"x,y\",\"q\"\"\"\n");
    }
}
