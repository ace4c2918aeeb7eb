// Tiny DOM helpers: elements are built with createElement / setAttribute /
// textContent only, so no untrusted string is ever parsed as HTML.

/**
 * Create an element. `attrs` values: `class`, `text` (textContent), `on<event>`
 * (listener), booleans (present/absent), anything else via setAttribute.
 * `children`: nodes or strings (text nodes); null/false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** An inline SVG icon from one of the constant path strings below (never user data). */
export function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  for (const d of ICONS[name]) {
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

const ICONS = {
  chat: ["M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"],
  close: ["M6 6l12 12", "M18 6L6 18"],
  restart: ["M3 12a9 9 0 1 0 3-6.7", "M3 4v5h5"],
  bag: ["M6 7h12l-1 13H7L6 7z", "M9 7a3 3 0 0 1 6 0"],
};

/** HH:MM in local time, with the full date-time in `title` and ISO in `datetime`. */
export function timeElement(ts) {
  const d = new Date(ts);
  const pad = (n) => String(n).padStart(2, "0");
  const valid = !Number.isNaN(d.getTime());
  return h("time", {
    class: "sa-time",
    datetime: valid ? d.toISOString() : null,
    title: valid ? d.toLocaleString() : null,
    text: valid ? `${pad(d.getHours())}:${pad(d.getMinutes())}` : "",
  });
}

/**
 * `url` when it is safe to put in href/src: http(s), mailto (links only) or relative
 * to the shop's page; null otherwise (javascript:, data:, vbscript:, ...).
 */
export function safeUrl(url, { allowMailto = false } = {}) {
  if (typeof url !== "string") return null;
  const trimmed = url.trim();
  if (!trimmed) return null;
  // Browsers ignore tabs/newlines inside a scheme ("java\tscript:"), so check without them.
  const compact = trimmed.replace(/[\u0000-\u0020\u007f]/g, "");
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(compact);
  if (!scheme) return trimmed; // relative ("/products/x", "?q", "#top") or protocol-relative
  const name = scheme[1].toLowerCase();
  if (name === "http" || name === "https" || (allowMailto && name === "mailto")) return trimmed;
  return null;
}
