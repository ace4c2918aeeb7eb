// The widget: launcher, dialog panel, transcript, composer; wires the socket.io
// connection (protocol.js) to the DOM (render.js) and to localStorage (storage.js).
import css from "./styles.css";
import { h, icon } from "./dom.js";
import { Connection } from "./protocol.js";
import { renderMessage } from "./render.js";
import * as storage from "./storage.js";

const MAX_CHARS = 2000;
const TYPING_TIMEOUT_MS = 60_000;
const DUPLICATE_WINDOW_MS = 10_000;

export class Widget {
  constructor(config) {
    this.config = config;
    this.messages = [];
    this.ownIds = new Set(); // messages this tab added (another tab may share the transcript)
    this.sessionToken = storage.loadSessionToken(); // null: the server starts a session
    this.pendingSubmit = false; // the shopper pressed Send while the socket was still connecting
    this.outbox = []; // chips/card buttons pressed while connecting
    this.pendingRestart = false;
    this.wasOffline = false;
    this.typingTimer = null;
    this.answered = false;
    this.connection = new Connection({
      server: config.server,
      getSessionToken: () => this.sessionToken,
      onSession: (token) => {
        this.sessionToken = token;
        storage.saveSessionToken(token);
      },
      onState: (state) => this.onConnectionState(state),
      onBotMessage: (message) => this.onBotMessage(message),
      onBotDone: () => this.hideTyping(),
    });
  }

  /** The conversation's session id (32 hex, also the cart's key), or null before the
   * server issued one. */
  get sessionId() {
    return storage.sessionIdOf(this.sessionToken);
  }

  mount() {
    const host = document.createElement("shop-assistant");
    const root = host.attachShadow({ mode: "open" });
    root.append(h("style", { text: css }), this.build());
    document.body.append(host);
    this.host = host;

    this.messages = storage.loadTranscript();
    if (!this.messages.length) this.addGreeting();
    this.renderAll();

    const stored = storage.loadOpen();
    if (stored ?? this.config.open) this.open({ focus: false });

    window.addEventListener("storage", (event) => {
      if (event.key === storage.KEYS.transcript || event.key === null) this.syncFromStorage();
    });
    return this;
  }

