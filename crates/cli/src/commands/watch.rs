//! `clawscope watch`: one status line kept current — sessions by live status,
//! the gateway connection, the newest event.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{bail, Result};
use serde_json::Value;

use crate::args::WatchArgs;

fn get(a: &WatchArgs, path: &str) -> Result<Option<Value>> {
    let url = format!("{}{path}", a.server.trim_end_matches('/'));
    let mut req = ureq::get(&url).timeout(Duration::from_secs(5));
    if let Some(t) = &a.token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    match req.call() {
        Ok(r) => Ok(Some(r.into_json()?)),
        Err(ureq::Error::Status(401, _)) => {
            bail!("the server refused the token (401): pass --token or set CLAWSCOPE_TOKEN")
        }
        Err(ureq::Error::Status(503, _)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The status line from the live sessions and gateway answers.
pub fn line(sessions: &Value, gateway: Option<&Value>, now_ms: i64) -> String {
    let n = |k: &str| sessions["counts"][k].as_u64().unwrap_or(0);
    let mut parts = vec![format!(
        "{} active · {} hung · {} errored · {} idle",
        n("active"),
        n("hung"),
        n("errored"),
        n("idle")
    )];
    if let Some(g) = gateway {
        let state = g["state"].as_str().unwrap_or("?");
        let v = g["server_version"].as_str().unwrap_or("");
        parts.push(format!("gateway {state} {v}").trim_end().to_string());
    }
    let newest = sessions["sessions"]
        .as_array()
        .and_then(|a| a.iter().filter_map(|s| s["last_event_ms"].as_i64()).max());
    if let Some(t) = newest {
        parts.push(format!("last event {}s ago", (now_ms - t).max(0) / 1000));
    }
    let hung: Vec<&str> = sessions["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["status"] == "hung")
        .filter_map(|s| s["session_key"].as_str())
        .take(3)
        .collect();
    if !hung.is_empty() {
        parts.push(format!("hung: {}", hung.join(", ")));
    }
    parts.join(" | ")
}

pub fn run(a: &WatchArgs, out: &mut dyn Write) -> Result<()> {
    let tty = std::io::stdout().is_terminal() && !a.once;
    loop {
        let text = match get(a, "/api/v1/live/sessions") {
            Ok(Some(s)) => {
                let g = get(a, "/api/v1/gateway").ok().flatten();
                line(&s, g.as_ref(), chrono::Utc::now().timestamp_millis())
            }
            Ok(None) => "the server has no live state (is it `clawscope serve`?)".into(),
            Err(e) if a.once => return Err(e),
            Err(e) => format!("cannot reach {}: {e}", a.server),
        };
        if tty {
            write!(out, "\r\x1b[2K{text}")?;
        } else {
            writeln!(out, "{text}")?;
        }
        out.flush()?;
        if a.once {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_counts_and_names_hung_sessions() {
        let s: Value = serde_json::from_str(
            r#"{"counts":{"active":2,"hung":1},"sessions":[{"session_key":"agent:main:main","status":"hung","last_event_ms":1000}]}"#,
        )
        .unwrap();
        let g: Value =
            serde_json::from_str(r#"{"state":"connected","server_version":"2026.9.6"}"#).unwrap();
        let l = line(&s, Some(&g), 6000);
        assert_eq!(
            l,
            "2 active · 1 hung · 0 errored · 0 idle | gateway connected 2026.9.6 | last event 5s ago | hung: agent:main:main"
        );
    }
}
