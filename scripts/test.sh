#!/usr/bin/env bash
# Every test: unit and integration tests (real SQLite files, the real OpenClaw fixture,
# SIGKILLed imports), then parity with the real ccusage 20.0.24 on a generated corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
need() { command -v "$1" >/dev/null 2>&1; }
if ! need python3 || ! need npm; then
  echo "installing python3/npm for the tests"
  apt-get update -qq && apt-get install -y -qq python3 npm >/dev/null
fi
cargo test --workspace
scripts/ccusage-parity.sh 10mb
