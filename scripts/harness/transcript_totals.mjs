// Independent per-session-key token totals straight from a gateway's stores, for
// comparing with what clawscope stored. Reads every agent DB read-only with Node's
// built-in SQLite, decodes zstd rows with Node's zlib (Node >= 22.15).
//
//   node transcript_totals.mjs <state_dir>   -> JSON {sessionKey: {input, output, cacheRead, cacheWrite, assistant}}
import { DatabaseSync } from "node:sqlite";
import { zstdDecompressSync } from "node:zlib";
import { readdirSync, existsSync } from "node:fs";
import { join } from "node:path";

const stateDir = process.argv[2];
if (!stateDir) {
  console.error("usage: node transcript_totals.mjs <state_dir>");
  process.exit(2);
}
const totals = {};
for (const agent of readdirSync(join(stateDir, "agents"))) {
  const path = join(stateDir, "agents", agent, "agent", "openclaw-agent.sqlite");
  if (!existsSync(path)) continue;
  const db = new DatabaseSync(path, { readOnly: true });
  const keyOf = new Map(db.prepare("SELECT session_id, session_key FROM session_windows").all().map((r) => [r.session_id, r.session_key]));
  for (const r of db.prepare("SELECT session_id, event_json, event_zstd FROM transcript_events ORDER BY session_id, seq").all()) {
    const text = r.event_json != null ? r.event_json : zstdDecompressSync(Buffer.from(r.event_zstd)).toString("utf8");
    let e;
    try { e = JSON.parse(text); } catch { continue; }
    const m = e.type === "message" ? e.message : null;
    if (!m || m.role !== "assistant" || !m.usage) continue;
    const key = keyOf.get(r.session_id) ?? r.session_id;
    const t = (totals[key] ??= { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, assistant: 0 });
    t.input += m.usage.input ?? 0;
    t.output += m.usage.output ?? 0;
    t.cacheRead += m.usage.cacheRead ?? 0;
    t.cacheWrite += m.usage.cacheWrite ?? 0;
    t.assistant += 1;
  }
  db.close();
}
console.log(JSON.stringify(totals));
