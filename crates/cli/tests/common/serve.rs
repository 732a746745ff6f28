//! A running `clawscope serve` for tests over real sockets.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Sandbox;

/// How long anything expected may take to show up.
pub const WAIT: Duration = Duration::from_secs(10);

/// A loopback address nobody listens on right now, and never handed out before in
/// this test process (the kernel readily gives a just-released port out again, so two
/// calls in a row could name the same port for two listeners of one serve).
pub fn free_addr() -> SocketAddr {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
        if !given.contains(&addr.port()) {
            given.push(addr.port());
            return addr;
        }
    }
}

/// Poll `f` until it yields, failing after `timeout`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `clawscope <global> serve --listen <addr> <args>`, started once its API answers;
/// killed when dropped (its log is printed if the test is failing).
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    pub fn start(sb: &Sandbox, global: &[&str], args: &[&str]) -> Server {
        // The free port can be taken by a test running beside this one before serve
        // binds it: try another one then.
        for _ in 0..3 {
            let mut s = Server::spawn(sb, global, args);
            let up = wait_until("the API to answer or serve to exit", WAIT, || {
                if let Some(st) = s.child.try_wait().unwrap() {
                    return Some(Err(st));
                }
                s.try_get("/api/v1/health").ok().map(|_| Ok(()))
            });
            match up {
                Ok(()) => return s,
                Err(_) if s.log_text().contains("Address already in use") => continue,
                Err(st) => panic!("serve exited ({st}):\n{}", s.log_text()),
            }
        }
        panic!("serve found no free port in three tries");
    }

    fn spawn(sb: &Sandbox, global: &[&str], args: &[&str]) -> Server {
        let addr = free_addr();
        let log = sb.path("serve.log");
        let child = sb
            .cmd()
            .env_remove("CLAWSCOPE_TOKEN")
            .env_remove("CLAWSCOPE_OTLP_TOKEN")
            .env_remove("OPENCLAW_GATEWAY_TOKEN")
            .env(
                "CLAWSCOPE_LOG",
                "info,clawscope_live=debug,clawscope_server=debug,clawscope_otlp=debug",
            )
            .args(global)
            .arg("serve")
            .arg("--listen")
            .arg(addr.to_string())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("spawn clawscope serve");
        Server { child, addr, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn try_get(&self, path: &str) -> Result<Value, String> {
        ureq::get(&self.url(path))
            .timeout(WAIT)
            .call()
            .map_err(|e| e.to_string())?
            .into_json::<Value>()
            .map_err(|e| e.to_string())
    }

    pub fn get(&self, path: &str) -> Value {
        self.try_get(path)
            .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.log_text()))
    }

    pub fn assert_running(&mut self) {
        if let Some(st) = self.child.try_wait().unwrap() {
            panic!("serve exited ({st}):\n{}", self.log_text());
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- serve log ---\n{}", self.log_text());
        }
    }
}
