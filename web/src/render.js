// Builds the DOM of one transcript message. Untrusted strings only ever reach the page
// through textContent / setAttribute, except bot text, which goes through markdown-it
// with raw HTML disabled (markdown.js).
import { h, icon, safeUrl, timeElement } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

/**
 * @param {object} message  {role, ts, text?, buttons?, custom?, image?, agent_name?}
 * @param {object} ctx
 * @param {(payload: string, display: string) => void} ctx.sendPayload
 * @param {boolean} ctx.chipsEnabled  quick replies are live only on the newest message
 */
export function renderMessage(message, ctx) {
  const el = h("div", { class: "sa-msg", "data-testid": "sa-msg", "data-role": message.role });
  if (message.role === "user") {
    el.append(h("div", { class: "sa-bubble", text: message.text ?? "" }));
    el.append(timeElement(message.ts));
    return el;
  }

  const custom = isObject(message.custom) ? message.custom : null;
  const cards = custom?.type === "product_cards" && Array.isArray(custom.cards) ? custom : null;
  const rating = custom?.type === "csat_request";
  // Product cards carry their own heading; the message text is the numbered list that
  // channels without cards show. Old messages have no heading: show their text.
  const text = cards && typeof cards.heading === "string" ? cards.heading : message.text;
  if (typeof message.agent_name === "string" && message.agent_name.trim()) {
    // a staff member's message relayed from the console: say who is writing
    const label = `${message.agent_name.trim()} (team)`;
    el.append(h("div", { class: "sa-agent-label", "data-testid": "sa-agent-label", text: label }));
  }
  if (typeof text === "string" && text.trim()) {
    const bubble = h("div", { class: "sa-bubble" });
    bubble.innerHTML = renderMarkdown(text);
    el.append(bubble);
  }

  const image = imageUrl(message);
  if (image) {
    const img = h("img", { class: "sa-image", src: image, alt: "Image from the assistant", loading: "lazy" });
    img.addEventListener("error", () => img.remove(), { once: true });
    el.append(img);
  }

  if (custom) {
    const block = renderCustom(custom, ctx, message);
    if (block) el.append(block);
  }

  // a rating request's buttons are its stars
  const buttons = !rating && Array.isArray(message.buttons) ? message.buttons.filter((b) => isObject(b) && b.payload) : [];
  if (buttons.length) {
    const chips = h("div", { class: "sa-chips", role: "group", "aria-label": "Suggested replies" });
    for (const button of buttons) {
      const title = String(button.title || button.payload);
      chips.append(
        h("button", {
          type: "button",
          class: "sa-chip",
          "data-testid": "sa-chip",
          disabled: !ctx.chipsEnabled,
          text: title,
          onclick: () => ctx.sendPayload(String(button.payload), title),
        }),
      );
    }
    el.append(chips);
  }

  el.append(timeElement(message.ts));
  return el;
}

function renderCustom(custom, ctx, message) {
  switch (custom.type) {
    case "csat_request":
      return renderRating(custom, message, ctx);
    case "product_cards":
      return Array.isArray(custom.cards) ? renderCards(custom.cards, ctx) : null;
    case "promo_code":
      return renderPromo(custom);
    case "cart":
      return renderCart(custom, ctx);
    default:
      console.debug("shop-assistant: ignoring custom payload", custom.type);
      return null;
  }
}

// --- product cards -------------------------------------------------------------------

function renderCards(cards, ctx) {
  const list = h("div", { class: "sa-cards", role: "list", "aria-label": "Products" });
  for (const card of cards) {
    if (isObject(card) && card.id !== undefined && card.id !== null) list.append(renderCard(card, ctx));
  }
  return list.childElementCount ? list : null;
}

