//! Zero-config discovery of OpenClaw state dirs and Claude Code config roots, and
//! the gateway settings in `openclaw.json` (JSON5).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::sources::{claude, gateway_log, openclaw_legacy};
use crate::unit::{Unit, UnitKind};
use clawscope_core::SourceKind;

/// The environment discovery looks at (separate from the process for tests).
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `$HOME`.
    pub home: Option<PathBuf>,
    /// `$OPENCLAW_STATE_DIR`.
    pub openclaw_state_dir: Option<PathBuf>,
    /// `$OPENCLAW_CONFIG_PATH`.
    pub openclaw_config_path: Option<PathBuf>,
    /// `$CLAUDE_CONFIG_DIR` (comma-separated list).
    pub claude_config_dir: Option<String>,
    /// Where the gateway writes its daily logs by default (`/tmp/openclaw`).
    pub gateway_log_dir: Option<PathBuf>,
}

impl Env {
    /// Read the process environment.
    pub fn from_process() -> Env {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        Env {
            home: directories::BaseDirs::new()
                .map(|b| b.home_dir().to_path_buf())
                .or_else(|| var("HOME").map(PathBuf::from)),
            openclaw_state_dir: var("OPENCLAW_STATE_DIR").map(PathBuf::from),
            openclaw_config_path: var("OPENCLAW_CONFIG_PATH").map(PathBuf::from),
            claude_config_dir: var("CLAUDE_CONFIG_DIR").and_then(|v| v.into_string().ok()),
            gateway_log_dir: Some(PathBuf::from(DEFAULT_LOG_DIR)),
        }
    }
}

/// Where data was found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Roots {
    /// OpenClaw state dirs (each holds `agents/`, `state/`, `openclaw.json`).
    pub openclaw: Vec<PathBuf>,
    /// Claude Code config roots (each holds `projects/`).
    pub claude: Vec<PathBuf>,
    /// Gateway logs: directories of daily `openclaw-YYYY-MM-DD.log` files, or single
    /// files (`logging.file` in `openclaw.json`).
    pub logs: Vec<PathBuf>,
}

/// The gateway's default log directory.
pub const DEFAULT_LOG_DIR: &str = "/tmp/openclaw";

/// Add the log file each root's `openclaw.json` names (`logging.file`).
fn configured_logs(roots: &mut Roots, env: &Env) {
    for root in roots.openclaw.clone() {
        if let Some(f) = gateway_config(&root, env).and_then(|c| c.log_file) {
            push_unique(&mut roots.logs, f);
        }
    }
}

/// Accept a `.openclaw` dir itself or a home-like dir that contains one.
fn openclaw_dir(dir: &Path) -> PathBuf {
    if !dir.join("agents").is_dir() && dir.join(".openclaw").is_dir() {
        dir.join(".openclaw")
    } else {
        dir.to_path_buf()
    }
}

fn push_unique(v: &mut Vec<PathBuf>, p: PathBuf) {
    let canon = p.canonicalize().unwrap_or(p);
    if !v.contains(&canon) {
        v.push(canon);
    }
}

/// Find data roots. Explicit directories, when any are given, replace discovery.
pub fn discover(explicit_openclaw: &[PathBuf], explicit_claude: &[PathBuf], env: &Env) -> Roots {
    let mut roots = Roots::default();
    if !explicit_openclaw.is_empty() || !explicit_claude.is_empty() {
        for d in explicit_openclaw {
            push_unique(&mut roots.openclaw, openclaw_dir(d));
        }
        for d in explicit_claude {
            push_unique(&mut roots.claude, d.clone());
        }
        configured_logs(&mut roots, env);
        return roots;
    }
    let mut oc = Vec::new();
    if let Some(d) = &env.openclaw_state_dir {
        oc.push(d.clone());
    }
    if let Some(h) = &env.home {
        for name in [".openclaw", ".clawdbot", ".moltbot"] {
            oc.push(h.join(name));
        }
    }
    for d in oc.into_iter().filter(|d| d.is_dir()) {
        push_unique(&mut roots.openclaw, d);
    }
    let claude: Vec<PathBuf> = match &env.claude_config_dir {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect(),
        None => env
            .home
            .iter()
            .flat_map(|h| [h.join(".config/claude"), h.join(".claude")])
            .collect(),
    };
    for d in claude.into_iter().filter(|d| d.join("projects").is_dir()) {
        push_unique(&mut roots.claude, d);
    }
    if !roots.openclaw.is_empty() {
        configured_logs(&mut roots, env);
        if let Some(d) = env.gateway_log_dir.as_ref().filter(|d| d.is_dir()) {
            push_unique(&mut roots.logs, d.clone());
        }
    }
    roots
}

