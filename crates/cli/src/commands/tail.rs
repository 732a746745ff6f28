//! `clawscope tail`: follow a running server's live feed in the terminal, colored,
//! with the same filters as the stream endpoint. Reconnects on its own and resumes
//! after the last event it printed, so nothing is skipped.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::args::{ColorArg, TailArgs};

struct Paint(bool);

impl Paint {
    fn c(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Strip control characters an agent could use to rewrite the terminal.
fn clean(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

fn stream_url(a: &TailArgs) -> String {
    let mut q = Vec::new();
    for (k, v) in [
        ("session", &a.session),
        ("agent", &a.agent),
        ("type", &a.kinds),
    ] {
        if let Some(v) = v {
            q.push(format!("{k}={}", urlencode(v)));
        }
    }
    let base = format!("{}/api/v1/stream", a.server.trim_end_matches('/'));
    if q.is_empty() {
        base
    } else {
        format!("{base}?{}", q.join("&"))
    }
}

/// Percent-encode a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'*' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn run(a: &TailArgs, out: &mut dyn Write) -> Result<()> {
    let paint = Paint(match a.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => std::io::stdout().is_terminal(),
    });
    let url = stream_url(a);
    let mut last = a.since_seq;
    let mut failures = 0u32;
    loop {
        let mut req = ureq::get(&url).set("Accept", "text/event-stream");
        if let Some(t) = &a.token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        if let Some(seq) = last {
            req = req.set("Last-Event-ID", &seq.to_string());
        }
        match req.call() {
            Ok(resp) => {
                failures = 0;
                let reader = BufReader::new(resp.into_reader());
                read_feed(reader, a, &paint, &mut last, out)?;
            }
            Err(ureq::Error::Status(code, resp)) => {
                let body = resp.into_string().unwrap_or_default();
                if code == 401 {
                    bail!(
                        "the server refused the token (401): pass --token or set CLAWSCOPE_TOKEN"
                    );
                }
                if code != 503 {
                    bail!("the server answered {code}: {}", body.trim());
                }
                failures += 1;
            }
            Err(e) => {
                failures += 1;
                if failures == 1 {
                    eprintln!("cannot reach {url}: {e}; retrying (is `clawscope serve` running?)");
                }
            }
        }
        std::thread::sleep(Duration::from_millis((250u64 << failures.min(5)).min(5000)));
    }
}

fn read_feed(
    reader: impl BufRead,
    a: &TailArgs,
    paint: &Paint,
    last: &mut Option<i64>,
    out: &mut dyn Write,
) -> Result<()> {
    let mut data = String::new();
    for line in reader.lines() {
        let Ok(line) = line else { return Ok(()) };
        if let Some(d) = line.strip_prefix("data:") {
            data.push_str(d.trim_start());
        } else if let Some(id) = line.strip_prefix("id:") {
            if let Ok(seq) = id.trim().parse() {
                *last = Some(seq);
            }
        } else if line.is_empty() && !data.is_empty() {
            let v: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
            data.clear();
            if a.json {
                writeln!(out, "{v}")?;
            } else if let Some(l) = render(&v, a, paint) {
                writeln!(out, "{l}")?;
            }
            out.flush().context("stdout closed")?;
        }
    }
    Ok(())
}

fn hms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%H:%M:%S%.3f")
                .to_string()
        })
        .unwrap_or_default()
}

fn short_key(k: &str) -> String {
    clean(k, 40)
}

/// One feed line for a message, or `None` when it is hidden.
fn render(v: &Value, a: &TailArgs, p: &Paint) -> Option<String> {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    match v["type"].as_str()? {
        "event" => {
            let e = &v["event"];
            let kind = s(&e["kind"]);
            let color = match kind.as_str() {
                k if k.starts_with("tool.") => "36",
                k if k.starts_with("run.") => "35",
                k if k.starts_with("subagent.") => "34",
                "message.assistant" => "32",
                "message.user" => "33",
                "log" => "90",
                _ => "37",
            };
            let mut detail = String::new();
            if let Some(t) = e.get("tool").filter(|t| !t.is_null()) {
                detail.push_str(&format!("{} ", s(&t["name"])));
                if t["is_error"] == true {
                    detail.push_str(&p.c("31", "✗ "));
                }
            }
            if let Some(d) = e["timing"]["duration_ms"].as_i64() {
                detail.push_str(&format!("{d} ms "));
            }
            let tk = &e["tokens"];
            let (i, o) = (
                tk["input"].as_u64().unwrap_or(0),
                tk["output"].as_u64().unwrap_or(0),
            );
            if i + o > 0 {
                detail.push_str(&format!("in {i} out {o} "));
            }
            if let Some(c) = e["cost"]["total"].as_f64() {
                detail.push_str(&format!("${c:.4} "));
            }
            if let Some(err) = e["error"]["message"].as_str() {
                detail.push_str(&p.c("31", &clean(err, 120)));
            } else if let Some(t) = e["text"].as_str() {
                detail.push_str(&clean(t, 100));
            }
            Some(format!(
                "{} {} {} {}",
                p.c("90", &hms(e["ts_ms"].as_i64().unwrap_or(0))),
                p.c(color, &format!("{kind:<17}")),
                p.c("90", &short_key(&s(&e["session_key"]))),
                detail.trim_end()
            ))
        }
        "live" => {
            let l = &v["live"];
            let kind = s(&l["kind"]);
            let delta = matches!(
                kind.as_str(),
                "live.assistant" | "live.thinking" | "live.command_output" | "live.usage"
            );
            if delta && a.no_deltas || kind == "gateway.tick" {
                return None;
            }
            let d = &l["data"];
            let text = d["delta"]
                .as_str()
                .or(d["output"].as_str())
                .map(|t| clean(t, 100))
                .unwrap_or_else(|| clean(&d.to_string(), 100));
            Some(format!(
                "{} {} {} {}",
                p.c("90", &hms(l["ts_ms"].as_i64().unwrap_or(0))),
                p.c("2", &format!("{kind:<17}")),
                p.c("90", &short_key(l["session_key"].as_str().unwrap_or("-"))),
                p.c("2", &text)
            ))
        }
        "session" => {
            let x = &v["session"];
            let status = s(&x["status"]);
            let color = match status.as_str() {
                "hung" | "errored" => "1;31",
                "active" => "1;32",
                _ => "1;37",
            };
            let ctx = x["context_ratio"]
                .as_f64()
                .map(|r| format!(" context {:.0}%", r * 100.0))
                .unwrap_or_default();
            let waiting = x["waiting_on"]
                .as_str()
                .map(|w| format!(" waiting on {}", clean(w, 40)))
                .unwrap_or_default();
            Some(format!(
                "{} {} {}{waiting}{ctx}",
                p.c("90", &hms(x["last_event_ms"].as_i64().unwrap_or(0))),
                p.c(color, &format!("{:<17}", format!("session {status}"))),
                p.c("90", &short_key(&s(&x["session_key"]))),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_neutralized() {
        assert_eq!(clean("a\x1b[2Jb\nc", 100), "a [2Jb c");
        assert_eq!(urlencode("agent:main:main"), "agent%3Amain%3Amain");
    }
}
