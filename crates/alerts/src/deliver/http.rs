//! The HTTP channels: one POST each, with the answer classified as sent, retriable or
//! not.

use std::sync::Arc;
use std::time::Duration;

use clawscope_core::alert::Notification;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Client, StatusCode};
use serde_json::Value;

use super::config::{DiscordConfig, PagerDutyConfig, SlackConfig, TelegramConfig, WebhookConfig};
use super::format;
use super::secret::scrub;
use super::DeliveryError;

/// Whole-request timeout.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an answer is read (the rest is dropped).
const MAX_ANSWER: usize = 64 * 1024;
/// How much of an answer an error message quotes.
const QUOTE: usize = 300;

/// The shared client: rustls with the *ring* provider and the platform's trust store,
/// 10 s per request, no redirects (a redirect would carry the body and signature to
/// another URL), proxies from the environment as usual.
pub(crate) fn client() -> Result<Client, DeliveryError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map_err(|e| DeliveryError::permanent(format!("TLS setup failed: {e}")))?
        .with_no_client_auth();
    Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("clawscope/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DeliveryError::permanent(format!("HTTP client setup failed: {}", chain(&e))))
}

/// A 2xx answer.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: String,
}

impl Answer {
    fn receipt(&self) -> String {
        format!("HTTP {}", self.status.as_u16())
    }
}

/// An error and its sources, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        cur = s.source();
    }
    out
}

/// The secrets to scrub from anything said about a request to `url`: the URL, its path
/// and query, the query's values, any long path segment (Slack and Discord put their
/// tokens there) and a password in the URL.
fn url_secrets(url: &str) -> Vec<String> {
    let url = url.trim();
    let mut out = vec![url.to_string()];
    let Ok(u) = reqwest::Url::parse(url) else {
        return out;
    };
    if u.path().len() > 1 {
        out.push(u.path().to_string());
    }
    out.extend(
        u.path_segments()
            .into_iter()
            .flatten()
            .filter(|s| s.len() >= 12)
            .map(str::to_string),
    );
    if let Some(q) = u.query() {
        out.push(q.to_string());
        out.extend(u.query_pairs().map(|(_, v)| v.into_owned()));
    }
    out.extend(u.password().map(str::to_string));
    out
}

/// POST `body` (JSON bytes) to `url`. Non-2xx answers are errors: 408, 429 and 5xx
/// retriable, the rest not; network errors and timeouts retriable.
async fn post(
    client: &Client,
    url: &str,
    body: Vec<u8>,
    headers: HeaderMap,
    secrets: &[String],
) -> Result<Answer, DeliveryError> {
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    // Scrub first, then shorten: a secret cut in half by the shortening would leak
    // its first part.
    let fail = |retriable: bool, msg: String| DeliveryError {
        retriable,
        message: format::truncate(&scrub(&msg, &secrets), QUOTE + 100),
    };
    let sent = client
        .post(url.trim())
        .headers(headers)
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => {
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else if e.is_builder() {
                return Err(fail(
                    false,
                    format!("bad request: {}", chain(&e.without_url())),
                ));
            } else {
                "request failed"
            };
            return Err(fail(true, format!("{what}: {}", chain(&e.without_url()))));
        }
    };
    let status = resp.status();
    let mut raw = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                raw.extend_from_slice(&c);
                if raw.len() >= MAX_ANSWER {
                    raw.truncate(MAX_ANSWER);
                    break;
                }
            }
            Ok(None) => break,
            // The status is what counts; a broken body after a 2xx is still a 2xx.
            Err(_) => break,
        }
    }
    let body = String::from_utf8_lossy(&raw).into_owned();
    if status.is_success() {
        return Ok(Answer { status, body });
    }
    let retriable = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    let mut msg = format!("HTTP {}", status.as_u16());
    if status.is_redirection() {
        msg.push_str(" (redirects are not followed: configure the final URL)");
    }
    let quoted = quote(&body);
    if !quoted.is_empty() {
        msg.push_str(": ");
        msg.push_str(&quoted);
    }
    Err(fail(retriable, msg))
}

/// Scrub, then shorten.
fn shorten_scrubbed(msg: &str, secrets: &[&str]) -> String {
    format::truncate(&scrub(msg, secrets), QUOTE + 100)
}

