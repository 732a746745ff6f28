//! The `openclaw` channel: a message into one of the gateway's chat channels, sent by
//! the gateway's `send` RPC.

use std::time::Duration;

use clawscope_core::alert::Notification;
use serde_json::{json, Value};

use super::config::OpenClawConfig;
use super::format;
use super::DeliveryError;
use crate::gateway::GatewayRpc;

/// How long the gateway gets to answer.
const RPC_TIMEOUT: Duration = Duration::from_secs(15);

/// The gateway method used.
pub const SEND_METHOD: &str = "send";

/// The `send` params: `{channel, to, message, idempotencyKey, accountId?, agentId?}`
/// (the gateway's `send` schema is closed: nothing else is accepted). The
/// idempotency key is `<dedup_key>:<transition>`, so a retried delivery is sent once
/// while the fire and the resolve of one alert are two messages.
pub fn send_params(c: &OpenClawConfig, n: &Notification) -> Value {
    let mut params = json!({
        "channel": c.channel.trim(),
        "to": c.to.trim(),
        "message": format::plain_text(n),
        "idempotencyKey": format!("{}:{}", n.dedup_key, n.transition.as_str()),
    });
    if let Some(account) = &c.account_id {
        params["accountId"] = account.trim().into();
    }
    if let Some(agent) = &c.agent_id {
        params["agentId"] = agent.trim().into();
    }
    params
}

/// Send through the gateway. Without one the delivery fails for good; a gateway error
/// or a timeout is retriable (the gateway may be reconnecting).
pub(crate) async fn send(
    gateway: Option<&dyn GatewayRpc>,
    c: &OpenClawConfig,
    n: &Notification,
) -> Result<String, DeliveryError> {
    let Some(gateway) = gateway else {
        return Err(DeliveryError::permanent(
            "openclaw channel: no gateway connection (serve with a gateway to use it)",
        ));
    };
    let call = gateway.call(SEND_METHOD, send_params(c, n));
    match tokio::time::timeout(RPC_TIMEOUT, call).await {
        Err(_) => Err(DeliveryError::retriable(format!(
            "openclaw channel: the gateway did not answer `{SEND_METHOD}` within {} s",
            RPC_TIMEOUT.as_secs()
        ))),
        Ok(Err(e)) => Err(DeliveryError::retriable(format!(
            "openclaw channel: the gateway refused `{SEND_METHOD}`: {e}"
        ))),
        Ok(Ok(payload)) => {
            let id = ["messageId", "id"]
                .iter()
                .find_map(|k| payload.get(*k).and_then(Value::as_str));
            Ok(match id {
                Some(id) => format!("gateway sent ({})", format::truncate(id, 80)),
                None => "gateway sent".to_string(),
            })
        }
    }
}
