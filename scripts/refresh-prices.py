#!/usr/bin/env python3
"""Regenerate clawscope's embedded model price table from a pinned LiteLLM release.

What it does
------------
LiteLLM ships its model price list inside the PyPI wheel as
``litellm/model_prices_and_context_window_backup.json``. This script reads that
file and writes the project's own compact table, ``crates/core/data/prices.json``,
which ``clawscope-core`` compiles into the binary (``PriceTable::embedded()``).

Usage (stdlib Python 3.11+ only)::

    python3 scripts/refresh-prices.py                     # pip download litellm==PINNED
    python3 scripts/refresh-prices.py --wheel litellm-X-py3-none-any.whl
    python3 scripts/refresh-prices.py --json model_prices_and_context_window.json --litellm-version 1.2.3
    python3 scripts/refresh-prices.py --check             # exit 1 if the file would change

Options: ``--out PATH`` (default: crates/core/data/prices.json next to this
script's repo), ``--litellm-version V`` (override the pin for the download),
``--generated YYYY-MM-DD`` (default: today, UTC).

Why this pin
------------
``PINNED_LITELLM`` is the newest LiteLLM release whose prices for the four
Claude models ccusage 20.0.24 was measured on
(shared/peers/data/ccusage-pricing.json) agree exactly with what ccusage
applied: claude-sonnet-4-5-20250929 *with* its >200k-token rates and
claude-opus-4-1-20250805 present. Later releases drop the Sonnet 4.5 long-context
rates and the Opus 4.1 dated entry, so they would disagree with ccusage. Bump
the pin deliberately and re-run the pricing unit tests (``cargo test -p
clawscope-core pricing``), which assert those four models' rates.

Output format
-------------
::

    {"version": "litellm-<ver>", "source": "...", "generated": "<date>",
     "models": {"<name>": {"provider": "...", "input": 3e-06, "output": 1.5e-05,
                           "cache_read": ..., "cache_write": ...,
                           "input_above_200k": ..., "output_above_200k": ...,
                           "cache_read_above_200k": ..., "cache_write_above_200k": ...,
                           "context_window": <max_input_tokens>}}}

Rates are USD per token. ``cache_write`` is LiteLLM's
``cache_creation_input_token_cost`` (the 5-minute cache write); 1-hour cache
writes are priced at 2x ``input`` by the Rust code, as ccusage does. Absent
(null) fields are omitted. Only entries whose ``mode`` is chat, responses or
completion (or that have no mode) and that have an input or output per-token
price are kept. Other LiteLLM tiers (above_128k, above_272k, batches, flex,
priority, audio, image...) are not carried over: ccusage 20.0.24 prices Claude
logs with the fields above only.

The file is written with sorted keys, one model per line, so a refresh gives a
small, reviewable diff.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PINNED_LITELLM = "1.103.6"
MEMBER = "litellm/model_prices_and_context_window_backup.json"
KEEP_MODES = {None, "chat", "responses", "completion"}

# our field -> LiteLLM field (USD per token)
RATE_FIELDS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_read": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
    "input_above_200k": "input_cost_per_token_above_200k_tokens",
    "output_above_200k": "output_cost_per_token_above_200k_tokens",
    "cache_read_above_200k": "cache_read_input_token_cost_above_200k_tokens",
    "cache_write_above_200k": "cache_creation_input_token_cost_above_200k_tokens",
}
FIELD_ORDER = ["provider", *RATE_FIELDS, "context_window"]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "crates" / "core" / "data" / "prices.json"


def _rate(value: object) -> float | None:
    """A finite, non-negative number as float, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    if not math.isfinite(f) or f < 0:
        return None
    return f


