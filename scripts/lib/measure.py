#!/usr/bin/env python3
"""Run a command, report its wall time and peak RSS (via os.wait4, which also covers
descendants the child waited for, like /usr/bin/time -f %M does), with millisecond
resolution (/usr/bin/time's %e has only 10 ms, too coarse for warm reports).

usage: measure.py [--repeat N] [--rm PATH]... [--stdout FILE] [--stderr FILE]
                  [--label TEXT] [--json FILE] -- CMD [ARG...]

  --repeat N     run N times (default 1); prints one line per run and the medians
  --rm PATH      delete PATH (and PATH-wal, PATH-shm, PATH-journal) before every run
                 (fresh store for cold runs)
  --stdout FILE  where the command's stdout goes (default /dev/null); the last run wins
  --stderr FILE  where stderr goes (default: inherited)
  --json FILE    write {"label","runs":[{"wall_s","rss_kb","rc"}],"median_wall_s",
                 "median_rss_kb","min_wall_s","max_wall_s"} to FILE
Exit status: 1 if any run exited non-zero, else 0.
"""
import json
import os
import statistics
import subprocess
import sys
import time


def run_once(cmd, stdout_path, stderr_path):
    out = open(stdout_path, "wb")
    err = open(stderr_path, "wb") if stderr_path else None
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        out.close()
        if err:
            err.close()
    return wall, ru.ru_maxrss, p.returncode  # ru_maxrss is in KiB on Linux


def main(argv):
    repeat, rms, stdout_path, stderr_path, label, json_path = 1, [], os.devnull, None, "", None
    i = 1
    while i < len(argv) and argv[i] != "--":
        a = argv[i]
        if a == "--repeat":
            repeat = int(argv[i + 1]); i += 2
        elif a == "--rm":
            rms.append(argv[i + 1]); i += 2
        elif a == "--stdout":
            stdout_path = argv[i + 1]; i += 2
        elif a == "--stderr":
            stderr_path = argv[i + 1]; i += 2
        elif a == "--label":
            label = argv[i + 1]; i += 2
        elif a == "--json":
            json_path = argv[i + 1]; i += 2
        else:
            print(__doc__, file=sys.stderr)
            return 2
    cmd = argv[i + 1:]
    if not cmd:
        print(__doc__, file=sys.stderr)
        return 2
    runs = []
    for n in range(repeat):
        for p in rms:
            for suf in ("", "-wal", "-shm", "-journal"):
                try:
                    os.remove(p + suf)
                except FileNotFoundError:
                    pass
        wall, rss, rc = run_once(cmd, stdout_path, stderr_path)
        runs.append({"wall_s": round(wall, 6), "rss_kb": rss, "rc": rc})
        print(f"  {label} run {n + 1}/{repeat}: {wall * 1000:.1f} ms, peak RSS {rss / 1024:.1f} MiB"
              + (f", exit {rc}" if rc else ""), file=sys.stderr)
    walls = [r["wall_s"] for r in runs]
    res = {"label": label, "cmd": cmd, "runs": runs,
           "median_wall_s": statistics.median(walls), "min_wall_s": min(walls),
           "max_wall_s": max(walls),
           "median_rss_kb": statistics.median([r["rss_kb"] for r in runs]),
           "max_rss_kb": max(r["rss_kb"] for r in runs)}
    if json_path:
        with open(json_path, "w") as f:
            json.dump(res, f)
    return 1 if any(r["rc"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
