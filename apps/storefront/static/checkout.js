// The checkout page: the chat's cart (GET /api/cart), the address form, "Review total"
// (POST /api/checkout with preview: true) and "Place order" (the same request with the
// reviewed total). One idempotency key per order attempt, kept in sessionStorage until
// the order is placed, so a double click or a retry places one order.
(function () {
  "use strict";
  var TOKEN_KEY = "shop-assistant:session"; // where the widget keeps its session token
  var ORDER_KEY = "shop-checkout:idempotency-key";
  var TOKEN_RE = /^([0-9a-f]{32})\.[0-9]{1,12}\.[0-9a-f]{64}$/;
  var root = document.querySelector("[data-testid=checkout]");
  var form = document.querySelector("[data-testid=checkout-form]");
  if (!root || !form) return;
  var message = document.querySelector("[data-testid=checkout-message]");
  var place = document.querySelector("[data-testid=checkout-place]");
  var review = document.querySelector("[data-testid=checkout-review]");
  var reviewedTotal = null;
  var busy = false;

  function stored(store, key) { try { return window[store].getItem(key); } catch (e) { return null; } }
  function keep(store, key, value) { try { window[store].setItem(key, value); } catch (e) { /* memory only */ } }
  function forget(store, key) { try { window[store].removeItem(key); } catch (e) { /* ignore */ } }
  function el(tag, text) { var e = document.createElement(tag); e.textContent = text; return e; }

  var token = stored("localStorage", TOKEN_KEY);
  var match = token && TOKEN_RE.exec(token);

  function say(text, placed) {
    message.hidden = !text;
    message.textContent = text || "";
    message.classList.toggle("placed", !!placed);
  }

  function orderKey() {
    var key = stored("sessionStorage", ORDER_KEY);
    if (!key) {
      if (window.crypto && crypto.randomUUID) key = crypto.randomUUID();
      else key = Array.prototype.map.call(crypto.getRandomValues(new Uint8Array(16)), function (b) {
        return ("0" + b.toString(16)).slice(-2); }).join("");
      keep("sessionStorage", ORDER_KEY, key);
    }
    return key;
  }

  function showEmpty() {
    form.hidden = true;
    document.querySelector("[data-testid=checkout-empty]").hidden = false;
  }

  function renderLines(lines) {
    var list = document.querySelector("[data-testid=checkout-lines]");
    list.replaceChildren();
    lines.forEach(function (line) {
      var options = [line.size, line.colour].filter(Boolean).join(", ");
      list.appendChild(el("li", line.quantity + " × " + line.title + (options ? " (" + options + ")" : "") + " — " + line.line_total));
    });
  }

  function body(preview) {
    var data = new FormData(form);
    var text = function (name) { var v = data.get(name); return v === null ? null : String(v).trim() || null; };
    var out = {
      session_token: token, idempotency_key: orderKey(), preview: preview,
      address: { name: text("name") || "", line1: text("line1") || "", line2: text("line2"),
                 city: text("city") || "", postcode: text("postcode") || "", country: text("country") || "" },
      promo_code: text("promo_code"), shipping_method: text("shipping_method") || "standard",
    };
    if (root.dataset.signedIn !== "yes") out.email = text("email");
    if (!preview && reviewedTotal !== null) out.expected_total_cents = reviewedTotal;
    return out;
  }

  function send(preview) {
    if (busy) return;
    busy = true;
    place.disabled = true;
    review.disabled = true;
    fetch("/api/checkout", {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf },
      body: JSON.stringify(body(preview)),
    }).then(function (r) { return r.json().catch(function () { return { message: "The shop did not answer." }; }); })
      .then(function (answer) {
        var order = answer.order;
        if (answer.status === "preview" && order) {
          renderLines(order.lines);
          document.querySelector("[data-testid=checkout-sums]").textContent = "Subtotal " + order.subtotal +
            " · shipping " + order.shipping + (order.discount !== "$0.00" ? " · discount −" + order.discount : "") +
            " · total " + order.total;
          reviewedTotal = order.total_cents;
          say("Check the total, then place the order.");
          place.disabled = false;
        } else if ((answer.status === "placed" || answer.status === "replayed") && order) {
          forget("sessionStorage", ORDER_KEY);
          form.hidden = true;
          say("Thank you! Order " + order.number + " is placed: " + order.total + ". Ask the assistant about it any time.", true);
          window.dispatchEvent(new CustomEvent("shop-assistant:cart", { detail: { count: 0 } }));
        } else {
          if (answer.status === "empty") showEmpty();
          reviewedTotal = null;
          say(answer.message || "The order could not be placed.");
        }
      })
      .catch(function () { say("The shop could not be reached: try again (the same order will not be placed twice)."); })
      .then(function () { busy = false; review.disabled = false; });
  }

  form.addEventListener("input", function () { reviewedTotal = null; place.disabled = true; });
  review.addEventListener("click", function () { send(true); });
  form.addEventListener("submit", function (event) { event.preventDefault(); if (reviewedTotal !== null) send(false); });

  if (!match) { showEmpty(); return; }
  fetch("/api/cart?session=" + encodeURIComponent(match[1]), { cache: "no-store" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (cart) {
      if (!cart || !cart.count) { showEmpty(); return; }
      renderLines(cart.lines);
      document.querySelector("[data-testid=checkout-sums]").textContent = "Items " + cart.total + " (shipping and codes on review)";
    })
    .catch(function () { say("The cart could not be loaded: reload the page."); });
})();