def _tokens(value: object) -> int | None:
    """A positive integral token count (LiteLLM sometimes writes 2e6 as a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        return None
    n = int(value)
    return n if n > 0 else None


def convert(raw: dict) -> dict[str, dict]:
    """LiteLLM's model map -> our compact per-model entries (sorted by name)."""
    models: dict[str, dict] = {}
    for name, spec in raw.items():
        if name == "sample_spec" or not isinstance(spec, dict):
            continue
        if spec.get("mode") not in KEEP_MODES:
            continue
        entry: dict[str, object] = {}
        provider = spec.get("litellm_provider")
        if isinstance(provider, str) and provider:
            entry["provider"] = provider
        for ours, theirs in RATE_FIELDS.items():
            r = _rate(spec.get(theirs))
            if r is not None:
                entry[ours] = r
        if "input" not in entry and "output" not in entry:
            continue
        ctx = _tokens(spec.get("max_input_tokens"))
        if ctx is not None:
            entry["context_window"] = ctx
        models[name] = {k: entry[k] for k in FIELD_ORDER if k in entry}
    return dict(sorted(models.items()))


def render(version: str, source: str, generated: str, models: dict[str, dict]) -> str:
    """Stable text: header keys sorted, one model per line, models sorted."""
    lines = ["{"]
    lines.append(f'  "generated": {json.dumps(generated)},')
    lines.append('  "models": {')
    items = list(models.items())
    for i, (name, entry) in enumerate(items):
        body = json.dumps(entry, separators=(", ", ": "), ensure_ascii=False)
        comma = "," if i + 1 < len(items) else ""
        lines.append(f"    {json.dumps(name, ensure_ascii=False)}: {body}{comma}")
    lines.append("  },")
    lines.append(f'  "source": {json.dumps(source)},')
    lines.append(f'  "version": {json.dumps(version)}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _read_wheel(path: Path) -> dict:
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read(MEMBER))


def _wheel_version(path: Path) -> str | None:
    # litellm-1.103.6-cp310-abi3-....whl -> 1.103.6
    parts = path.name.split("-")
    return parts[1] if len(parts) > 2 and parts[0] == "litellm" else None


def _download(version: str, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--quiet", "-d", str(dest), f"litellm=={version}"]
    subprocess.run(cmd, check=True)
    wheels = sorted(dest.glob(f"litellm-{version}-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download produced no litellm-{version} wheel in {dest}")
    return wheels[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--wheel", type=Path, help="a downloaded litellm wheel")
    src.add_argument("--json", type=Path, help="a LiteLLM model_prices JSON file")
    ap.add_argument("--litellm-version", default=None,
                    help=f"version to download, or to record for --json (default {PINNED_LITELLM})")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--generated", default=None, help="date to record (default: today, UTC)")
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if the output would change")
    args = ap.parse_args(argv)

    version = args.litellm_version
    generated = args.generated or _dt.datetime.now(_dt.timezone.utc).date().isoformat()

    if args.json is not None:
        raw = json.loads(args.json.read_text(encoding="utf-8"))
        version = version or "unknown"
        source = f"LiteLLM {args.json.name}"
    elif args.wheel is not None:
        raw = _read_wheel(args.wheel)
        version = version or _wheel_version(args.wheel) or "unknown"
        source = f"PyPI litellm=={version} wheel: {MEMBER}"
    else:
        version = version or PINNED_LITELLM
        with tempfile.TemporaryDirectory(prefix="litellm-") as tmp:
            raw = _read_wheel(_download(version, Path(tmp)))
        source = f"PyPI litellm=={version} wheel: {MEMBER}"

    if not isinstance(raw, dict):
        raise SystemExit("LiteLLM price file is not a JSON object")
    models = convert(raw)
    if not models:
        raise SystemExit("no priced chat/completion models found; refusing to write an empty table")
    text = render(f"litellm-{version}", source, generated, models)
    json.loads(text)  # self-check: the output is valid JSON

    if args.check:
        old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        # ignore the generated date when comparing
        strip = lambda t: "\n".join(l for l in t.splitlines() if not l.startswith('  "generated"'))
        if strip(old) != strip(text):
            print(f"{args.out} is out of date", file=sys.stderr)
            return 1
        return 0

    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".json.tmp")
    tmp_out.write_text(text, encoding="utf-8")
    os.replace(tmp_out, args.out)
    print(f"wrote {args.out}: {len(models)} models, litellm-{version}, {len(text.encode())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
