//! Checking a channel configuration before anything is sent: every message names the
//! channel kind and the field, and never quotes a URL or a secret.

use std::net::IpAddr;
use std::str::FromStr;

use lettre::message::Mailbox;
use reqwest::header::{HeaderName, HeaderValue};

use super::config::{ChannelConfig, EmailConfig, EmailTls};
use super::secret::Secret;

/// A channel configuration that cannot work, in words naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} channel: {message}")]
pub struct InvalidChannel {
    /// The channel kind (`webhook`).
    pub kind: &'static str,
    /// What is wrong.
    pub message: String,
}

impl ChannelConfig {
    /// Check the configuration without sending anything (no network, no files).
    pub fn validate(&self) -> Result<(), InvalidChannel> {
        let kind = self.kind();
        let bad = |message: String| InvalidChannel { kind, message };
        match self {
            ChannelConfig::Webhook(c) => {
                check_url("url", c.url.expose()).map_err(bad)?;
                if c.secret.as_ref().is_some_and(Secret::is_blank) {
                    return Err(bad(
                        "`secret` is empty (leave it out to send unsigned)".into()
                    ));
                }
                for (name, value) in &c.headers {
                    check_header(name, value).map_err(bad)?;
                }
            }
            ChannelConfig::Slack(c) => check_url("url", c.url.expose()).map_err(bad)?,
            ChannelConfig::Discord(c) => check_url("url", c.url.expose()).map_err(bad)?,
            ChannelConfig::PagerDuty(c) => {
                not_blank("routing_key", c.routing_key.expose()).map_err(bad)?;
                check_url("base_url", &c.base_url).map_err(bad)?;
            }
            ChannelConfig::Telegram(c) => {
                not_blank("bot_token", c.bot_token.expose()).map_err(bad)?;
                let token_ok = c
                    .bot_token
                    .expose()
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, ':' | '_' | '-'));
                if !token_ok {
                    return Err(bad(
                        "`bot_token` may hold only letters, digits, `:`, `_` and `-`".into(),
                    ));
                }
                not_blank("chat_id", &c.chat_id).map_err(bad)?;
                check_url("base_url", &c.base_url).map_err(bad)?;
            }
            ChannelConfig::Email(c) => check_email(c).map_err(bad)?,
            ChannelConfig::OpenClaw(c) => {
                not_blank("channel", &c.channel).map_err(bad)?;
                not_blank("to", &c.to).map_err(bad)?;
                if let Some(a) = &c.agent_id {
                    not_blank("agent_id", a).map_err(bad)?;
                }
                if let Some(a) = &c.account_id {
                    not_blank("account_id", a).map_err(bad)?;
                }
            }
        }
        Ok(())
    }
}

fn not_blank(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!("`{field}` is empty"))
    } else {
        Ok(())
    }
}

/// An absolute http(s) URL with a host. The URL itself never appears in the message.
fn check_url(field: &str, value: &str) -> Result<(), String> {
    not_blank(field, value)?;
    let url =
        reqwest::Url::parse(value.trim()).map_err(|e| format!("`{field}` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`{field}` must be an http:// or https:// URL, not {}://",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{field}` has no host"));
    }
    Ok(())
}

/// Header names clawscope sets itself, which a config may not override.
fn reserved_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("x-clawscope-")
        || matches!(n.as_str(), "content-type" | "content-length" | "host")
}

fn check_header(name: &str, value: &Secret) -> Result<(), String> {
    if HeaderName::from_str(name).is_err() {
        return Err(format!("`headers`: {name:?} is not a valid header name"));
    }
    if reserved_header(name) {
        return Err(format!(
            "`headers`: {name} is set by clawscope and cannot be configured"
        ));
    }
    if HeaderValue::from_str(value.expose()).is_err() {
        return Err(format!(
            "`headers`: the value of {name} is not a valid header value"
        ));
    }
    Ok(())
}

/// `localhost` or a loopback address (`127.0.0.1`, `::1`, `[::1]`).
fn is_loopback(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_email(c: &EmailConfig) -> Result<(), String> {
    not_blank("host", &c.host)?;
    if c.host.chars().any(|ch| ch.is_whitespace() || ch == '/') {
        return Err("`host` must be a bare host name or address".into());
    }
    if c.port == 0 {
        return Err("`port` must not be 0".into());
    }
    Mailbox::from_str(c.from.trim()).map_err(|e| format!("`from` is not a mailbox ({e})"))?;
    if c.to.is_empty() {
        return Err("`to` is empty: name at least one recipient".into());
    }
    for to in &c.to {
        Mailbox::from_str(to.trim()).map_err(|e| format!("`to`: {to:?} is not a mailbox ({e})"))?;
    }
    match (&c.username, &c.password) {
        (Some(u), Some(_)) => not_blank("username", u)?,
        (None, None) => {}
        (Some(_), None) => return Err("`username` is set but `password` is not".into()),
        (None, Some(_)) => return Err("`password` is set but `username` is not".into()),
    }
    if c.tls == EmailTls::None && !is_loopback(&c.host) {
        return Err(
            "`tls = \"none\"` is only allowed to a loopback host (localhost, 127.0.0.1, ::1)"
                .into(),
        );
    }
    if c.tls == EmailTls::None && c.username.is_some() {
        return Err("`tls = \"none\"` would send the password in clear: use starttls".into());
    }
    if c.ca_file.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
        return Err("`ca_file` is empty".into());
    }
    Ok(())
}
