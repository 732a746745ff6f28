//! E-mail delivery against a real SMTP server (aiosmtpd with a throwaway CA). These tests
//! are ignored by default: `scripts/alerts-smtp.sh` starts the server, sets the
//! `CLAWSCOPE_SMTP_*` variables read here and runs them with `--ignored`.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clawscope_alerts::deliver::{ChannelConfig, Sender};
use clawscope_core::alert::{Notification, Severity, Transition};
use serde_json::Value;

/// What the script hands over.
struct Smtp {
    starttls_port: u16,
    tls_port: u16,
    ca: PathBuf,
    out: PathBuf,
    user: String,
    password: String,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/alerts-smtp.sh"))
}

fn smtp() -> Smtp {
    Smtp {
        starttls_port: var("CLAWSCOPE_SMTP_STARTTLS_PORT").parse().unwrap(),
        tls_port: var("CLAWSCOPE_SMTP_TLS_PORT").parse().unwrap(),
        ca: var("CLAWSCOPE_SMTP_CA").into(),
        out: var("CLAWSCOPE_SMTP_OUT").into(),
        user: var("CLAWSCOPE_SMTP_USER"),
        password: var("CLAWSCOPE_SMTP_PASSWORD"),
    }
}

/// A notification whose title carries a marker unique to this test run.
fn note(tag: &str) -> (Notification, String) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let marker = format!("{tag}-{nanos}");
    let n = Notification {
        alert_id: 7,
        transition: Transition::Fire,
        rule_id: "budget_day".into(),
        scope: "agent:main".into(),
        severity: Severity::Critical,
        title: format!("[critical] budget_day on agent:main ({marker})"),
        text: "spent $12.40 of $10.00 today".into(),
        value: 12.4,
        threshold: 10.0,
        fired_ms: 1_777_636_800_000,
        resolved_ms: None,
        dedup_key: "clawscope:budget_day:agent:main:1777636800000".into(),
        url: Some("http://127.0.0.1:7317/alerts/7".into()),
    };
    (n, marker)
}

fn email(port: u16, tls: &str, extra: &str) -> ChannelConfig {
    let text = format!(
        r#"
        kind = "email"
        host = "127.0.0.1"
        port = {port}
        tls = "{tls}"
        from = "Clawscope Alerts <alerts@clawscope.test>"
        to = ["ops@example.test", "Second <second@example.test>"]
        {extra}
        "#
    );
    toml::from_str(&text).unwrap()
}

fn with_auth(s: &Smtp) -> String {
    format!(
        "username = \"{}\"\npassword = \"{}\"\nca_file = \"{}\"",
        s.user,
        s.password,
        s.ca.display()
    )
}

