// The customer panel: profile, value, recent orders/returns/interactions, recommended
// products (each with "Send card") and eligible offers (each with "Send offer").
import { byTestId, el } from "./dom.js";

const SECTIONS = [
  ["profile", "Profile"], ["lifetime_value", "Lifetime value"], ["order_count", "Orders"],
  ["orders", "Recent orders"], ["returns", "Recent returns"], ["interactions", "Recent interactions"],
];
const SKIP = new Set(["products", "offers", "handoff", "customer_id", "anonymous", "products_how"]);
const human = (key) => key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

/** Any JSON value as one line of text. */
export function describe(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(describe).filter(Boolean).join(", ");
  if (typeof value === "object") {
    return Object.entries(value).filter(([, v]) => v !== null && v !== undefined && typeof v !== "object")
      .map(([, v]) => String(v)).join(" · ");
  }
  return String(value);
}

function section(title, value) {
  const body = [];
  if (Array.isArray(value)) {
    body.push(value.length ? el("ul", {}, ...value.map((v) => el("li", { text: describe(v) }))) : el("p", { text: "None." }));
  } else if (value && typeof value === "object") {
    body.push(el("dl", {}, ...Object.entries(value).flatMap(([k, v]) => [el("dt", { text: human(k) }), el("dd", { text: describe(v) })])));
  } else {
    body.push(el("p", { text: describe(value) || "—" }));
  }
  return el("section", {}, el("h3", { text: title }), ...body);
}

export function renderPanel(panel, { error, canSend, onCard, onOffer }) {
  const root = byTestId("cn-panel");
  const body = byTestId("cn-panel-body");
  root.hidden = false;
  if (!panel) {
    body.replaceChildren(el("p", { class: "notice", text: error || "No customer information." }));
    byTestId("cn-products").replaceChildren();
    byTestId("cn-offers").replaceChildren();
    return;
  }
  const known = new Set(SECTIONS.map(([key]) => key));
  const parts = SECTIONS.filter(([key]) => key in panel && panel[key] !== null)
    .map(([key, title]) => section(title, panel[key]));
  if (panel.anonymous) parts.unshift(el("p", { class: "notice", text: "Not signed in: no profile, orders or offers." }));
  for (const [key, value] of Object.entries(panel)) {
    if (!known.has(key) && !SKIP.has(key)) parts.push(section(human(key), value));
  }
  body.replaceChildren(...parts);

  byTestId("cn-products").replaceChildren(...(panel.products ?? []).map((p) => {
    const id = p.id ?? p.product_id;
    const label = [p.title, p.price].filter(Boolean).join(" — ") || describe(p);
    return el("li", { "data-testid": "cn-product", "data-product-id": id },
      el("span", {}, el("span", { text: label }), p.reason ? el("small", { class: "reason", text: ` (${p.reason})` }) : null),
      el("button", { type: "button", "data-testid": "cn-send-card", disabled: !canSend,
        "aria-label": `Send card: ${p.title ?? label}`, onclick: () => onCard(id) }, "Send card"));
  }));
  byTestId("cn-offers").replaceChildren(...(panel.offers ?? []).map((o) => {
    const terms = o.discount && o.applies_to ? `${o.discount} on ${o.applies_to}` : describe(o);
    const label = [o.name, terms, o.ends ? `until ${o.ends}` : ""].filter(Boolean).join(" · ");
    return el("li", { "data-testid": "cn-offer", "data-offer-id": o.offer_id },
      el("span", { text: label }),
      el("button", { type: "button", "data-testid": "cn-send-offer", disabled: !canSend,
        "aria-label": `Send offer: ${label}`, onclick: () => onOffer(o.offer_id) }, "Send offer"));
  }));
}
