#!/usr/bin/env python3
"""Compare clawscope JSON reports with ccusage's (or with a generator's ground truth).

Token counts must match exactly; costs must agree to a relative 1e-9 (ccusage sums f64 in
its own order, so the last digits drift). Nothing here is loosened to make a run pass: a
mismatch is a bug to fix in clawscope (or, once understood, in this script's mapping).

Subcommands
  claude CC_DIR LABEL=CS_DIR [LABEL=CS_DIR ...]
      CC_DIR holds ccusage `claude {daily,session,blocks[,monthly]} --json` output as
      daily.json, session.json, blocks.json[, monthly.json]; each CS_DIR holds clawscope
      `report {daily,session,blocks[,monthly]} --json -z UTC` output under the same names.
      Checks totals, entries, per-day rows (and per-model breakdowns), per-session rows
      (matched by session id), non-gap blocks (matched by start) and gap blocks.
  totals CC_DAILY LABEL=CS_DAILY [LABEL=CS_DAILY ...]
      Token totals and cost of a ccusage `claude daily` vs clawscope `report daily` outputs.
  openclaw GROUND_TRUTH DIR
      DIR holds clawscope `report {daily,session,model} --json -z UTC --source openclaw`
      output as daily.json, session.json, model.json; compares with the OpenClaw
      generator's ground_truth.json.

Every subcommand prints a PASS/FAIL table, the failures in detail, and ends with the line
`N passed, M failed`. Exit status is 1 when anything failed.
"""
import json
import os
import sys
from datetime import datetime, timezone

REL_TOL = 1e-9
MAX_DETAIL = 25  # failure details printed per check group

# ccusage field -> clawscope field
TOKEN_FIELDS = [
    ("inputTokens", "input_tokens"),
    ("outputTokens", "output_tokens"),
    ("cacheCreationTokens", "cache_write_tokens"),
    ("cacheReadTokens", "cache_read_tokens"),
    ("totalTokens", "total_tokens"),
]
BLOCK_TOKEN_FIELDS = [
    ("inputTokens", "input_tokens"),
    ("outputTokens", "output_tokens"),
    ("cacheCreationInputTokens", "cache_write_tokens"),
    ("cacheReadInputTokens", "cache_read_tokens"),
]


def cost_eq(a, b, rel=REL_TOL, abs_tol=1e-12):
    if a is None or b is None:
        return a is None and b is None
    d = abs(float(a) - float(b))
    return d <= abs_tol or d <= rel * max(abs(float(a)), abs(float(b)))


def fmt_num(x):
    if isinstance(x, float):
        return repr(x)
    return str(x)


class Checker:
    def __init__(self):
        self.groups = {}  # key -> [pass, fail, [details]]
        self.order = []

    def add(self, group, ok, detail=""):
        if group not in self.groups:
            self.groups[group] = [0, 0, []]
            self.order.append(group)
        g = self.groups[group]
        if ok:
            g[0] += 1
        else:
            g[1] += 1
            g[2].append(detail)
        return ok

    def report(self, title):
        print()
        print(title)
        w0 = max([len(g[0]) for g in self.order] + [7])
        w1 = max([len(g[1]) for g in self.order] + [6])
        w2 = max([len(g[2]) for g in self.order] + [5])
        hdr = f"{'variant':<{w0}}  {'report':<{w1}}  {'check':<{w2}}  {'pass':>6}  {'fail':>6}  result"
        print(hdr)
        print("-" * len(hdr))
        for key in self.order:
            p, f, _ = self.groups[key]
            print(f"{key[0]:<{w0}}  {key[1]:<{w1}}  {key[2]:<{w2}}  {p:>6}  {f:>6}  "
                  f"{'PASS' if f == 0 else 'FAIL'}")
        failed = [k for k in self.order if self.groups[k][1]]
        if failed:
            print()
            print("Failures:")
            for key in failed:
                _, f, det = self.groups[key]
                print(f"  [{key[0]} / {key[1]} / {key[2]}] {f} failed")
                for d in det[:MAX_DETAIL]:
                    print("    - " + d)
                if len(det) > MAX_DETAIL:
                    print(f"    ... {len(det) - MAX_DETAIL} more")
        npass = sum(g[0] for g in self.groups.values())
        nfail = sum(g[1] for g in self.groups.values())
        print()
        print(f"{npass} passed, {nfail} failed")
        return nfail == 0