/// A received message: its headers (unfolded, names lowercased), body and the sink's
/// envelope record.
struct Received {
    headers: Vec<(String, String)>,
    body: String,
    meta: Value,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Wait (briefly) for the message that carries `marker`.
fn received(s: &Smtp, marker: &str) -> Received {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        for entry in std::fs::read_dir(&s.out).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("eml") {
                continue;
            }
            let raw = std::fs::read_to_string(&path)
                .unwrap()
                .replace("\r\n", "\n");
            if !raw.contains(marker) {
                continue;
            }
            let meta: Value = serde_json::from_str(
                &std::fs::read_to_string(path.with_extension("json")).unwrap(),
            )
            .unwrap();
            let (head, body) = raw.split_once("\n\n").unwrap();
            let mut headers: Vec<(String, String)> = Vec::new();
            for line in head.lines() {
                if line.starts_with([' ', '\t']) {
                    if let Some(last) = headers.last_mut() {
                        last.1.push(' ');
                        last.1.push_str(line.trim());
                    }
                } else if let Some((k, v)) = line.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let qp = headers.iter().any(|(k, v)| {
                k == "content-transfer-encoding" && v.eq_ignore_ascii_case("quoted-printable")
            });
            let body = if qp {
                quoted_printable(body)
            } else {
                body.to_string()
            };
            return Received {
                headers,
                body,
                meta,
            };
        }
        assert!(
            Instant::now() < deadline,
            "no message with {marker} in {}",
            s.out.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Decode a quoted-printable body (RFC 2045: `=XX` bytes, `=` soft line breaks).
fn quoted_printable(text: &str) -> String {
    let text = text.replace("=\n", "");
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn assert_delivered(r: &Received, n: &Notification, server: &str) {
    assert_eq!(r.header("subject"), Some(n.title.as_str()));
    assert_eq!(
        r.header("from"),
        Some("\"Clawscope Alerts\" <alerts@clawscope.test>")
    );
    assert_eq!(
        r.header("to"),
        Some("ops@example.test, Second <second@example.test>")
    );
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain")));
    assert!(r.header("date").is_some() && r.header("message-id").is_some());
    assert!(r
        .body
        .starts_with(&format!("{}\nspent $12.40 of $10.00 today\n\n", n.title)));
    assert!(r.body.contains("Rule: budget_day · Scope: agent:main"));
    assert!(r.body.contains("http://127.0.0.1:7317/alerts/7"));
    assert_eq!(r.meta["server"], server);
    assert_eq!(r.meta["mail_from"], "alerts@clawscope.test");
    assert_eq!(
        r.meta["rcpt_tos"],
        serde_json::json!(["ops@example.test", "second@example.test"])
    );
    assert_eq!(r.meta["tls"], true);
    assert_eq!(r.meta["authenticated"], true);
}

#[tokio::test]
#[ignore = "needs an SMTP server: run scripts/alerts-smtp.sh"]
async fn starttls_with_ca_file_and_auth_delivers() {
    let s = smtp();
    let cfg = email(s.starttls_port, "starttls", &with_auth(&s));
    let (n, marker) = note("starttls");
    let receipt = Sender::new(None).unwrap().send(&cfg, &n).await.unwrap();
    assert_eq!(receipt, "SMTP 250");
    assert_delivered(&received(&s, &marker), &n, "starttls");
}

#[tokio::test]
#[ignore = "needs an SMTP server: run scripts/alerts-smtp.sh"]
async fn implicit_tls_delivers() {
    let s = smtp();
    let cfg = email(s.tls_port, "tls", &with_auth(&s));
    let (n, marker) = note("implicit");
    let receipt = Sender::new(None).unwrap().send(&cfg, &n).await.unwrap();
    assert_eq!(receipt, "SMTP 250");
    assert_delivered(&received(&s, &marker), &n, "tls");
}

#[tokio::test]
#[ignore = "needs an SMTP server: run scripts/alerts-smtp.sh"]
async fn plain_send_is_refused_by_a_starttls_server() {
    let s = smtp();
    let cfg = email(s.starttls_port, "none", "");
    let (n, _) = note("plain");
    let e = Sender::new(None).unwrap().send(&cfg, &n).await.unwrap_err();
    assert!(!e.retriable, "{e}");
    assert!(e.message.contains("530"), "{e}");
    assert!(e.message.to_ascii_lowercase().contains("starttls"), "{e}");
}

#[tokio::test]
#[ignore = "needs an SMTP server: run scripts/alerts-smtp.sh"]
async fn untrusted_certificate_is_refused_without_ca_file() {
    let s = smtp();
    let extra = format!("username = \"{}\"\npassword = \"{}\"", s.user, s.password);
    for (port, tls) in [(s.starttls_port, "starttls"), (s.tls_port, "tls")] {
        let cfg = email(port, tls, &extra);
        let (n, marker) = note("untrusted");
        let e = Sender::new(None).unwrap().send(&cfg, &n).await.unwrap_err();
        let m = e.message.to_ascii_lowercase();
        assert!(
            m.contains("certificate") || m.contains("issuer"),
            "{tls}: {e}"
        );
        assert!(!e.message.contains(&s.password));
        let never = std::fs::read_dir(&s.out)
            .unwrap()
            .any(|f| std::fs::read_to_string(f.unwrap().path()).is_ok_and(|t| t.contains(&marker)));
        assert!(
            !never,
            "{tls}: a message went out over an untrusted connection"
        );
    }
}

#[tokio::test]
#[ignore = "needs an SMTP server: run scripts/alerts-smtp.sh"]
async fn wrong_password_is_refused_and_not_echoed() {
    let s = smtp();
    let extra = format!(
        "username = \"{}\"\npassword = \"not-the-password-42\"\nca_file = \"{}\"",
        s.user,
        s.ca.display()
    );
    let cfg = email(s.starttls_port, "starttls", &extra);
    let (n, _) = note("badpass");
    let e = Sender::new(None).unwrap().send(&cfg, &n).await.unwrap_err();
    assert!(!e.retriable, "{e}");
    assert!(e.message.contains("535"), "{e}");
    assert!(!e.message.contains("not-the-password-42"), "{e}");
    assert!(!format!("{cfg:?}").contains("not-the-password-42"));
}
