// The tickets desk (/tickets): the list, one ticket with its replies, assign, reply by
// e-mail and close, over /api/tickets. Plain script (no build step); every value from
// the server reaches the page through textContent, never as HTML.
(() => {
  "use strict";

  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

  class ApiError extends Error {
    constructor(status, message, data) {
      super(message);
      this.status = status;
      this.data = data;
    }
  }

  async function api(path, { method = "GET", body } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = csrf();
    const res = await fetch(path, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401) {
      window.location.assign("/login");
      throw new ApiError(401, "Your session has ended.");
    }
    let data = null;
    try { data = await res.json(); } catch { data = null; }
    if (!res.ok) {
      const detail = typeof data?.detail === "string" ? data.detail
        : Array.isArray(data?.detail) ? data.detail.map((d) => d?.msg ?? "").join("; ") : "";
      throw new ApiError(res.status, detail || `${res.status} ${res.statusText}`, data);
    }
    return data;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

  const state = { current: null, tickets: [] };
  const list = byTestId("tk-list");
  const panel = byTestId("tk-ticket");
  const notice = byTestId("tk-notice");
  const errorBox = byTestId("tk-error");

  function showError(message) {
    errorBox.textContent = message || "";
    errorBox.hidden = !message;
  }

  async function loadList() {
    const status = byTestId("tk-status").value;
    const data = await api(`/api/tickets?status=${encodeURIComponent(status)}`);
    state.tickets = data.items;
    list.replaceChildren(...data.items.map((t) => el("li", {},
      el("button", {
        type: "button", class: "queue-item", "data-testid": "tk-item", "data-ticket-id": t.id,
        "aria-current": state.current?.id === t.id ? "true" : "false", onclick: () => open(t.id),
      },
      el("span", { class: "line" },
        el("strong", { text: `${t.number}` }),
        el("span", { class: "badge", text: t.status }),
        t.team ? el("span", { class: "badge", text: t.team }) : null,
        t.last_reply ? el("span", { class: `badge${t.last_reply === "failed" ? " neg" : ""}`, text: `reply ${t.last_reply}` }) : null,
        el("span", { class: "wait", text: when(t.created_at) })),
      el("span", { class: "preview", text: `${t.email} — ${t.message}` })))));
    byTestId("tk-count").textContent = String(data.items.length);
    byTestId("tk-empty").hidden = data.items.length > 0;
  }

  function renderTicket(t) {
    state.current = t;
    panel.hidden = false;
    document.getElementById("ticket-title").textContent = `Ticket ${t.number}`;
    byTestId("tk-badges").replaceChildren(
      el("span", { class: "badge", text: t.status }), t.team ? el("span", { class: "badge", text: t.team }) : null);
    const facts = [["E-mail", t.email], ["Channel", t.channel], ["Left", when(t.created_at)],
      ["Assigned to", t.assigned_name || "nobody"]];
    if (t.closed_at) facts.push(["Closed", when(t.closed_at)]);
    byTestId("tk-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
    byTestId("tk-message").textContent = t.message;
    byTestId("tk-replies").replaceChildren(...t.replies.map((r) => el("li", {
      class: "reply", "data-testid": "tk-reply", "data-status": r.status,
    },
    el("div", { class: "meta" },
      el("span", { text: r.staff_name || "" }), el("span", { text: when(r.sent_at || r.created_at) }),
      el("span", { class: "badge", text: r.status }), el("span", { text: r.subject })),
    el("p", { class: "body", text: r.body }),
    r.status === "failed" ? el("p", { class: "why", text: r.error || "" }) : null,
    r.status === "failed" && t.status === "open"
      ? el("button", { type: "button", "data-testid": "tk-retry", text: "Send again", onclick: () => retry(r.id) }) : null)));
    const closed = t.status !== "open";
    for (const id of ["tk-assign", "tk-close", "tk-send"]) byTestId(id).disabled = closed;
    byTestId("tk-reply-form").hidden = closed;
    for (const item of list.querySelectorAll("[data-ticket-id]")) {
      item.setAttribute("aria-current", String(Number(item.dataset.ticketId) === t.id));
    }
  }

  async function loadAssignees(t) {
    const select = byTestId("tk-assignee");
    const data = await api(`/api/tickets/${t.id}/assignees`);
    select.replaceChildren(el("option", { value: "", text: "Nobody" }),
      ...data.items.map((u) => el("option", { value: u.id, text: `${u.name} (${u.role})`, selected: u.id === t.assigned_to })));
  }

  async function open(id) {
    showError("");
    notice.textContent = "";
    try {
      const data = await api(`/api/tickets/${id}`);
      renderTicket(data.ticket);
      document.getElementById("ticket-title").focus();
      await loadAssignees(data.ticket);
    } catch (err) {
      showError(err.message);
    }
  }

  async function act(promise, done) {
    showError("");
    try {
      const data = await promise;
      renderTicket(data.ticket);
      if (done) notice.textContent = done;
      await loadList();
      return data;
    } catch (err) {
      if (err.data?.ticket) renderTicket(err.data.ticket);
      showError(err.message);
      await loadList().catch(() => {});
      return err.data;
    }
  }

  function retry(replyId) {
    const t = state.current;
    return act(api(`/api/tickets/${t.id}/replies/${replyId}/retry`, { method: "POST" }), "E-mail sent.");
  }

  byTestId("tk-assign").addEventListener("click", () => {
    const value = byTestId("tk-assignee").value;
    act(api(`/api/tickets/${state.current.id}/assign`, {
      method: "POST", body: { staff_user_id: value ? Number(value) : null },
    }), "Assigned.");
  });
  byTestId("tk-close").addEventListener("click", () => {
    act(api(`/api/tickets/${state.current.id}/close`, { method: "POST" }), "Ticket closed.");
  });
  byTestId("tk-reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = byTestId("tk-body");
    const subject = byTestId("tk-subject");
    const send = byTestId("tk-send");
    if (!body.value.trim()) return;
    send.disabled = true;
    const out = await act(api(`/api/tickets/${state.current.id}/reply`, {
      method: "POST", body: { subject: subject.value, body: body.value },
    }), "E-mail sent.");
    send.disabled = state.current?.status !== "open";
    // saved (sent, or kept as failed to send again): the text is in the replies now
    if (out?.reply) { body.value = ""; subject.value = ""; }
  });
  byTestId("tk-status").addEventListener("change", () => loadList().catch((err) => showError(err.message)));
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api("/logout", { method: "POST" }); } finally { window.location.assign("/login"); }
  });

  loadList().catch((err) => showError(err.message));
})();