/// Gateway settings from `openclaw.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GatewayConfig {
    /// Gateway port (default 18789).
    pub port: Option<u16>,
    /// Shared token (`gateway.auth.token`); never printed.
    #[serde(skip)]
    pub token: Option<String>,
    /// Bind mode.
    pub bind: Option<String>,
    /// Default agent workspace.
    pub workspace: Option<PathBuf>,
    /// The gateway's log file when configured (`logging.file`).
    pub log_file: Option<PathBuf>,
}

/// Parse `openclaw.json` text (JSON5: comments, unquoted keys, trailing commas).
pub fn parse_gateway_config(text: &str) -> Result<GatewayConfig, String> {
    let v: serde_json::Value = json5::from_str(text).map_err(|e| e.to_string())?;
    let s = |ptr: &str| v.pointer(ptr).and_then(|x| x.as_str()).map(str::to_string);
    Ok(GatewayConfig {
        port: v
            .pointer("/gateway/port")
            .and_then(|p| p.as_u64())
            .and_then(|p| u16::try_from(p).ok()),
        token: s("/gateway/auth/token"),
        bind: s("/gateway/bind"),
        workspace: s("/agents/defaults/workspace").map(PathBuf::from),
        log_file: s("/logging/file").map(PathBuf::from),
    })
}

/// Read the gateway config of a state dir (`$OPENCLAW_CONFIG_PATH` wins).
pub fn gateway_config(state_dir: &Path, env: &Env) -> Option<GatewayConfig> {
    let path = env
        .openclaw_config_path
        .clone()
        .unwrap_or_else(|| state_dir.join("openclaw.json"));
    let text = std::fs::read_to_string(&path).ok()?;
    match parse_gateway_config(&text) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "openclaw.json is not valid JSON5");
            None
        }
    }
}

/// Which systems to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceSelect {
    /// Everything found.
    #[default]
    All,
    /// OpenClaw only.
    OpenClaw,
    /// Claude Code only.
    Claude,
}

/// List the units of work under the roots.
pub fn plan(roots: &Roots, select: SourceSelect) -> Vec<Unit> {
    let mut units = Vec::new();
    if select != SourceSelect::Claude {
        for root in &roots.openclaw {
            plan_openclaw(root, &mut units);
        }
        for log in &roots.logs {
            gateway_log::plan(log, &mut units);
        }
    }
    if select != SourceSelect::OpenClaw {
        for root in &roots.claude {
            claude::plan_root(root, &mut units);
        }
    }
    units
}

fn plan_openclaw(root: &Path, units: &mut Vec<Unit>) {
    let mut agents: Vec<PathBuf> = std::fs::read_dir(root.join("agents"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    agents.sort();
    for dir in agents {
        let Some(agent) = dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        let db = dir.join("agent").join("openclaw-agent.sqlite");
        if db.is_file() {
            let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
            units.push(Unit {
                source: SourceKind::OpenClaw,
                path: db,
                size,
                stamp: None,
                kind: UnitKind::AgentDb {
                    agent: agent.clone(),
                },
            });
        }
        openclaw_legacy::plan_agent(&dir, &agent, units);
    }
    let state = root.join("state").join("openclaw.sqlite");
    if state.is_file() {
        units.push(Unit {
            source: SourceKind::OpenClaw,
            size: std::fs::metadata(&state).map(|m| m.len()).unwrap_or(0),
            path: state,
            stamp: None,
            kind: UnitKind::StateDb,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json5_config() {
        let c = parse_gateway_config(
            "// comment\n{ gateway: { port: 18789, bind: 'loopback', auth: { mode: 'token', token: 'abc', }, }, agents: { defaults: { workspace: '/w' } } }",
        )
        .unwrap();
        assert_eq!(c.port, Some(18789));
        assert_eq!(c.token.as_deref(), Some("abc"));
        assert_eq!(c.workspace, Some(PathBuf::from("/w")));
        assert!(parse_gateway_config("{ nope").is_err());
    }

    #[test]
    fn discovery_order_and_overrides() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        std::fs::create_dir_all(h.join(".openclaw/agents")).unwrap();
        std::fs::create_dir_all(h.join(".moltbot")).unwrap();
        std::fs::create_dir_all(h.join(".claude/projects")).unwrap();
        std::fs::create_dir_all(h.join("other/projects")).unwrap();
        let env = Env {
            home: Some(h.to_path_buf()),
            ..Env::default()
        };
        let r = discover(&[], &[], &env);
        assert_eq!(r.openclaw.len(), 2);
        assert_eq!(r.claude.len(), 1);
        let env2 = Env {
            claude_config_dir: Some(format!(
                "{}, {}",
                h.join("other").display(),
                h.join(".claude").display()
            )),
            ..env.clone()
        };
        assert_eq!(discover(&[], &[], &env2).claude.len(), 2);
        // explicit dirs replace discovery; a home-like dir resolves to its .openclaw
        let r = discover(&[h.to_path_buf()], &[], &env);
        assert_eq!(
            r.openclaw,
            vec![h.join(".openclaw").canonicalize().unwrap()]
        );
        assert!(r.claude.is_empty());
    }
}
