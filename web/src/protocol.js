// The socket.io conversation with the Rasa server (bot/channels.py, ShopSocketIOInput).
//
//   client -> server  session_request {session_id: <token> | null}
//   server -> client  session_confirm "<token>"   (the socket joined its session's room; the
//                     token is "<32 hex session id>.<expires>.<signature>", new or extended)
//   client -> server  user_uttered {message, session_id: <token>, metadata}
//   server -> client  bot_uttered {text?, buttons?, custom?, image?}   (one per bot message)
//   server -> client  bot_done {}                                 (the answer is complete)
import { io } from "socket.io-client";
import { isSessionToken } from "./storage.js";

/** Connection states: "idle" (not started), "connecting", "online", "offline". */
export class Connection {
  /**
   * @param {object} options
   * @param {string} options.server  Rasa server base URL (a path prefix is kept: the
   *   socket.io endpoint is `<prefix>/socket.io`)
   * @param {() => string | null} options.getSessionToken
   * @param {(token: string) => void} options.onSession
   * @param {(state: string) => void} options.onState
   * @param {(message: object) => void} options.onBotMessage
   * @param {() => void} options.onBotDone
   */
  constructor(options) {
    this.options = options;
    this.state = "idle";
    this.socket = null;
    this.restartTimer = null;
  }

  get ready() {
    return this.state === "online";
  }

  /** Opens the socket (once); socket.io reconnects by itself after that. */
  start() {
    if (this.socket) return;
    const { origin, path } = endpoint(this.options.server);
    const socket = io(origin, {
      path,
      transports: ["websocket", "polling"],
      tryAllTransports: true, // fall back to long-polling when websockets are blocked
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10000,
      timeout: 10000,
    });
    this.socket = socket;
    this.setState("connecting");

    socket.on("connect", () => {
      // Join the conversation's room; sending waits for the confirmation.
      this.setState("connecting");
      socket.emit("session_request", { session_id: this.options.getSessionToken() });
    });
    socket.on("session_confirm", (data) => {
      const token = typeof data === "string" ? data : data?.session_id;
      if (!isSessionToken(token)) return; // not a session this server issued: stay unconfirmed
      this.options.onSession(token);
      this.setState("online");
    });
    socket.on("connect_error", () => this.setState("offline"));
    socket.on("disconnect", (reason) => {
      this.setState("offline");
      // socket.io does not reconnect by itself after a server-side disconnect.
      if (reason === "io server disconnect") this.scheduleRestart(2000);
    });
    socket.on("bot_uttered", (message) => {
      if (message && typeof message === "object") this.options.onBotMessage(message);
    });
    socket.on("bot_done", () => this.options.onBotDone());
  }

  /** Emits a user message; false (nothing sent) unless the session is confirmed. */
  send(message, metadata) {
    if (!this.ready) return false;
    this.socket.emit("user_uttered", {
      message,
      session_id: this.options.getSessionToken(),
      metadata,
    });
    return true;
  }

  /** "Retry now": drop the back-off and try to connect at once. */
  retry() {
    if (!this.socket) return this.start();
    if (this.socket.connected) return;
    clearTimeout(this.restartTimer);
    this.setState("connecting");
    this.socket.disconnect();
    this.socket.connect();
  }

  scheduleRestart(delay) {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.socket && !this.socket.connected) this.socket.connect();
    }, delay);
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.options.onState(state);
  }
}

/** `http://host:5005` -> origin + "/socket.io"; `https://shop/assistant/` -> "/assistant/socket.io". */
export function endpoint(server) {
  let url;
  try {
    url = new URL(server || "/", window.location.href);
  } catch {
    url = new URL(window.location.href);
  }
  const prefix = url.pathname.replace(/\/+$/, "");
  return { origin: url.origin, path: `${prefix}/socket.io` };
}