def load(path):
    with open(path) as f:
        return json.load(f)


def field_diffs(cc, cs, pairs, cost_pair=None):
    """Return a list of 'field: ccusage=X clawscope=Y' strings for differing fields."""
    out = []
    for a, b in pairs:
        va, vb = cc.get(a), cs.get(b)
        if va != vb:
            out.append(f"{a}/{b}: ccusage={fmt_num(va)} clawscope={fmt_num(vb)}")
    if cost_pair:
        a, b = cost_pair
        va, vb = cc.get(a), cs.get(b)
        if not cost_eq(va, vb):
            out.append(f"{a}/{b}: ccusage={fmt_num(va)} clawscope={fmt_num(vb)}")
    return out


def named(models):
    """Model names as a set; ccusage never lists '<synthetic>' (it has no name)."""
    return set(m for m in (models or []) if m and m != "<synthetic>")


def ms_to_iso(ms):
    if ms is None:
        return None
    dt = datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (int(ms) % 1000)


def check_totals(ck, variant, report, cc_tot, cs_tot):
    for a, b in TOKEN_FIELDS:
        va, vb = cc_tot.get(a), cs_tot.get(b)
        ck.add((variant, report, "totals"), va == vb and va is not None,
               f"{a}/{b}: ccusage={fmt_num(va)} clawscope={fmt_num(vb)}")
    va, vb = cc_tot.get("totalCost"), cs_tot.get("cost_usd")
    ck.add((variant, report, "totals"), cost_eq(va, vb),
           f"totalCost/cost_usd: ccusage={fmt_num(va)} clawscope={fmt_num(vb)}")


def check_breakdowns(ck, variant, report, key, cc_row, cs_row):
    cc_b = {m["modelName"]: m for m in cc_row.get("modelBreakdowns") or []}
    cs_b = {}
    for m in cs_row.get("model_breakdown") or []:
        cs_b[m.get("model")] = m
    grp = (variant, report, "model breakdowns")
    for name, m in cc_b.items():
        c = cs_b.get(name)
        if c is None:
            ck.add(grp, False, f"{key} model {name}: missing in clawscope")
            continue
        d = field_diffs(m, c, TOKEN_FIELDS[:4], ("cost", "cost_usd"))
        ck.add(grp, not d, f"{key} model {name}: " + "; ".join(d))
    for name, c in cs_b.items():
        if name in cc_b:
            continue
        toks = sum(int(c.get(b) or 0) for _, b in TOKEN_FIELDS[:4])
        cost = float(c.get("cost_usd") or 0)
        if name in ("", None, "<synthetic>") and toks == 0 and cost == 0:
            continue  # zero-token API-error entries; ccusage lists no model for them
        ck.add(grp, False, f"{key} model {name!r}: only in clawscope "
                           f"(tokens={toks}, cost={cost!r}, entries={c.get('entries')})")


