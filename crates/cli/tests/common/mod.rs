//! Helpers for running the real binary against real files.
#![allow(dead_code)]

pub mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The repository's test fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// The OpenClaw fixture home of one layout (`sqlite` or `legacy`).
pub fn openclaw_home(layout: &str) -> PathBuf {
    fixtures()
        .join("openclaw-2026.9.6")
        .join(format!("{layout}-layout/home"))
}

/// Expected per-session totals of the OpenClaw fixture.
pub fn expected_totals() -> Value {
    let text = std::fs::read_to_string(fixtures().join("openclaw-2026.9.6/expected_totals.json"))
        .expect("fixture");
    serde_json::from_str(&text).expect("fixture json")
}

/// A sandbox: empty HOME and a store path inside a temp dir.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        Sandbox { dir }
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store.db")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A command for the binary with HOME isolated and this sandbox's store.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_clawscope"));
        c.env("HOME", self.dir.path().join("home"))
            .env_remove("OPENCLAW_STATE_DIR")
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("CLAWSCOPE_CONFIG")
            .env("TZ", "UTC")
            .arg("--store")
            .arg(self.store())
            .arg("--no-progress");
        c
    }

    /// Run and require success; returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("run clawscope");
        assert_ok(&out, args);
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Run and parse stdout as JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        let s = self.run(args);
        serde_json::from_str(&s)
            .unwrap_or_else(|e| panic!("{args:?} printed invalid JSON ({e}):\n{s}"))
    }
}

pub fn assert_ok(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "clawscope {args:?} failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Rows of a report keyed by `field`.
pub fn rows_by<'a>(
    report: &'a Value,
    field: &str,
) -> std::collections::BTreeMap<String, &'a Value> {
    report["rows"]
        .as_array()
        .expect("rows array")
        .iter()
        .map(|r| (r[field].as_str().expect("key field").to_string(), r))
        .collect()
}
