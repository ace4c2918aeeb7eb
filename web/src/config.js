// Settings from the embedding <script> tag's data attributes.

const DEFAULTS = {
  title: "Shop assistant",
  greeting: "Hi! How can I help you today?",
};

/** The <script> that loaded the widget (currentScript works for defer/async classic scripts). */
export function findScript() {
  if (document.currentScript) return document.currentScript;
  const scripts = document.querySelectorAll("script[src*='shop-assistant']");
  return scripts[scripts.length - 1] || null;
}

export function readConfig(script) {
  const data = script?.dataset ?? {};
  return {
    server: data.server || scriptOrigin(script) || window.location.origin,
    title: (data.title || "").trim() || DEFAULTS.title,
    greeting: data.greeting !== undefined ? data.greeting.trim() : DEFAULTS.greeting,
    primaryColor: cssColor(data.primaryColor),
    textColor: cssColor(data.textColor),
    customerId: data.customerId || null,
    customerSig: data.customerSig || null,
    open: data.open === "true",
    // where the chat cart's "Checkout" link goes (the shop's checkout page); none: no link
    checkoutUrl: (data.checkoutUrl || "").trim() || null,
  };
}

function scriptOrigin(script) {
  try {
    return script?.src ? new URL(script.src, window.location.href).origin : null;
  } catch {
    return null;
  }
}

/** `value` when the browser accepts it as a CSS colour, else null. */
function cssColor(value) {
  if (!value) return null;
  const v = value.trim();
  try {
    return window.CSS?.supports?.("color", v) ? v : null;
  } catch {
    return null;
  }
}