def compare_claude(cc_dir, variants):
    ck = Checker()
    cc_daily = load(os.path.join(cc_dir, "daily.json"))
    cc_sess = load(os.path.join(cc_dir, "session.json"))
    cc_blocks = load(os.path.join(cc_dir, "blocks.json"))["blocks"]
    cc_month_p = os.path.join(cc_dir, "monthly.json")
    cc_month = load(cc_month_p) if os.path.exists(cc_month_p) else None

    # ccusage prints no entry count in daily/session; the non-gap blocks count every
    # deduplicated entry (synthetic ones included) exactly once.
    cc_entries = sum(b["entries"] for b in cc_blocks if not b["isGap"])
    print(f"ccusage: {len(cc_daily['daily'])} daily rows, {len(cc_sess['sessions'])} sessions, "
          f"{sum(1 for b in cc_blocks if not b['isGap'])} blocks + "
          f"{sum(1 for b in cc_blocks if b['isGap'])} gaps, {cc_entries} deduplicated entries")

    for variant, cs_dir in variants:
        # ---------------- daily
        cs = load(os.path.join(cs_dir, "daily.json"))
        check_totals(ck, variant, "daily", cc_daily["totals"], cs["totals"])
        ck.add((variant, "daily", "entries"), cs["totals"].get("entries") == cc_entries,
               f"totals.entries: ccusage(blocks)={cc_entries} clawscope={cs['totals'].get('entries')}")
        row_sum = sum(int(r.get("entries") or 0) for r in cs["rows"])
        ck.add((variant, "daily", "entries"), row_sum == cc_entries,
               f"sum of row entries: ccusage(blocks)={cc_entries} clawscope={row_sum}")
        cc_rows = {r["date"]: r for r in cc_daily["daily"]}
        cs_rows = {r["date"]: r for r in cs["rows"]}
        only_cc = sorted(set(cc_rows) - set(cs_rows))
        only_cs = sorted(set(cs_rows) - set(cc_rows))
        ck.add((variant, "daily", "row set"), not only_cc and not only_cs,
               f"dates only in ccusage={only_cc} only in clawscope={only_cs}")
        for date in sorted(set(cc_rows) | set(cs_rows)):
            a, b = cc_rows.get(date), cs_rows.get(date)
            if a is None or b is None:
                ck.add((variant, "daily", "rows"), False,
                       f"{date}: {'missing in clawscope' if b is None else 'missing in ccusage'}")
                continue
            d = field_diffs(a, b, TOKEN_FIELDS, ("totalCost", "cost_usd"))
            if named(a.get("modelsUsed")) != named(b.get("models")):
                d.append(f"models: ccusage={sorted(named(a.get('modelsUsed')))} "
                         f"clawscope={sorted(named(b.get('models')))}")
            ck.add((variant, "daily", "rows"), not d, f"{date}: " + "; ".join(d))
            check_breakdowns(ck, variant, "daily", date, a, b)

        # ---------------- session
        cs = load(os.path.join(cs_dir, "session.json"))
        check_totals(ck, variant, "session", cc_sess["totals"], cs["totals"])
        ck.add((variant, "session", "entries"), cs["totals"].get("entries") == cc_entries,
               f"totals.entries: ccusage(blocks)={cc_entries} clawscope={cs['totals'].get('entries')}")
        cc_rows = {r["sessionId"]: r for r in cc_sess["sessions"]}
        cs_rows = {}
        dup_keys = []
        for r in cs["rows"]:
            k = r.get("session_key")
            if k in cs_rows:
                dup_keys.append(k)
            cs_rows[k] = r
        ck.add((variant, "session", "row set"),
               set(cc_rows) == set(cs_rows) and not dup_keys and len(cs["rows"]) == len(cc_rows),
               f"ccusage {len(cc_rows)} rows, clawscope {len(cs['rows'])} rows; "
               f"only in ccusage={sorted(set(cc_rows) - set(cs_rows))[:10]} "
               f"only in clawscope={sorted(set(cs_rows) - set(cc_rows))[:10]} duplicate keys={dup_keys[:10]}")
        for sid in sorted(set(cc_rows) | set(cs_rows)):
            a, b = cc_rows.get(sid), cs_rows.get(sid)
            if a is None or b is None:
                ck.add((variant, "session", "rows"), False,
                       f"{sid}: {'missing in clawscope' if b is None else 'missing in ccusage'}")
                continue
            d = field_diffs(a, b, TOKEN_FIELDS, ("totalCost", "cost_usd"))
            if a.get("projectPath") != b.get("project"):
                d.append(f"project: ccusage={a.get('projectPath')} clawscope={b.get('project')}")
            fa, la = ms_to_iso(b.get("first_ms")), ms_to_iso(b.get("last_ms"))
            if a.get("firstActivity") != fa:
                d.append(f"firstActivity: ccusage={a.get('firstActivity')} clawscope={fa}")
            if a.get("lastActivity") != la:
                d.append(f"lastActivity: ccusage={a.get('lastActivity')} clawscope={la}")
            if named(a.get("modelsUsed")) != named(b.get("models")):
                d.append(f"models: ccusage={sorted(named(a.get('modelsUsed')))} "
                         f"clawscope={sorted(named(b.get('models')))}")
            ck.add((variant, "session", "rows"), not d, f"{sid}: " + "; ".join(d))

        # ---------------- blocks
        cs = load(os.path.join(cs_dir, "blocks.json"))
        cc_ng = [b for b in cc_blocks if not b["isGap"]]
        cs_ng = [b for b in cs["rows"] if not b.get("is_gap")]
        # sums over non-gap blocks (ccusage prints no totals for blocks)
        for a, b in BLOCK_TOKEN_FIELDS:
            sa = sum(x["tokenCounts"][a] for x in cc_ng)
            sb = sum(int(x.get(b) or 0) for x in cs_ng)
            ck.add((variant, "blocks", "sums"), sa == sb, f"sum {a}/{b}: ccusage={sa} clawscope={sb}")
        sa, sb = sum(x["totalTokens"] for x in cc_ng), sum(int(x.get("total_tokens") or 0) for x in cs_ng)
        ck.add((variant, "blocks", "sums"), sa == sb, f"sum totalTokens: ccusage={sa} clawscope={sb}")
        sa, sb = sum(x["entries"] for x in cc_ng), sum(int(x.get("entries") or 0) for x in cs_ng)
        ck.add((variant, "blocks", "sums"), sa == sb, f"sum entries: ccusage={sa} clawscope={sb}")
        sa, sb = sum(x["costUSD"] for x in cc_ng), sum(float(x.get("cost_usd") or 0) for x in cs_ng)
        ck.add((variant, "blocks", "sums"), cost_eq(sa, sb), f"sum cost: ccusage={sa!r} clawscope={sb!r}")
        if "totals" in cs:
            t = cs["totals"]
            d = []
            for a, b in BLOCK_TOKEN_FIELDS:
                s = sum(x["tokenCounts"][a] for x in cc_ng)
                if t.get(b) != s:
                    d.append(f"{b}: ccusage(sum)={s} clawscope={t.get(b)}")
            if t.get("entries") != cc_entries:
                d.append(f"entries: ccusage={cc_entries} clawscope={t.get('entries')}")
            ck.add((variant, "blocks", "totals"), not d, "; ".join(d))
        cc_by = {b["startTime"]: b for b in cc_ng}
        cs_by = {}
        for b in cs_ng:
            cs_by.setdefault(b.get("start"), b)
        only_cc = sorted(set(cc_by) - set(cs_by))
        only_cs = sorted(set(cs_by) - set(cc_by))
        ck.add((variant, "blocks", "block set"),
               not only_cc and not only_cs and len(cs_ng) == len(cc_ng),
               f"ccusage {len(cc_ng)} blocks, clawscope {len(cs_ng)}; only in ccusage={only_cc[:10]} "
               f"only in clawscope={only_cs[:10]}")
        for start in sorted(set(cc_by) | set(cs_by)):
            a, b = cc_by.get(start), cs_by.get(start)
            if a is None or b is None:
                ck.add((variant, "blocks", "blocks"), False,
                       f"{start}: {'missing in clawscope' if b is None else 'missing in ccusage'}"
                       + (f" (clawscope entries={b.get('entries')}, tokens={b.get('total_tokens')})" if b else
                          f" (ccusage entries={a.get('entries')}, tokens={a.get('totalTokens')})"))
                continue
            d = []
            for fa, fb in (("id", "id"), ("endTime", "end"), ("actualEndTime", "actual_end"),
                           ("entries", "entries"), ("totalTokens", "total_tokens"),
                           ("isActive", "is_active")):
                if a.get(fa) != b.get(fb):
                    d.append(f"{fa}/{fb}: ccusage={fmt_num(a.get(fa))} clawscope={fmt_num(b.get(fb))}")
            for fa, fb in BLOCK_TOKEN_FIELDS:
                if a["tokenCounts"].get(fa) != b.get(fb):
                    d.append(f"{fa}/{fb}: ccusage={a['tokenCounts'].get(fa)} clawscope={b.get(fb)}")
            if not cost_eq(a.get("costUSD"), b.get("cost_usd")):
                d.append(f"costUSD/cost_usd: ccusage={a.get('costUSD')!r} clawscope={b.get('cost_usd')!r}")
            if named(a.get("models")) != named(b.get("models")):
                d.append(f"models: ccusage={sorted(named(a.get('models')))} "
                         f"clawscope={sorted(named(b.get('models')))}")
            ck.add((variant, "blocks", "blocks"), not d, f"{start}: " + "; ".join(d))
        cc_g = {b["startTime"]: b for b in cc_blocks if b["isGap"]}
        cs_g = {b.get("start"): b for b in cs["rows"] if b.get("is_gap")}
        ck.add((variant, "blocks", "gap set"), set(cc_g) == set(cs_g),
               f"ccusage {len(cc_g)} gaps, clawscope {len(cs_g)}; only in ccusage="
               f"{sorted(set(cc_g) - set(cs_g))[:10]} only in clawscope={sorted(set(cs_g) - set(cc_g))[:10]}")
        for start in sorted(set(cc_g) & set(cs_g)):
            a, b = cc_g[start], cs_g[start]
            d = []
            for fa, fb in (("id", "id"), ("endTime", "end"), ("entries", "entries"),
                           ("totalTokens", "total_tokens")):
                if a.get(fa) != b.get(fb):
                    d.append(f"{fa}/{fb}: ccusage={a.get(fa)} clawscope={b.get(fb)}")
            ck.add((variant, "blocks", "gaps"), not d, f"gap {start}: " + "; ".join(d))
        # order: the same sequence of blocks and gaps as ccusage (a gap can start after the
        # rounded-down start of the block that follows it, so this is not a plain sort)
        cs_order = [b.get("start") for b in cs["rows"]]
        cc_order = [b["startTime"] for b in cc_blocks]
        if sorted(cs_order, key=str) == sorted(cc_order, key=str):
            first = next((i for i, (x, y) in enumerate(zip(cc_order, cs_order)) if x != y), None)
            ck.add((variant, "blocks", "order"), cs_order == cc_order,
                   f"{sum(1 for x, y in zip(cc_order, cs_order) if x != y)} of {len(cc_order)} positions "
                   f"differ; ccusage lists blocks and gaps sorted by startTime; first difference at "
                   f"position {first}: ccusage={cc_order[first]} clawscope={cs_order[first]}"
                   if first is not None else "")

        # ---------------- monthly (when both sides have it)
        mp = os.path.join(cs_dir, "monthly.json")
        if cc_month is not None and os.path.exists(mp):
            cs = load(mp)
            check_totals(ck, variant, "monthly", cc_month["totals"], cs["totals"])
            cc_rows = {r["month"]: r for r in cc_month["monthly"]}
            cs_rows = {r["month"]: r for r in cs["rows"]}
            ck.add((variant, "monthly", "row set"), set(cc_rows) == set(cs_rows),
                   f"months ccusage={sorted(cc_rows)} clawscope={sorted(cs_rows)}")
            for m in sorted(set(cc_rows) & set(cs_rows)):
                d = field_diffs(cc_rows[m], cs_rows[m], TOKEN_FIELDS, ("totalCost", "cost_usd"))
                ck.add((variant, "monthly", "rows"), not d, f"{m}: " + "; ".join(d))
    return ck.report("ccusage parity (tokens exact, cost rel 1e-9)")


