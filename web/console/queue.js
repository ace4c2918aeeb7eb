// The queue: open conversations, newest state from the server, wait times ticking.
import { badge, byTestId, el, formatWait } from "./dom.js";

export function createQueue({ onSelect }) {
  const list = byTestId("cn-queue");
  const count = byTestId("cn-queue-count");
  const empty = byTestId("cn-queue-empty");
  let items = [];
  let receivedAt = Date.now();
  let selected = null;

  function waitOf(item) {
    return item.wait_s + (Date.now() - receivedAt) / 1000;
  }

  function render() {
    const focused = document.activeElement?.closest?.("[data-testid=cn-queue-item]")?.dataset.handoffId;
    list.replaceChildren(...items.map((item) => {
      const sentiment = item.sentiment === null ? null
        : badge(`sentiment ${item.sentiment.toFixed(2)}`, item.sentiment <= -0.4 ? "neg" : "");
      const who = item.customer_name || `${item.channel} shopper`;
      const button = el("button", {
        type: "button", class: "queue-item", "data-testid": "cn-queue-item", "data-handoff-id": item.id,
        "aria-current": item.id === selected ? "true" : "false",
        onclick: () => onSelect(item.id),
      },
      el("span", { class: "line" },
        el("strong", { text: who }),
        badge(item.team),
        badge(item.reason + (item.detail ? `: ${item.detail}` : ""), `reason-${item.reason}`),
        badge(item.status.replace("_", " "), `status-${item.status}`),
        sentiment,
        el("span", { class: "wait", "data-wait": "", "aria-label": "waiting", text: formatWait(waitOf(item)) })),
      el("span", { class: "preview", text: item.preview || "…" }));
      return el("li", {}, button);
    }));
    if (focused) list.querySelector(`[data-handoff-id="${CSS.escape(focused)}"]`)?.focus();
    count.textContent = String(items.length);
    empty.hidden = items.length > 0;
  }

  function tick() {
    list.querySelectorAll("[data-testid=cn-queue-item]").forEach((button, i) => {
      const item = items[i];
      const wait = button.querySelector("[data-wait]");
      if (item && wait) wait.textContent = formatWait(waitOf(item));
    });
  }
  setInterval(tick, 1000);

  return {
    update(data) {
      items = data.items ?? [];
      receivedAt = Date.now();
      render();
    },
    select(id) {
      selected = id;
      render();
    },
    find: (id) => items.find((item) => item.id === id) ?? null,
  };
}
