// The storefront's cart panel: shows the chat session's cart (stored in the shop
// database by the assistant's "add to cart"), refreshed on load and whenever the
// widget reports a cart change; its "Checkout" link shows while the cart has items.
(function () {
  "use strict";
  function el(tag, text) { var e = document.createElement(tag); e.textContent = text; return e; }

  function render(cart) {
    var lines = document.querySelector("[data-testid=store-cart-lines]");
    document.querySelector("[data-testid=store-cart-count]").textContent = String(cart.count || 0);
    document.querySelector("[data-testid=store-cart-total]").textContent = cart.total || "$0.00";
    var checkout = document.querySelector("[data-testid=store-checkout]");
    if (checkout) checkout.hidden = !(cart.count > 0);
    lines.replaceChildren();
    (cart.lines || []).forEach(function (line) {
      var options = [line.size, line.colour].filter(Boolean).join(", ");
      lines.appendChild(el("li", line.quantity + " × " + line.title + (options ? " (" + options + ")" : "") + " — " + line.line_total));
    });
  }

  function refresh() {
    var api = window.ShopAssistant;
    var id = api && api.sessionId && api.sessionId();
    if (!id) return;
    fetch("/api/cart?session=" + encodeURIComponent(id), { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (cart) { if (cart) render(cart); })
      .catch(function () { /* the panel keeps its last state */ });
  }

  window.addEventListener("shop-assistant:cart", refresh);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", refresh); else refresh();
})();
