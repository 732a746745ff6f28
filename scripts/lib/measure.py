#!/usr/bin/env python3
"""Run a command, report its wall time (perf_counter, sub-millisecond; /usr/bin/time's %e
has only 10 ms, too coarse for warm reports) and its peak RSS.

Peak RSS comes from `/usr/bin/time -f %M` when that exists (its floor is ~1 MiB; it adds
about 1 ms of wall time). Otherwise from os.wait4's ru_maxrss, which is floored at this
Python process's own RSS (~10-15 MiB): a forked/vforked child inherits the parent's RSS
high-water mark until it execs. The floor is measured (by running `true`) and reported.

usage: measure.py [--repeat N] [--rm PATH]... [--stdout FILE] [--stderr FILE]
                  [--label TEXT] [--json FILE] [--clean-env] [--env K=V]... -- CMD [ARG...]

  --repeat N     run N times (default 1); prints one line per run and the medians
  --rm PATH      delete PATH (and PATH-wal, PATH-shm, PATH-journal) before every run
                 (fresh store for cold runs)
  --stdout FILE  where the command's stdout goes (default /dev/null); the last run wins
  --stderr FILE  where stderr goes (default: inherited)
  --clean-env    run CMD with an empty environment (plus PATH and the --env settings)
  --env K=V      set K=V in CMD's environment (repeatable)
  --json FILE    write {"label","runs":[{"wall_s","rss_kb","rc"}],"median_wall_s",
                 "median_rss_kb","min_wall_s","max_wall_s"} to FILE
Exit status: 1 if any run exited non-zero, else 0.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


GNU_TIME = "/usr/bin/time"


def have_gnu_time():
    if not os.access(GNU_TIME, os.X_OK):
        return False
    try:
        r = subprocess.run([GNU_TIME, "-f", "%M", "true"], capture_output=True, text=True)
        return r.returncode == 0 and r.stderr.strip().splitlines()[-1].isdigit()
    except (OSError, IndexError):
        return False


def run_once(cmd, stdout_path, stderr_path, env, use_time):
    out = open(stdout_path, "wb")
    err = open(stderr_path, "ab") if stderr_path else None
    rss_file = None
    if use_time:
        fd, rss_file = tempfile.mkstemp(prefix="measure-rss.")
        os.close(fd)
        cmd = [GNU_TIME, "-f", "%M", "-o", rss_file, "--"] + cmd
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        rc = os.waitstatus_to_exitcode(status)
        p.returncode = rc
        rss = ru.ru_maxrss  # KiB on Linux
        if rss_file:
            with open(rss_file) as f:
                lines = [l for l in f.read().split("\n") if l.strip()]
            # GNU time prints "Command exited with non-zero status N" before the format line
            rss = int(lines[-1]) if lines and lines[-1].strip().isdigit() else rss
    finally:
        out.close()
        if err:
            err.close()
        if rss_file:
            os.remove(rss_file)
    return wall, rss, rc


def main(argv):
    repeat, rms, stdout_path, stderr_path, label, json_path = 1, [], os.devnull, None, "", None
    clean, env_set = False, {}
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
        elif a == "--clean-env":
            clean = True; i += 1
        elif a == "--env":
            k, _, v = argv[i + 1].partition("="); env_set[k] = v; i += 2
        elif a == "--json":
            json_path = argv[i + 1]; i += 2
        else:
            print(__doc__, file=sys.stderr)
            return 2
    cmd = argv[i + 1:]
    if not cmd:
        print(__doc__, file=sys.stderr)
        return 2
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")} if clean else dict(os.environ)
    env.update(env_set)
    use_time = have_gnu_time()
    if use_time:
        rss_via, floor = GNU_TIME, None
    else:
        floor = run_once(["true"], os.devnull, None, env, False)[1]
        rss_via = "os.wait4 (floored at %.1f MiB, the runner's own RSS)" % (floor / 1024)
    runs = []
    for n in range(repeat):
        for p in rms:
            for suf in ("", "-wal", "-shm", "-journal"):
                try:
                    os.remove(p + suf)
                except FileNotFoundError:
                    pass
        wall, rss, rc = run_once(cmd, stdout_path, stderr_path, env, use_time)
        runs.append({"wall_s": round(wall, 6), "rss_kb": rss, "rc": rc})
        print(f"  {label} run {n + 1}/{repeat}: {wall * 1000:.1f} ms, peak RSS {rss / 1024:.1f} MiB"
              + (f", exit {rc}" if rc else ""), file=sys.stderr)
    walls = [r["wall_s"] for r in runs]
    res = {"label": label, "cmd": cmd, "runs": runs, "rss_via": rss_via, "rss_floor_kb": floor,
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