function renderCard(card, ctx) {
  const title = String(card.title ?? "Product");
  const id = card.id;
  const payload = (intent) => `/${intent}{"product_id": ${JSON.stringify(id)}}`;
  const action = (cls, testid, label, display, intent) =>
    h("button", {
      type: "button",
      class: cls,
      "data-testid": testid,
      "aria-label": display,
      text: label,
      onclick: () => ctx.sendPayload(payload(intent), display),
    });

  const href = safeUrl(card.url);
  const titleEl = href
    ? h("a", { class: "sa-card-title", href, target: "_blank", rel: "noopener noreferrer", text: title })
    : h("span", { class: "sa-card-title", text: title });

  const rating = Number(card.rating);
  const count = Number(card.rating_count) || 0;
  const sizes = Array.isArray(card.in_stock_sizes) ? card.in_stock_sizes.map(String) : [];
  const colours = Array.isArray(card.colours) ? card.colours.map(String) : [];

  return h(
    "article",
    { class: "sa-card", role: "listitem", "data-testid": "sa-card", "data-product-id": String(id), "aria-label": title },
    cardImage(card.image_url),
    h(
      "div",
      { class: "sa-card-body" },
      titleEl,
      card.brand ? h("div", { class: "sa-card-brand", text: String(card.brand) }) : null,
      card.price ? h("div", { class: "sa-card-price", text: String(card.price) }) : null,
      card.rating !== null && card.rating !== undefined && Number.isFinite(rating)
        ? h("div", {
            class: "sa-card-rating",
            "aria-label": `Rated ${rating.toFixed(1)} out of 5 from ${count} review${count === 1 ? "" : "s"}`,
            text: `★ ${rating.toFixed(1)} (${count})`,
          })
        : null,
      sizes.length ? h("div", { class: "sa-card-meta", text: `In stock: ${sizes.join(", ")}` }) : null,
      colours.length ? h("div", { class: "sa-card-meta", text: `Colours: ${colours.join(", ")}` }) : null,
      card.reason ? h("p", { class: "sa-card-reason", text: String(card.reason) }) : null,
      h(
        "div",
        { class: "sa-card-actions" },
        action("sa-card-details", "sa-card-details", "Details", `Details: ${title}`, "product_details"),
        action("sa-card-similar", "sa-card-similar", "Similar", `Similar to ${title}`, "similar_products"),
        action("sa-card-add", "sa-card-add", "Add to cart", `Add ${title} to cart`, "add_to_cart"),
      ),
    ),
  );
}

function cardImage(url) {
  const box = h("div", { class: "sa-card-img" });
  const placeholder = () => {
    box.replaceChildren(icon("bag"));
    box.classList.add("sa-card-img--empty");
  };
  const src = safeUrl(url);
  if (!src) {
    placeholder();
    return box;
  }
  const img = h("img", { src, alt: "", loading: "lazy", decoding: "async" });
  img.addEventListener("error", placeholder, { once: true });
  box.append(img);
  return box;
}

// --- promo code ----------------------------------------------------------------------

function renderPromo(promo) {
  const code = String(promo.code ?? "");
  const copy = h("button", { type: "button", class: "sa-copy", "data-testid": "sa-copy", text: "Copy code" });
  const codeEl = h("code", { class: "sa-promo-code", text: code });
  const status = h("span", { class: "sa-visually-hidden", role: "status" });
  let reset = null;
  copy.addEventListener("click", async () => {
    const ok = await copyText(code, codeEl);
    copy.textContent = ok ? "Copied" : "Press Ctrl+C";
    status.textContent = ok ? `Code ${code} copied` : "Code selected, press Ctrl+C to copy";
    clearTimeout(reset);
    reset = setTimeout(() => {
      copy.textContent = "Copy code";
      status.textContent = "";
    }, 2000);
  });
  return h(
    "div",
    { class: "sa-promo", "data-testid": "sa-promo", role: "group", "aria-label": "Offer" },
    promo.discount ? h("div", { class: "sa-promo-discount", text: String(promo.discount) }) : null,
    promo.applies_to ? h("div", { class: "sa-promo-applies", text: String(promo.applies_to) }) : null,
    h("div", { class: "sa-promo-code-row" }, codeEl, copy),
    promo.expires ? h("div", { class: "sa-promo-expiry" }, "Expires ", expiryElement(String(promo.expires))) : null,
    status,
  );
}

function expiryElement(value) {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  const text = d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
  return h("time", { datetime: value, text });
}

/** Clipboard API when allowed (secure pages), else a hidden textarea + execCommand. */
async function copyText(text, codeEl) {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* not allowed: fall back */
  }
  const root = codeEl.getRootNode();
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.cssText = "position:fixed;top:0;left:0;opacity:0;pointer-events:none;";
  const host = root instanceof ShadowRoot ? root : document.body;
  host.append(area);
  let ok = false;
  try {
    area.select();
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  if (!ok) {
    // Leave the code selected so the shopper can copy it by hand.
    const range = document.createRange();
    range.selectNodeContents(codeEl);
    const selection = window.getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
  }
  return ok;
}

