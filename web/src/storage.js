// localStorage with a fallback to memory (private mode, storage disabled, quota).

export const KEYS = {
  session: "shop-assistant:session",
  transcript: "shop-assistant:transcript",
  open: "shop-assistant:open",
};

export const MAX_MESSAGES = 200;

const memory = new Map();

function store() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export function getItem(key) {
  try {
    const s = store();
    if (s) return s.getItem(key);
  } catch {
    /* storage blocked: fall through to memory */
  }
  return memory.has(key) ? memory.get(key) : null;
}

export function setItem(key, value) {
  memory.set(key, value);
  try {
    store()?.setItem(key, value);
    return true;
  } catch {
    return false;
  }
}

export function removeItem(key) {
  memory.delete(key);
  try {
    store()?.removeItem(key);
  } catch {
    /* ignore */
  }
}

// The server issues each conversation a signed session token,
// "<32 hex session id>.<expires, epoch seconds>.<64 hex signature>" (bot/channels.py);
// the widget keeps it and sends it back. The session id is the conversation (and cart).
const TOKEN_RE = /^([0-9a-f]{32})\.[0-9]{1,12}\.[0-9a-f]{64}$/;

export function isSessionToken(value) {
  return typeof value === "string" && TOKEN_RE.test(value);
}

/** The session id (32 hex) of a session token, or null. */
export function sessionIdOf(token) {
  const match = typeof token === "string" ? TOKEN_RE.exec(token) : null;
  return match ? match[1] : null;
}

/** The stored session token, or null (the server then starts a new session). */
export function loadSessionToken() {
  const stored = getItem(KEYS.session);
  return isSessionToken(stored) ? stored : null;
}

export function saveSessionToken(token) {
  if (isSessionToken(token)) setItem(KEYS.session, token);
}

/** Stored messages ({role: "bot"|"user", ts, text?, buttons?, custom?, image?}), oldest first. */
export function loadTranscript() {
  try {
    const parsed = JSON.parse(getItem(KEYS.transcript) || "[]");
    if (!Array.isArray(parsed)) return [];
    return parsed
      .filter((m) => m && typeof m === "object" && (m.role === "bot" || m.role === "user") && Number.isFinite(m.ts))
      .slice(-MAX_MESSAGES);
  } catch {
    return [];
  }
}

/** Keeps the last MAX_MESSAGES; drops older ones further when the quota is hit. */
export function saveTranscript(messages) {
  let kept = messages.slice(-MAX_MESSAGES);
  while (!setItem(KEYS.transcript, JSON.stringify(kept)) && kept.length > 1) {
    if (!store()) return;
    kept = kept.slice(Math.ceil(kept.length / 2));
  }
}

export function clearTranscript() {
  removeItem(KEYS.transcript);
}

export function loadOpen() {
  const value = getItem(KEYS.open);
  return value === null ? null : value === "true";
}

export function saveOpen(open) {
  setItem(KEYS.open, open ? "true" : "false");
}
