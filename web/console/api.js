// fetch() for the console's JSON API: CSRF header on every state-changing request,
// 401 -> back to the login page, errors as ApiError with the server's message.

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function detailText(data) {
  const detail = data?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => d?.msg ?? "").filter(Boolean).join("; ");
  return "";
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  const res = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    window.location.assign("/login");
    throw new ApiError(401, "Your session has ended.");
  }
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) throw new ApiError(res.status, detailText(data) || `${res.status} ${res.statusText}`);
  return data;
}

export const post = (path, body = {}) => api(path, { method: "POST", body });

export async function logout() {
  try { await post("/logout"); } finally { window.location.assign("/login"); }
}