def compare_totals(cc_path, variants):
    ck = Checker()
    cc = load(cc_path)["totals"]
    for label, path in variants:
        check_totals(ck, label, "daily", cc, load(path)["totals"])
    return ck.report("daily token totals: ccusage vs clawscope")


def compare_openclaw(gt_path, cs_dir):
    ck = Checker()
    gt = load(gt_path)
    pairs = [("input", "input_tokens"), ("output", "output_tokens"), ("cacheRead", "cache_read_tokens"),
             ("cacheWrite", "cache_write_tokens"), ("totalTokens", "total_tokens")]
    # ground_truth.json rounds the cost totals to 6 decimals; per-session and per-model
    # costs are unrounded sums.
    def cost6(a, b):
        return abs(float(a) - float(b)) <= 5.01e-7 + REL_TOL * abs(float(a))

    daily = load(os.path.join(cs_dir, "daily.json"))
    t = daily["totals"]
    for a, b in pairs:
        ck.add(("openclaw", "daily", "totals"), gt[a] == t.get(b),
               f"{a}/{b}: ground_truth={gt[a]} clawscope={t.get(b)}")
    ck.add(("openclaw", "daily", "totals"), cost6(gt["cost_total"], t.get("cost_usd")),
           f"cost_total/cost_usd: ground_truth={gt['cost_total']!r} clawscope={t.get('cost_usd')!r}")
    ck.add(("openclaw", "daily", "totals"), gt["assistant_messages"] == t.get("entries"),
           f"assistant_messages/entries: ground_truth={gt['assistant_messages']} clawscope={t.get('entries')}")
    by_day = gt.get("by_day_cost", {})
    rows = {r["date"]: r for r in daily["rows"]}
    ck.add(("openclaw", "daily", "row set"), set(by_day) == set(rows),
           f"days only in ground truth={sorted(set(by_day) - set(rows))} "
           f"only in clawscope={sorted(set(rows) - set(by_day))}")
    for day in sorted(set(by_day) & set(rows)):
        ck.add(("openclaw", "daily", "cost per day"), cost6(by_day[day], rows[day].get("cost_usd")),
               f"{day}: ground_truth={by_day[day]!r} clawscope={rows[day].get('cost_usd')!r}")

    sess = load(os.path.join(cs_dir, "session.json"))
    ps = gt.get("per_session", {})
    rows = {}
    for r in sess["rows"]:
        rows[r.get("session_id")] = r
    ck.add(("openclaw", "session", "row set"), set(ps) == set(rows),
           f"ground truth {len(ps)} sessions, clawscope {len(rows)}; only in ground truth="
           f"{sorted(set(ps) - set(rows))[:10]} only in clawscope={sorted(set(rows) - set(ps))[:10]}")
    for sid in sorted(set(ps) & set(rows)):
        g, r = ps[sid], rows[sid]
        d = []
        if g["tokens"] != r.get("total_tokens"):
            d.append(f"tokens: ground_truth={g['tokens']} clawscope={r.get('total_tokens')}")
        if not cost_eq(g["cost"], r.get("cost_usd"), rel=1e-9, abs_tol=1e-9):
            d.append(f"cost: ground_truth={g['cost']!r} clawscope={r.get('cost_usd')!r}")
        if g["assistant"] != r.get("assistant_messages", r.get("entries")):
            d.append(f"assistant: ground_truth={g['assistant']} clawscope={r.get('assistant_messages')}")
        ck.add(("openclaw", "session", "rows"), not d, f"{sid}: " + "; ".join(d))

    model = load(os.path.join(cs_dir, "model.json"))
    bm = gt.get("by_model", {})
    rows = {r.get("model"): r for r in model["rows"]}
    ck.add(("openclaw", "model", "row set"), set(bm) == set(rows),
           f"models ground truth={sorted(bm)} clawscope={sorted(k or '' for k in rows)}")
    for m in sorted(set(bm) & set(rows)):
        g, r = bm[m], rows[m]
        d = [f"{a}/{b}: ground_truth={g[a]} clawscope={r.get(b)}" for a, b in pairs if g[a] != r.get(b)]
        if g["calls"] != r.get("entries"):
            d.append(f"calls/entries: ground_truth={g['calls']} clawscope={r.get('entries')}")
        if not cost_eq(g["cost"], r.get("cost_usd"), rel=1e-9, abs_tol=1e-9):
            d.append(f"cost: ground_truth={g['cost']!r} clawscope={r.get('cost_usd')!r}")
        ck.add(("openclaw", "model", "rows"), not d, f"{m}: " + "; ".join(d))
    return ck.report("OpenClaw import vs generator ground truth (tokens exact)")


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    cmd = argv[1]
    if cmd == "claude" and len(argv) >= 4:
        ok = compare_claude(argv[2], [tuple(v.split("=", 1)) for v in argv[3:]])
    elif cmd == "totals" and len(argv) >= 4:
        ok = compare_totals(argv[2], [tuple(v.split("=", 1)) for v in argv[3:]])
    elif cmd == "openclaw" and len(argv) == 4:
        ok = compare_openclaw(argv[2], argv[3])
    else:
        print(__doc__)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
