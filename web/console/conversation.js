// One conversation: header and actions, live transcript, summary, suggested replies,
// composer; the customer panel comes from panel.js.
import { api, post } from "./api.js";
import { badge, byTestId, el, formatTime } from "./dom.js";
import { renderPanel } from "./panel.js";

const OPEN = new Set(["queued", "active", "awaiting_ticket"]);
const AUTHOR = { shopper: "Shopper", agent: "Agent", bot: "Bot", system: "System" };

export function createConversation({ me, onChanged }) {
  const section = byTestId("cn-conversation");
  const title = section.querySelector("#conv-title");
  const transcriptList = byTestId("cn-transcript");
  const summary = byTestId("cn-summary");
  const suggestionList = byTestId("cn-suggestions");
  const composer = byTestId("cn-composer");
  const notice = byTestId("cn-notice");
  const buttons = { accept: byTestId("cn-accept"), handback: byTestId("cn-handback"), close: byTestId("cn-close") };
  let handoff = null;
  let seen = new Map(); // message id -> <li>
  let suggestions = []; // {key, text, source, acted}
  let inserted = null;

  const say = (text) => { notice.textContent = text || ""; };

  function canWrite() {
    return !!handoff && handoff.status === "active" && (handoff.assigned_to === me.id || me.role !== "agent");
  }

  function updateControls() {
    const status = handoff?.status;
    buttons.accept.disabled = !(status === "queued" || status === "awaiting_ticket");
    buttons.handback.disabled = !(status === "queued" || status === "active");
    buttons.close.disabled = !OPEN.has(status);
    const writable = canWrite();
    section.querySelectorAll("[data-testid=cn-send],[data-testid=cn-insert]").forEach((b) => { b.disabled = !writable; });
    document.querySelectorAll("[data-testid=cn-send-card],[data-testid=cn-send-offer]").forEach((b) => { b.disabled = !writable; });
    composer.disabled = !writable;
    const badges = byTestId("cn-conv-badges");
    badges.replaceChildren(...(handoff ? [badge(handoff.team), badge(handoff.reason, `reason-${handoff.reason}`),
      badge(handoff.status.replace("_", " "), `status-${handoff.status}`)] : []));
  }

  function messageNode(m) {
    const meta = [AUTHOR[m.author] ?? m.author, m.agent_name, formatTime(m.at)].filter(Boolean).join(" · ");
    return el("li", { class: "msg", "data-testid": "cn-msg", "data-author": m.author, "data-message-id": m.id },
      el("span", { class: "meta", text: meta }),
      el("span", { class: "text", text: m.text }),
      m.author === "agent" && !m.delivered ? el("span", { class: "meta undelivered", text: "not delivered yet" }) : null);
  }

  function addMessage(m) {
    const node = messageNode(m);
    const old = seen.get(m.id);
    if (old) old.replaceWith(node);
    else transcriptList.append(node);
    seen.set(m.id, node);
    transcriptList.scrollTop = transcriptList.scrollHeight;
  }

  function logSuggestion(s, event) {
    s.acted = true;
    post(`/api/suggestions/${encodeURIComponent(s.key)}/events`,
      { handoff_id: handoff.id, event, text: s.text, source: s.source }).catch(() => {});
  }

  function leave() {
    if (handoff) suggestions.filter((s) => !s.acted).forEach((s) => logSuggestion(s, "ignored"));
    suggestions = [];
    inserted = null;
  }

  function renderSuggestions(items) {
    suggestions = items.map((s) => ({ ...s, acted: false }));
    suggestionList.replaceChildren(...suggestions.map((s) => el("li", { class: "suggestion", "data-testid": "cn-suggestion" },
      el("span", { text: s.text }),
      el("button", { type: "button", "data-testid": "cn-insert", "aria-label": `Insert suggested reply: ${s.text}`,
        onclick: () => { composer.value = s.text; inserted = s; composer.focus(); } }, "Insert"))));
    if (!suggestions.length) suggestionList.replaceChildren(el("li", { text: "No suggestions." }));
    suggestions.forEach((s) => post(`/api/suggestions/${encodeURIComponent(s.key)}/events`,
      { handoff_id: handoff.id, event: "shown", text: s.text, source: s.source }).catch(() => {}));
    updateControls();
  }

  async function loadAssist(id) {
    summary.textContent = "Summarising…";
    suggestionList.replaceChildren(el("li", { text: "Thinking of replies…" }));
    try {
      const data = await api(`/api/handoffs/${id}/assist`);
      if (handoff?.id !== id) return;
      summary.textContent = data.summary?.text ?? data.error ?? "No summary.";
      renderSuggestions(data.suggestions ?? []);
    } catch (err) {
      if (handoff?.id !== id) return;
      summary.textContent = `No summary (${err.message}).`;
      suggestionList.replaceChildren();
    }
  }

  async function sendWith(path, body) {
    say("");
    try {
      const data = await post(`/api/handoffs/${handoff.id}/${path}`, body);
      addMessage(data.message);
      if (data.warning) say(data.warning);
      return true;
    } catch (err) {
      say(err.message);
      return false;
    }
  }

  async function change(action) {
    say("");
    try {
      const data = await post(`/api/handoffs/${handoff.id}/${action}`);
      handoff = data.handoff;
      if (data.warning) say(data.warning);
      updateControls();
      onChanged();
    } catch (err) {
      say(err.message);
    }
  }

  buttons.accept.addEventListener("click", () => change("accept"));
  buttons.handback.addEventListener("click", () => change("handback"));
  buttons.close.addEventListener("click", () => change("close"));

  byTestId("cn-composer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = composer.value.trim();
    if (!text || !canWrite()) return;
    const body = { text };
    const used = inserted;
    if (used) {
      Object.assign(body, { suggestion_key: used.key, suggestion_event: text === used.text.trim() ? "used" : "edited",
        suggestion_text: used.text, suggestion_source: used.source });
    }
    if (await sendWith("messages", body)) {
      composer.value = "";
      if (used) used.acted = true;
      inserted = null;
    }
  });
  composer.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      byTestId("cn-composer-form").requestSubmit();
    }
  });

  return {
    async open(id) {
      leave();
      say("");
      const data = await api(`/api/handoffs/${id}`);
      handoff = data.handoff;
      section.hidden = false;
      title.textContent = handoff.customer_name ? `${handoff.customer_name} (${handoff.channel})` : `Shopper on ${handoff.channel}`;
      seen = new Map();
      transcriptList.replaceChildren();
      data.transcript.forEach(addMessage);
      renderPanel(data.panel, {
        error: data.panel_error, canSend: canWrite(),
        onCard: (productId) => sendWith("card", { product_id: productId }),
        onOffer: (offerId) => sendWith("offer", { offer_id: offerId }),
      });
      composer.value = "";
      updateControls();
      title.focus();
      loadAssist(id);
    },
    message(m) {
      if (handoff && m.handoff_id === handoff.id) addMessage(m);
    },
    queueChanged(find) {
      if (!handoff) return;
      const item = find(handoff.id);
      if (item) Object.assign(handoff, { status: item.status, assigned_to: item.assigned_to });
      else if (OPEN.has(handoff.status)) handoff.status = "ended";
      updateControls();
    },
  };
}