/// An answer body on one line (shortened by the caller after scrubbing).
fn quote(body: &str) -> String {
    body.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn to_bytes(v: &Value) -> Vec<u8> {
    // Serializing a `Value` cannot fail (its map keys are strings).
    serde_json::to_vec(v).unwrap_or_default()
}

fn header(name: &'static str, value: &str) -> Result<(HeaderName, HeaderValue), DeliveryError> {
    HeaderValue::from_str(value)
        .map(|v| (HeaderName::from_static(name), v))
        .map_err(|_| DeliveryError::permanent(format!("{name}: not a valid header value")))
}

/// `s` as a header value: printable ASCII stays, `%` and every other byte become `%XX`
/// (a scope may hold any text; the receiver gets the key percent-encoded).
fn header_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Lowercase hex of HMAC-SHA256(`key`, `"<timestamp>.<body>"`).
pub(crate) fn signature(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    ctx.sign()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Generic webhook: the documented JSON, `X-Clawscope-Delivery`, and a signature when
/// a secret is set.
pub(crate) async fn webhook(
    client: &Client,
    c: &WebhookConfig,
    n: &Notification,
) -> Result<String, DeliveryError> {
    let body = to_bytes(&format::webhook_body(n));
    let mut headers = HeaderMap::new();
    let mut secrets = url_secrets(c.url.expose());
    for (name, value) in &c.headers {
        let name = HeaderName::try_from(name.as_str())
            .map_err(|_| DeliveryError::permanent(format!("header {name:?}: invalid name")))?;
        let value = HeaderValue::from_str(value.expose()).map_err(|_| {
            DeliveryError::permanent(format!("header {name}: not a valid header value"))
        })?;
        let text = value.to_str().unwrap_or_default();
        secrets.push(text.to_string());
        // `Bearer <token>`: the token alone too.
        secrets.extend(text.split_whitespace().skip(1).map(str::to_string));
        headers.insert(name, value);
    }
    // One id per message: the fire and the resolve of an alert are two deliveries.
    let delivery_id = format!("{}:{}", n.dedup_key, n.transition.as_str());
    let (k, v) = header("x-clawscope-delivery", &header_safe(&delivery_id))?;
    headers.insert(k, v);
    if let Some(secret) = &c.secret {
        secrets.push(secret.expose().to_string());
        let ts = chrono::Utc::now().timestamp();
        let sig = signature(secret.expose().as_bytes(), ts, &body);
        let (k, v) = header("x-clawscope-timestamp", &ts.to_string())?;
        headers.insert(k, v);
        let (k, v) = header("x-clawscope-signature", &format!("sha256={sig}"))?;
        headers.insert(k, v);
    }
    let answer = post(client, c.url.expose(), body, headers, &secrets).await?;
    Ok(answer.receipt())
}

/// Slack incoming webhook.
pub(crate) async fn slack(
    client: &Client,
    c: &SlackConfig,
    n: &Notification,
) -> Result<String, DeliveryError> {
    let body = to_bytes(&format::slack_body(n));
    let secrets = url_secrets(c.url.expose());
    let answer = post(client, c.url.expose(), body, HeaderMap::new(), &secrets).await?;
    Ok(answer.receipt())
}

/// Discord webhook.
pub(crate) async fn discord(
    client: &Client,
    c: &DiscordConfig,
    n: &Notification,
) -> Result<String, DeliveryError> {
    let body = to_bytes(&format::discord_body(n));
    let secrets = url_secrets(c.url.expose());
    let answer = post(client, c.url.expose(), body, HeaderMap::new(), &secrets).await?;
    Ok(answer.receipt())
}

/// `base` without a trailing slash, then `path`.
fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim().trim_end_matches('/'))
}

/// PagerDuty Events API v2.
pub(crate) async fn pagerduty(
    client: &Client,
    c: &PagerDutyConfig,
    n: &Notification,
) -> Result<String, DeliveryError> {
    let body = to_bytes(&format::pagerduty_body(c.routing_key.expose().trim(), n));
    let secrets = vec![c.routing_key.expose().trim().to_string()];
    let url = join(&c.base_url, "/v2/enqueue");
    let answer = post(client, &url, body, HeaderMap::new(), &secrets).await?;
    Ok(answer.receipt())
}

/// Telegram `sendMessage`; a 2xx whose body is not `{"ok": true, …}` is a failure.
pub(crate) async fn telegram(
    client: &Client,
    c: &TelegramConfig,
    n: &Notification,
) -> Result<String, DeliveryError> {
    let token = c.bot_token.expose().trim();
    let body = to_bytes(&format::telegram_body(&c.chat_id, n));
    let url = join(&c.base_url, &format!("/bot{token}/sendMessage"));
    let mut secrets = vec![url.clone(), token.to_string()];
    // The part after the bot id is the secret half of the token.
    secrets.extend(token.split_once(':').map(|(_, s)| s.to_string()));
    let answer = post(client, &url, body, HeaderMap::new(), &secrets).await?;
    let parsed: Option<Value> = serde_json::from_str(&answer.body).ok();
    let ok = parsed
        .as_ref()
        .and_then(|v| v.get("ok"))
        .and_then(Value::as_bool);
    if ok == Some(true) {
        return Ok(answer.receipt());
    }
    let said = parsed
        .as_ref()
        .and_then(|v| v.get("description"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| quote(&answer.body));
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    Err(DeliveryError::permanent(shorten_scrubbed(
        &format!(
            "Telegram refused the message (HTTP {}, ok is not true): {said}",
            answer.status.as_u16()
        ),
        &refs,
    )))
}
