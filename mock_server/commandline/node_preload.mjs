// Loaded by `falfake env` / `falfake exec` through NODE_OPTIONS=--import: Node's fetch ignores
// HTTPS_PROXY before Node 24, and its WebSocket always does, so calls to fal's hosts are sent
// to the fake's own address instead (queue.fal.run/x -> FALFAKE_URL/queue/x). Other hosts are
// left alone. The fake answers with URLs on its own address, so later calls need nothing.
const base = process.env.FALFAKE_URL;
const SERVICES = {
  "queue.fal.run": "queue",
  "queue.falrun.com": "queue",
  "fal.run": "run",
  "falrun.com": "run",
  "rest.fal.ai": "rest",
  "rest.alpha.fal.ai": "rest",
  "v3.fal.media": "cdn",
  "v3b.fal.media": "cdn",
  "fal.media": "cdn",
};

function redirected(url, scheme) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const service = SERVICES[parsed.hostname];
  const secure = scheme === "ws" ? "wss:" : "https:";
  if (!service || parsed.protocol !== secure || (parsed.port && parsed.port !== "443")) {
    return null;
  }
  const root = new URL(base);
  root.protocol = scheme === "ws" ? root.protocol.replace("http", "ws") : root.protocol;
  return `${root.origin}/${service}${parsed.pathname}${parsed.search}`;
}

if (base) {
  const originalFetch = globalThis.fetch;
  if (originalFetch) {
    globalThis.fetch = function fetch(input, init) {
      if (input instanceof Request) {
        const target = redirected(input.url, "http");
        return originalFetch(target ? new Request(target, input) : input, init);
      }
      const target = redirected(String(input), "http");
      return originalFetch(target ?? input, init);
    };
  }
  const OriginalWebSocket = globalThis.WebSocket;
  if (OriginalWebSocket) {
    globalThis.WebSocket = class WebSocket extends OriginalWebSocket {
      constructor(url, protocols) {
        super(redirected(String(url), "ws") ?? url, protocols);
      }
    };
  }
}
