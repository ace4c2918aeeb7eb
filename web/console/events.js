// The live stream (GET /api/events): "queue" and "message" events; the browser
// reconnects on its own, and a stream refused with 401 sends us to the login page.

export function connect({ onQueue, onMessage, onStatus }) {
  let source;
  const open = () => {
    source = new EventSource("/api/events");
    source.addEventListener("open", () => onStatus("Live"));
    source.addEventListener("queue", (e) => onQueue(JSON.parse(e.data)));
    source.addEventListener("message", (e) => onMessage(JSON.parse(e.data)));
    source.addEventListener("session", () => { source.close(); window.location.assign("/login"); });
    source.addEventListener("error", async () => {
      onStatus("Reconnecting…");
      if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      const me = await fetch("/api/me", { credentials: "same-origin" }).catch(() => null);
      if (me && me.status === 401) window.location.assign("/login");
      else setTimeout(open, 3000);
    });
  };
  open();
  return () => source.close();
}
