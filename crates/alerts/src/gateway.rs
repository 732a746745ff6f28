//! The gateway's write RPCs as the alerts crate needs them (pause, resume, a message
//! into a chat channel). The binary hands in the live gateway client; tests hand in
//! a recorder.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Calls one gateway RPC method and returns its `payload`, or the error in words.
pub trait GatewayRpc: Send + Sync {
    /// Send `method` with `params`; resolves with the answer.
    fn call<'a>(&'a self, method: &'a str, params: Value) -> BoxFuture<'a, Result<Value, String>>;
}
