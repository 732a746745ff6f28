//! The native event stream: newline-delimited JSON envelopes on a Unix socket and on
//! a loopback TCP port. Each connection keeps its own `call_id` table; mapped events
//! go to the writer (stored, then published), bad lines are counted and logged.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;

use clawscope_core::live::native::NativeStream;

use crate::now_ms;
use crate::writer::Work;

/// Longest envelope line accepted.
pub const MAX_LINE: usize = 1 << 20;

/// Why a listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The TCP address is not loopback (the stream has no authentication).
    #[error(
        "--event-tcp must be a loopback address (got {0}): the event stream has no authentication"
    )]
    NotLoopback(SocketAddr),
    /// Another process is serving the socket.
    #[error("{0} is in use by another process")]
    InUse(PathBuf),
    /// Bind failure.
    #[error("cannot listen on {what}: {source}")]
    Io {
        /// Where.
        what: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// The default socket path: `$XDG_RUNTIME_DIR/clawscope/events.sock`, else under the
/// system temp dir (`clawscope-<user>/events.sock`).
pub fn default_socket_path() -> PathBuf {
    let base = directories::BaseDirs::new()
        .and_then(|b| b.runtime_dir().map(Path::to_path_buf))
        .map(|d| d.join("clawscope"))
        .unwrap_or_else(|| {
            let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
            std::env::temp_dir().join(format!("clawscope-{user}"))
        });
    base.join("events.sock")
}

fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> ListenError {
    let what = what.to_string();
    move |source| ListenError::Io { what, source }
}

/// Bind the Unix socket (owner-only), replacing a stale socket file.
pub fn bind_unix(path: &Path) -> Result<UnixListener, ListenError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir.display()))?;
        set_mode(dir, 0o700);
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(ListenError::InUse(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(io(path.display()))?;
    }
    let l = UnixListener::bind(path).map_err(io(path.display()))?;
    set_mode(path, 0o600);
    Ok(l)
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)) {
        tracing::warn!(path = %p.display(), error = %e, "cannot restrict permissions");
    }
}

/// Bind the TCP port (loopback only).
pub async fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, ListenError> {
    if !addr.ip().is_loopback() {
        return Err(ListenError::NotLoopback(addr));
    }
    TcpListener::bind(addr).await.map_err(io(addr))
}

/// Accept Unix-socket producers forever.
pub async fn serve_unix(l: UnixListener, tx: mpsc::Sender<Work>) {
    loop {
        match l.accept().await {
            Ok((s, _)) => {
                tokio::spawn(consume(s, tx.clone(), "unix"));
            }
            Err(e) => {
                tracing::warn!(error = %e, "event socket accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Accept TCP producers forever.
pub async fn serve_tcp(l: TcpListener, tx: mpsc::Sender<Work>) {
    loop {
        match l.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                tokio::spawn(consume(s, tx.clone(), "tcp"));
            }
            Err(e) => {
                tracing::warn!(error = %e, "event port accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Read envelopes from one producer until it hangs up.
pub async fn consume(s: impl AsyncRead + Unpin, tx: mpsc::Sender<Work>, via: &'static str) {
    let mut reader = BufReader::new(s);
    let mut stream = NativeStream::default();
    let mut buf = Vec::new();
    let (mut good, mut bad) = (0u64, 0u64);
    loop {
        buf.clear();
        let n = match (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(via, error = %e, "event stream read failed");
                break;
            }
        };
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            if buf.len() > MAX_LINE {
                bad += 1;
                tracing::warn!(via, "envelope longer than 1 MiB dropped; closing");
            }
            // A producer that hangs up mid-line sent an incomplete envelope.
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match stream.line(line, now_ms()) {
            Ok(out) => {
                good += 1;
                if tx.send(Work::Live(out)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                bad += 1;
                if bad <= 10 {
                    tracing::warn!(via, error = %e, "envelope refused");
                }
            }
        }
    }
    tracing::debug!(via, good, bad, "event producer disconnected");
}
