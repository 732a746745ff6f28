//! Notification delivery: channel configuration ([`ChannelConfig`]), how each channel
//! words a notification ([`format`](mod@format)), the [`Sender`] that delivers one
//! notification to one channel, and the retry schedule ([`backoff`]).
//!
//! A delivery either returns a short receipt (`HTTP 200`, `SMTP 250`) or a
//! [`DeliveryError`] that says whether trying again can help. Secrets (tokens, keys,
//! passwords, webhook URLs) never appear in `Debug` output or in error messages.

mod backoff;
mod config;
mod email;
pub mod format;
mod http;
mod openclaw;
mod secret;
mod validate;

use std::fmt;
use std::sync::Arc;

use clawscope_core::alert::Notification;

use crate::gateway::GatewayRpc;

pub use backoff::{backoff, MAX_ATTEMPTS};
pub use config::{
    ChannelConfig, DiscordConfig, EmailConfig, EmailTls, OpenClawConfig, PagerDutyConfig,
    SlackConfig, TelegramConfig, WebhookConfig, PAGERDUTY_BASE_URL, TELEGRAM_BASE_URL,
};
pub use openclaw::send_params as openclaw_send_params;
pub use secret::Secret;
pub use validate::InvalidChannel;

/// A failed delivery: what went wrong (secrets scrubbed) and whether a later attempt
/// may succeed (network errors, timeouts, HTTP 408/429/5xx, SMTP 4xx).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// Worth trying again later.
    pub retriable: bool,
    /// What happened, for the outbox and the logs.
    pub message: String,
}

impl DeliveryError {
    /// A failure worth retrying.
    pub fn retriable(message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            retriable: true,
            message: message.into(),
        }
    }

    /// A failure that retrying will not fix.
    pub fn permanent(message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            retriable: false,
            message: message.into(),
        }
    }
}

/// Delivers notifications: one HTTP client (rustls, 10 s timeout, no redirects) and,
/// for `openclaw` channels, the gateway.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    gateway: Option<Arc<dyn GatewayRpc>>,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("gateway", &self.gateway.is_some())
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender; `gateway` is needed only by `openclaw` channels.
    pub fn new(gateway: Option<Arc<dyn GatewayRpc>>) -> Result<Sender, DeliveryError> {
        Ok(Sender {
            http: http::client()?,
            gateway,
        })
    }

    /// Deliver `n` to `channel` once. The configuration is validated first (an invalid
    /// one fails for good). It does not apply `min_severity`: callers check
    /// [`ChannelConfig::accepts`] when they queue.
    pub async fn send(
        &self,
        channel: &ChannelConfig,
        n: &Notification,
    ) -> Result<String, DeliveryError> {
        channel
            .validate()
            .map_err(|e| DeliveryError::permanent(e.to_string()))?;
        match channel {
            ChannelConfig::Webhook(c) => http::webhook(&self.http, c, n).await,
            ChannelConfig::Slack(c) => http::slack(&self.http, c, n).await,
            ChannelConfig::Discord(c) => http::discord(&self.http, c, n).await,
            ChannelConfig::PagerDuty(c) => http::pagerduty(&self.http, c, n).await,
            ChannelConfig::Telegram(c) => http::telegram(&self.http, c, n).await,
            ChannelConfig::Email(c) => email::send(c, n).await,
            ChannelConfig::OpenClaw(c) => openclaw::send(self.gateway.as_deref(), c, n).await,
        }
    }
}
