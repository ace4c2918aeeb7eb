// Entry point of the bundle (dist/shop-assistant.js): read the script tag, mount the
// widget once the page has a <body>, expose window.ShopAssistant.
import { findScript, readConfig } from "./config.js";
import { Widget } from "./widget.js";

const script = findScript(); // only valid while this script runs for the first time

function start() {
  if (window.ShopAssistant) return; // the tag was included twice
  const widget = new Widget(readConfig(script)).mount();
  window.ShopAssistant = Object.freeze({
    open: () => widget.open(),
    close: () => widget.close(),
    send: (text) => widget.sendText(text),
    newConversation: () => widget.newConversation(),
    sessionId: () => widget.sessionId,
  });
  window.dispatchEvent(new CustomEvent("shop-assistant:ready"));
}

if (document.body) start();
else document.addEventListener("DOMContentLoaded", start, { once: true });