  build() {
    const { title } = this.config;
    this.launcher = h(
      "button",
      {
        type: "button",
        class: "sa-launcher",
        "data-testid": "sa-launcher",
        "aria-label": `Open ${title}`,
        "aria-expanded": "false",
        "aria-controls": "sa-panel",
        onclick: () => (this.isOpen ? this.close({ restoreFocus: true }) : this.open()),
      },
      icon("chat"),
    );
    this.badge = h("span", { class: "sa-badge", hidden: true });
    this.launcher.append(this.badge);

    this.newButton = h(
      "button",
      {
        type: "button",
        class: "sa-icon-btn",
        "data-testid": "sa-new",
        "aria-label": "New conversation",
        title: "New conversation",
        onclick: () => this.newConversation(),
      },
      icon("restart"),
    );
    const closeButton = h(
      "button",
      {
        type: "button",
        class: "sa-icon-btn",
        "data-testid": "sa-close",
        "aria-label": "Close",
        title: "Close",
        onclick: () => this.close({ restoreFocus: true }),
      },
      icon("close"),
    );

    this.offline = h(
      "div",
      { class: "sa-offline", "data-testid": "sa-offline", role: "alert", hidden: true },
      h("span", { class: "sa-offline-text", text: "Can't reach the assistant. Reconnecting…" }),
      h("button", { type: "button", "data-testid": "sa-retry", text: "Retry now", onclick: () => this.connection.retry() }),
    );

    this.log = h("div", {
      class: "sa-log",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions",
      "aria-label": "Conversation",
      "data-testid": "sa-log",
    });
    this.typing = h(
      "div",
      { class: "sa-typing", "data-testid": "sa-typing", role: "status", "aria-label": "Assistant is typing", hidden: true },
      h("span"),
      h("span"),
      h("span"),
    );
    this.slowNote = h("p", {
      class: "sa-note",
      "data-testid": "sa-slow",
      role: "status",
      hidden: true,
      text: "This is taking longer than usual. The answer will appear here when it's ready.",
    });
    this.scroller = h("div", { class: "sa-scroll" }, this.log, this.typing, this.slowNote);

    this.input = h("textarea", {
      id: "sa-input",
      class: "sa-input",
      "data-testid": "sa-input",
      rows: "1",
      maxlength: String(MAX_CHARS),
      placeholder: "Type a message…",
      autocomplete: "off",
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => this.autosize());
    this.sendButton = h("button", { type: "submit", class: "sa-send", "data-testid": "sa-send", text: "Send" });
    const composer = h(
      "form",
      {
        class: "sa-composer",
        onsubmit: (event) => {
          event.preventDefault();
          this.submit();
        },
      },
      h("label", { for: "sa-input", class: "sa-visually-hidden", text: "Message" }),
      this.input,
      this.sendButton,
    );

    this.panel = h(
      "div",
      {
        id: "sa-panel",
        class: "sa-panel",
        role: "dialog",
        "aria-label": title,
        "data-testid": "sa-panel",
        hidden: true,
      },
      h("div", { class: "sa-header" }, h("h2", { class: "sa-title", text: title }), this.newButton, closeButton),
      this.offline,
      this.scroller,
      composer,
    );
    const rootEl = h("div", { class: "sa-root" }, this.panel, this.launcher);
    rootEl.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen) {
        event.stopPropagation();
        this.close({ restoreFocus: true });
      }
    });
    if (this.config.primaryColor) rootEl.style.setProperty("--sa-primary", this.config.primaryColor);
    if (this.config.textColor) rootEl.style.setProperty("--sa-on-primary", this.config.textColor);
    return rootEl;
  }

  // --- open / close ------------------------------------------------------------------

  get isOpen() {
    return !this.panel.hidden;
  }

  open({ focus = true } = {}) {
    this.connection.start();
    if (!this.isOpen) {
      this.panel.hidden = false;
      this.launcher.setAttribute("aria-expanded", "true");
      this.launcher.setAttribute("aria-label", `Close ${this.config.title}`);
      this.badge.hidden = true;
      storage.saveOpen(true);
      this.scrollToEnd();
    }
    if (focus) this.input.focus();
  }

  close({ restoreFocus = false } = {}) {
    if (this.isOpen) {
      this.panel.hidden = true;
      this.launcher.setAttribute("aria-expanded", "false");
      this.launcher.setAttribute("aria-label", `Open ${this.config.title}`);
      storage.saveOpen(false);
    }
    if (restoreFocus) this.launcher.focus();
  }

  // --- sending -----------------------------------------------------------------------

  /** Sends what is in the input; keeps it there when it cannot be sent now. */
  submit() {
    const text = this.input.value.trim().slice(0, MAX_CHARS);
    if (!text) return false;
    if (this.connection.ready) {
      this.pendingSubmit = false;
      this.connection.send(text, this.metadata());
      this.input.value = "";
      this.autosize();
      this.addMessage({ role: "user", text });
      this.showTyping();
      return true;
    }
    if (this.connection.state !== "offline") {
      this.pendingSubmit = true; // goes out as soon as the session is confirmed
      this.connection.start();
    }
    return false;
  }

  /** The API's send(): the text goes through the input, so it is never lost. */
  sendText(text) {
    this.open({ focus: false });
    this.input.value = String(text ?? "").slice(0, MAX_CHARS);
    this.autosize();
    return this.submit();
  }

  /** A quick reply or card button: sends `payload`, shows `display` as the shopper's bubble. */
  sendPayload(payload, display) {
    if (this.connection.ready) {
      this.connection.send(payload, this.metadata());
      this.addMessage({ role: "user", text: display });
      this.showTyping();
      return true;
    }
    if (this.connection.state !== "offline") {
      this.outbox.push({ payload, display });
      this.connection.start();
    } else {
      this.offline.querySelector("button")?.focus();
    }
    return false;
  }

  newConversation() {
    this.messages = [];
    storage.clearTranscript();
    this.hideTyping();
    this.slowNote.hidden = true;
    this.outbox = [];
    // /restart keeps the session id, so the shopper's cart (tied to it) survives.
    if (!this.connection.send("/restart", this.metadata())) {
      this.pendingRestart = true;
      this.connection.start();
    }
    this.addGreeting();
    this.renderAll();
    if (this.isOpen) this.input.focus();
  }

  metadata() {
    const meta = { page_url: window.location.href, locale: navigator.language };
    const { customerId, customerSig } = this.config;
    if (customerId && customerSig) {
      meta.customer_id = customerId;
      meta.customer_sig = customerSig;
    }
    return meta;
  }

  // --- connection --------------------------------------------------------------------

  onConnectionState(state) {
    if (state === "offline") this.wasOffline = true;
    if (state === "online") this.wasOffline = false;
    const offline = state === "offline" || (state === "connecting" && this.wasOffline);
    this.offline.hidden = !offline;
    this.sendButton.disabled = offline;
    this.sendButton.title = offline ? "Can't send while offline" : "";
    this.panel.toggleAttribute("data-offline", offline);

    if (state === "offline") {
      this.pendingSubmit = false; // the text stays in the input
      this.outbox = [];
      this.hideTyping();
    }
    if (state === "online") {
      if (this.pendingRestart) {
        this.pendingRestart = false;
        this.connection.send("/restart", this.metadata());
      }
      const outbox = this.outbox;
      this.outbox = [];
      for (const { payload, display } of outbox) this.sendPayload(payload, display);
      if (this.pendingSubmit) this.submit();
    }
  }

  onBotMessage(raw) {
    const message = normalizeBotMessage(raw);
    if (message.custom?.type === "cart") {
      window.dispatchEvent(new CustomEvent("shop-assistant:cart", { detail: message.custom }));
    }
    this.slowNote.hidden = true;
    if (!this.typing.hidden) {
      this.answered = true;
      this.startTypingTimer();
    }
    this.addMessage(message);
    if (!this.isOpen) this.badge.hidden = false;
  }

  showTyping() {
    this.answered = false;
    this.slowNote.hidden = true;
    this.typing.hidden = false;
    this.startTypingTimer();
    this.scrollToEnd();
  }

  startTypingTimer() {
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => {
      const answered = this.answered;
      this.hideTyping();
      if (!answered) {
        this.slowNote.hidden = false;
        this.scrollToEnd();
      }
    }, TYPING_TIMEOUT_MS);
  }

  hideTyping() {
    clearTimeout(this.typingTimer);
    this.typingTimer = null;
    this.typing.hidden = true;
  }

  // --- transcript --------------------------------------------------------------------

  addGreeting() {
    const text = this.config.greeting;
    if (text) this.addMessage({ role: "bot", text, local: true }, { render: false });
  }

  addMessage(message, { render = true } = {}) {
    const entry = { id: newId(), ts: Date.now(), ...message };
    // Another tab of the same session may have stored this very bot message already.
    const stored = storage.loadTranscript();
    if (!sameIds(stored, this.messages)) {
      this.messages = stored;
      if (render) this.renderAll();
    }
    if (entry.role === "bot" && this.isDuplicate(entry)) return;

    this.messages.push(entry);
    this.ownIds.add(entry.id);
    if (this.messages.length > storage.MAX_MESSAGES) {
      this.messages = this.messages.slice(-storage.MAX_MESSAGES);
      if (render) this.log.firstElementChild?.remove();
    }
    storage.saveTranscript(this.messages);
    if (!render) return;
    for (const chip of this.log.querySelectorAll(".sa-chip, .sa-star")) chip.disabled = true;
    this.log.append(renderMessage(entry, this.renderContext(true)));
    this.scrollToEnd();
  }

  isDuplicate(entry) {
    const print = fingerprint(entry);
    this.claimed ??= new Set();
    const match = this.messages.find(
      (m) =>
        m.role === "bot" &&
        !this.ownIds.has(m.id) &&
        !this.claimed.has(m.id) &&
        Math.abs(m.ts - entry.ts) < DUPLICATE_WINDOW_MS &&
        fingerprint(m) === print,
    );
    if (!match) return false;
    this.claimed.add(match.id);
    return true;
  }

  syncFromStorage() {
    const stored = storage.loadTranscript();
    if (sameIds(stored, this.messages)) return;
    this.messages = stored;
    if (!this.messages.length) this.addGreeting();
    this.renderAll();
  }

  renderAll() {
    const last = this.messages.length - 1;
    this.log.replaceChildren(...this.messages.map((m, i) => renderMessage(m, this.renderContext(i === last))));
    this.scrollToEnd();
  }

  renderContext(chipsEnabled) {
    return {
      chipsEnabled,
      checkoutUrl: this.config.checkoutUrl,
      sendPayload: (payload, display) => this.sendPayload(payload, display),
    };
  }

  scrollToEnd() {
    if (this.isOpen) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  autosize() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight + 2, 140)}px`;
  }
}

/** One `bot_uttered` payload as a transcript entry (also accepts Rasa's stock shapes). */
export function normalizeBotMessage(raw) {
  const message = { role: "bot" };
  if (typeof raw.text === "string") message.text = raw.text;
  const buttons = Array.isArray(raw.buttons) ? raw.buttons : Array.isArray(raw.quick_replies) ? raw.quick_replies : [];
  const cleaned = buttons
    .filter((b) => b && typeof b === "object" && b.payload !== undefined && b.payload !== null)
    .map((b) => ({ title: String(b.title ?? b.payload), payload: String(b.payload) }));
  if (cleaned.length) message.buttons = cleaned;
  if (raw.custom && typeof raw.custom === "object") message.custom = raw.custom;
  const image = typeof raw.image === "string" ? raw.image : raw.attachment?.type === "image" ? raw.attachment?.payload?.src : null;
  if (typeof image === "string") message.image = image;
  if (typeof raw.agent_name === "string" && raw.agent_name.trim()) message.agent_name = raw.agent_name.slice(0, 120);
  return message;
}

function fingerprint(m) {
  return JSON.stringify([m.text ?? null, m.buttons ?? null, m.custom ?? null, m.image ?? null]);
}

function sameIds(a, b) {
  return a.length === b.length && a.every((m, i) => m.id === b[i].id);
}

function newId() {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}