// --- CSAT rating ---------------------------------------------------------------------

export const RATING_LABELS = ["Poor", "Fair", "Okay", "Good", "Great"];

/** The five payloads, score 1..5: the server's own /rate buttons when it sent them (the
 * goodbye), else built from the request (a relayed one carries only `handoff_id`). */
export function ratingPayloads(custom, buttons) {
  const given = Array.isArray(buttons)
    ? buttons.filter((b) => isObject(b) && typeof b.payload === "string" && b.payload.startsWith("/rate{")).map((b) => b.payload)
    : [];
  if (given.length === RATING_LABELS.length) return given;
  const id = Number.isSafeInteger(custom.handoff_id) && custom.handoff_id > 0 ? custom.handoff_id : null;
  return RATING_LABELS.map((_, i) => `/rate${JSON.stringify(id === null ? { score: i + 1 } : { score: i + 1, handoff_id: id })}`);
}

/** One-tap rating: five star buttons (live only on the newest message, like chips); a
 * tap sends the payload and shows "Rated 4 out of 5 (Good)" as the shopper's message. */
function renderRating(custom, message, ctx) {
  const payloads = ratingPayloads(custom, message.buttons);
  const group = h("div", { class: "sa-rating", role: "group", "aria-label": "Rate this chat", "data-testid": "sa-rating" });
  const stars = payloads.map((payload, i) => {
    const score = i + 1;
    const label = `${score} out of 5: ${RATING_LABELS[i]}`;
    return h("button", {
      type: "button",
      class: "sa-star",
      "data-testid": "sa-rate",
      "data-score": String(score),
      "aria-label": label,
      title: label,
      disabled: !ctx.chipsEnabled,
      text: "\u2605",
      onclick: () => ctx.sendPayload(payload, `Rated ${score} out of 5 (${RATING_LABELS[i]})`),
    });
  });
  const light = (upTo) => stars.forEach((star, i) => star.classList.toggle("sa-star--lit", i < upTo));
  stars.forEach((star, i) => {
    star.addEventListener("mouseenter", () => light(i + 1));
    star.addEventListener("focus", () => light(i + 1));
  });
  group.addEventListener("mouseleave", () => light(0));
  group.addEventListener("focusout", () => light(0));
  group.append(...stars, h("span", { class: "sa-rating-scale", text: "1 = poor, 5 = great" }));
  return group;
}

// --- cart ----------------------------------------------------------------------------

/** The cart summary; with items and a checkout page configured (`data-checkout-url`),
 * a "Checkout" link to it (same tab: the conversation and the cart follow the shopper). */
function renderCart(cart, ctx) {
  const lines = Array.isArray(cart.lines) ? cart.lines.filter(isObject) : [];
  const count = Number.isFinite(Number(cart.count)) ? Number(cart.count) : lines.length;
  const box = h(
    "div",
    { class: "sa-cart", "data-testid": "sa-cart", role: "group", "aria-label": "Your cart" },
    h("div", { class: "sa-cart-head", text: count ? `Your cart · ${count} item${count === 1 ? "" : "s"}` : "Your cart is empty" }),
  );
  if (lines.length) {
    const list = h("ul", { class: "sa-cart-lines" });
    for (const line of lines) {
      const meta = [line.size, line.colour].filter(Boolean).map(String);
      const qty = Number(line.quantity) || 1;
      list.append(
        h(
          "li",
          { class: "sa-cart-line" },
          h(
            "span",
            {},
            `${qty} × ${String(line.title ?? "Item")}`,
            meta.length ? h("span", { class: "sa-cart-line-meta", text: meta.join(" · ") }) : null,
          ),
          h("span", { text: String(line.line_total ?? "") }),
        ),
      );
    }
    box.append(list);
  }
  if (cart.total) box.append(h("div", { class: "sa-cart-total" }, h("span", { text: "Total" }), h("span", { text: String(cart.total) })));
  const checkout = safeUrl(ctx?.checkoutUrl);
  if (count > 0 && checkout) {
    box.append(h("a", { class: "sa-cart-checkout", "data-testid": "sa-cart-checkout", href: checkout, text: "Checkout" }));
  }
  return box;
}

// --- helpers -------------------------------------------------------------------------

function imageUrl(message) {
  const raw = typeof message.image === "string" ? message.image : message.attachment?.payload?.src;
  return safeUrl(raw);
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
