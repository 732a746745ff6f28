//! Calls into the gateway over the client's connection: a queue of requests the
//! connection sends as `req` frames and answers from the matching `res` frame. Used
//! for write actions (cron toggle and run-now, auto-pause, channel messages); a call
//! made while the gateway is not connected fails at once instead of waiting.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// One request and where its answer goes.
#[derive(Debug)]
pub struct Call {
    /// Method (`cron.update`).
    pub method: String,
    /// Params object.
    pub params: Value,
    /// The answer: the `payload` of an `ok` response, or the error in words.
    pub reply: oneshot::Sender<Result<Value, String>>,
}

/// Makes calls through a running gateway client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct GatewayCaller {
    tx: mpsc::Sender<Call>,
    timeout: Duration,
}

/// The receiving end, handed to `gateway_ws::run`.
pub type Calls = mpsc::Receiver<Call>;

/// A caller and the queue its calls go to.
pub fn channel(timeout: Duration) -> (GatewayCaller, Calls) {
    let (tx, rx) = mpsc::channel(64);
    (GatewayCaller { tx, timeout }, rx)
}

impl GatewayCaller {
    /// Call `method` and wait for its answer (at most the caller's timeout).
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        let (reply, answer) = oneshot::channel();
        let call = Call {
            method: method.to_string(),
            params,
            reply,
        };
        self.tx
            .send(call)
            .await
            .map_err(|_| "the gateway client is not running".to_string())?;
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err("the gateway connection ended before it answered".into()),
            Err(_) => Err(format!(
                "no answer from the gateway to {method} within {} s",
                self.timeout.as_secs()
            )),
        }
    }
}

/// Calls sent on the current connection and waiting for their `res`.
#[derive(Debug, Default)]
pub struct InFlight {
    next: u64,
    waiting: HashMap<String, oneshot::Sender<Result<Value, String>>>,
}

impl InFlight {
    /// Give `call` a request id and remember where its answer goes; returns the frame.
    pub fn frame(&mut self, call: Call) -> Value {
        self.next += 1;
        let id = format!("clawscope-call-{}", self.next);
        let frame = serde_json::json!({"type": "req", "id": id, "method": call.method, "params": call.params});
        self.waiting.insert(id, call.reply);
        frame
    }

    /// Answer the call a `res` frame belongs to; false if it is not one of ours.
    pub fn answer(&mut self, res: &Value) -> bool {
        let Some(reply) = res["id"].as_str().and_then(|id| self.waiting.remove(id)) else {
            return false;
        };
        let _ = reply.send(answer_of(res));
        true
    }

    /// The connection ended: every waiting call fails.
    pub fn fail_all(&mut self, why: &str) {
        for (_, reply) in self.waiting.drain() {
            let _ = reply.send(Err(why.to_string()));
        }
    }
}

/// A `res` frame → the payload, or `CODE: message`.
pub fn answer_of(res: &Value) -> Result<Value, String> {
    if res["ok"] == true {
        return Ok(res["payload"].clone());
    }
    let e = &res["error"];
    Err(format!(
        "{}: {}",
        e["code"].as_str().unwrap_or("ERROR"),
        e["message"]
            .as_str()
            .unwrap_or("the gateway refused the request")
    ))
}

/// Fail a call that arrived while not connected.
pub fn refuse(call: Call, why: &str) {
    let _ = call.reply.send(Err(why.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_go_to_the_matching_call_and_errors_read_well() {
        let mut f = InFlight::default();
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = oneshot::channel();
        let a = f.frame(Call {
            method: "cron.run".into(),
            params: json!({"id": "j"}),
            reply: tx1,
        });
        let b = f.frame(Call {
            method: "cron.update".into(),
            params: json!({}),
            reply: tx2,
        });
        assert_eq!(a["method"], "cron.run");
        assert_ne!(a["id"], b["id"]);
        assert!(!f.answer(&json!({"type": "res", "id": "someone-else", "ok": true})));
        let err = json!({"type": "res", "id": b["id"], "ok": false, "error": {"code": "INVALID_REQUEST", "message": "unknown cron job id: x"}});
        assert!(f.answer(&err));
        assert_eq!(
            rx2.try_recv().expect("answered"),
            Err("INVALID_REQUEST: unknown cron job id: x".into())
        );
        f.fail_all("connection lost");
        assert_eq!(
            rx1.try_recv().expect("failed"),
            Err("connection lost".into())
        );
    }
}
