// One gateway RPC over the WebSocket (protocol 4), for test scripts. Node >= 22 (global WebSocket).
//   node ws_call.mjs <method> '<json params>'
// Prints the answer's payload (ok) or error object (not ok) as one JSON line; exit 0 / 1 (2: no answer).
// Env: OPENCLAW_GATEWAY_URL, OPENCLAW_GATEWAY_TOKEN (from `gateway.sh env`), SCOPES (comma list,
// default operator.read,operator.write,operator.admin), TIMEOUT_MS (20000).
const [method, paramsText = "{}"] = process.argv.slice(2);
if (!method) { console.error("usage: ws_call.mjs <method> '<json params>'"); process.exit(2); }
const params = JSON.parse(paramsText);
const scopes = (process.env.SCOPES ?? "operator.read,operator.write,operator.admin").split(",");
const ws = new WebSocket(process.env.OPENCLAW_GATEWAY_URL);
const timer = setTimeout(() => { console.error(`no answer to ${method}`); process.exit(2); }, Number(process.env.TIMEOUT_MS ?? 20000));
const send = (id, m, p) => ws.send(JSON.stringify({ type: "req", id, method: m, params: p }));
ws.onmessage = (ev) => {
  const f = JSON.parse(String(ev.data));
  if (f.type === "event" && f.event === "connect.challenge") {
    send("c", "connect", {
      minProtocol: 4, maxProtocol: 4, role: "operator", scopes, caps: [],
      client: { id: "cli", version: "0.0.1", platform: process.platform, mode: "cli" },
      auth: { token: process.env.OPENCLAW_GATEWAY_TOKEN }, locale: "en-US", userAgent: "clawscope-test",
    });
  } else if (f.type === "res" && f.id === "c") {
    if (!f.ok) { console.log(JSON.stringify(f.error)); process.exit(1); }
    send("m", method, params);
  } else if (f.type === "res" && f.id === "m") {
    clearTimeout(timer);
    console.log(JSON.stringify(f.ok ? f.payload : f.error));
    ws.close();
    process.exit(f.ok ? 0 : 1);
  }
};
ws.onerror = () => { console.error("cannot connect to the gateway"); process.exit(2); };
