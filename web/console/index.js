// The staff console's front end: queue + conversation + customer panel, live over
// Server-Sent Events. Built by web/build.mjs into dist/console.js.
import { logout } from "./api.js";
import { createConversation } from "./conversation.js";
import { byTestId } from "./dom.js";
import { connect } from "./events.js";
import { createQueue } from "./queue.js";

function start() {
  const me = { id: Number(document.body.dataset.userId), role: document.body.dataset.role };
  const live = byTestId("cn-live");
  let queue = null;
  const conversation = createConversation({ me, onChanged: () => {} });
  queue = createQueue({
    onSelect: (id) => {
      queue.select(id);
      conversation.open(id).catch((err) => { byTestId("cn-notice").textContent = err.message; });
    },
  });
  connect({
    onQueue: (data) => { queue.update(data); conversation.queueChanged(queue.find); },
    onMessage: (m) => conversation.message(m),
    onStatus: (text) => { live.textContent = text; },
  });
  document.getElementById("logout").addEventListener("click", logout);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
