// A graphql-ws subscriber for the tests of cmd/amparo: it connects to URL
// (ws://host/graphql) with the bearer TOKEN in connection_init, subscribes
// to `alerts`, and prints one JSON line per event on stdout:
//   {"event":"connected"}
//   {"event":"next","alert":{...},"receivedAt":"<RFC 3339 ms>"}
//   {"event":"error","errors":[...]}
//   {"event":"closed","code":4403,"reason":"Forbidden"}
// It exits when the connection closes, when stdin closes, or on SIGTERM.
// Usage: node subscribe.mjs URL TOKEN [ORIGIN]; AMPARO_WS_QUERY, when set,
// is the operation sent instead.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, origin] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

class OriginWebSocket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, origin ? { origin } : {});
  }
}

const client = createClient({
  url,
  webSocketImpl: OriginWebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  lazy: false,
  retryAttempts: 0,
  keepAlive: 0,
  on: {
    connected: () => out({ event: "connected" }),
    closed: (e) => {
      out({ event: "closed", code: e?.code ?? 0, reason: e?.reason ?? "" });
      process.exit(0);
    },
  },
});

client.subscribe(
  { query: process.env.AMPARO_WS_QUERY || "subscription { alerts { id kind at caseId complaintId referralId urgency read } }" },
  {
    next: (r) => {
      if (r.errors) out({ event: "error", errors: r.errors });
      else out({ event: "next", alert: r.data.alerts, receivedAt: new Date().toISOString() });
    },
    error: (e) => out({ event: "error", errors: Array.isArray(e) ? e : [{ message: String(e?.reason ?? e?.message ?? e) }] }),
    complete: () => out({ event: "complete" }),
  },
);

const stop = () => {
  client.dispose();
  process.exit(0);
};
process.stdin.on("end", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
