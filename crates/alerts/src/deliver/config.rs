//! Channel configuration as the user writes it (one TOML table per channel, tagged by
//! `kind`), its defaults and its validation.
//!
//! ```toml
//! [alerts.channels.ops]
//! kind = "webhook"
//! url = "https://ops.example.com/hooks/clawscope"
//! secret = "shared-hmac-secret"          # optional: signs each body
//! headers = { Authorization = "Bearer abc" }  # optional
//! min_severity = "warning"               # optional: info (default), warning, critical
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use clawscope_core::alert::Severity;
use serde::{Deserialize, Deserializer};

use super::secret::Secret;

/// Where notifications go: one variant per kind of receiver.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ChannelConfig {
    /// A JSON POST to any URL, optionally HMAC-signed.
    Webhook(WebhookConfig),
    /// A Slack incoming webhook.
    Slack(SlackConfig),
    /// A Discord channel webhook.
    Discord(DiscordConfig),
    /// PagerDuty Events API v2.
    PagerDuty(PagerDutyConfig),
    /// A Telegram bot message.
    Telegram(TelegramConfig),
    /// An e-mail over SMTP.
    Email(EmailConfig),
    /// A message into an OpenClaw chat channel, sent by the gateway.
    OpenClaw(OpenClawConfig),
}

fn info() -> Severity {
    Severity::Info
}

/// `kind = "webhook"`: POSTs the notification as JSON (see [`super::format::webhook_body`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Receiver URL (http or https). Treated as a secret: it may carry a token.
    pub url: Secret,
    /// HMAC-SHA256 key; when set, each request carries `X-Clawscope-Signature`.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Extra request headers (values are kept secret: they often carry credentials).
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Least severity sent (default `info`: everything).
    #[serde(default = "info")]
    pub min_severity: Severity,
}

/// `kind = "slack"`: a Slack incoming webhook.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The incoming-webhook URL (it embeds the token).
    pub url: Secret,
    /// Least severity sent.
    #[serde(default = "info")]
    pub min_severity: Severity,
}

/// `kind = "discord"`: a Discord channel webhook.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The webhook URL (it embeds the token).
    pub url: Secret,
    /// Least severity sent.
    #[serde(default = "info")]
    pub min_severity: Severity,
}

/// The PagerDuty Events API host.
pub const PAGERDUTY_BASE_URL: &str = "https://events.pagerduty.com";

fn pagerduty_base() -> String {
    PAGERDUTY_BASE_URL.to_string()
}

/// `kind = "pagerduty"`: Events API v2 (`POST {base_url}/v2/enqueue`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// The integration's routing key.
    pub routing_key: Secret,
    /// API base (default `https://events.pagerduty.com`).
    #[serde(default = "pagerduty_base")]
    pub base_url: String,
    /// Least severity sent.
    #[serde(default = "info")]
    pub min_severity: Severity,
}

/// The Telegram Bot API host.
pub const TELEGRAM_BASE_URL: &str = "https://api.telegram.org";

fn telegram_base() -> String {
    TELEGRAM_BASE_URL.to_string()
}

/// `kind = "telegram"`: `sendMessage` through a bot, as plain text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The bot token (`123456:ABC…`).
    pub bot_token: Secret,
    /// Target chat: a numeric id (`-1001234567890`, a string or a number) or `@channel`.
    #[serde(deserialize_with = "string_or_integer")]
    pub chat_id: String,
    /// API base (default `https://api.telegram.org`).
    #[serde(default = "telegram_base")]
    pub base_url: String,
    /// Least severity sent.
    #[serde(default = "info")]
    pub min_severity: Severity,
}

/// How an e-mail channel secures its SMTP connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailTls {
    /// Plain connect, then STARTTLS, required (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only allowed to a loopback host.
    None,
}

fn smtp_port() -> u16 {
    587
}

/// `kind = "email"`: a plain-text mail over SMTP; subject = the notification title.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// SMTP server host name (also the name its certificate must carry).
    pub host: String,
    /// SMTP port (default 587).
    #[serde(default = "smtp_port")]
    pub port: u16,
    /// Login, if the server wants one (with `password`).
    #[serde(default)]
    pub username: Option<String>,
    /// Password for `username`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Sender mailbox (`Clawscope <alerts@example.com>`).
    pub from: String,
    /// Recipient mailboxes.
    pub to: Vec<String>,
    /// `starttls` (default), `tls` or `none`.
    #[serde(default)]
    pub tls: EmailTls,
    /// A PEM file of extra trusted roots (a private CA or a self-signed server).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Least severity sent.
    #[serde(default = "info")]
    pub min_severity: Severity,
}

/// `kind = "openclaw"`: a message into a chat channel the gateway is connected to.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenClawConfig {
    /// The gateway's channel (`telegram`, `slack`, `discord`, `whatsapp`…).
    pub channel: String,
    /// Target on that channel (chat id, user id, `channel:<id>`…).
    pub to: String,
    /// Which of the gateway's accounts on that channel sends it, if not the default.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The agent whose channel binding sends it (the gateway asks for one when several
    /// agents are configured).
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Least severity sent.
    #[serde(default = "info")]
    pub min_severity: Severity,
}

impl ChannelConfig {
    /// The kind as written in the config (`webhook`, `pagerduty`…).
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Webhook(_) => "webhook",
            ChannelConfig::Slack(_) => "slack",
            ChannelConfig::Discord(_) => "discord",
            ChannelConfig::PagerDuty(_) => "pagerduty",
            ChannelConfig::Telegram(_) => "telegram",
            ChannelConfig::Email(_) => "email",
            ChannelConfig::OpenClaw(_) => "openclaw",
        }
    }

    /// The least severity this channel wants.
    pub fn min_severity(&self) -> Severity {
        match self {
            ChannelConfig::Webhook(c) => c.min_severity,
            ChannelConfig::Slack(c) => c.min_severity,
            ChannelConfig::Discord(c) => c.min_severity,
            ChannelConfig::PagerDuty(c) => c.min_severity,
            ChannelConfig::Telegram(c) => c.min_severity,
            ChannelConfig::Email(c) => c.min_severity,
            ChannelConfig::OpenClaw(c) => c.min_severity,
        }
    }

    /// Whether a notification of `severity` goes to this channel.
    pub fn accepts(&self, severity: Severity) -> bool {
        severity >= self.min_severity()
    }
}

/// Accepts `chat_id = "-100123"`, `chat_id = -100123` and `chat_id = "@channel"`.
fn string_or_integer<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a chat id (string or integer)")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(V)
}
