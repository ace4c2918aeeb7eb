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

/** A new random session id: 32 hex characters. */
export function newSessionId() {
  const c = globalThis.crypto;
  if (c?.randomUUID) {
    try {
      return c.randomUUID().replace(/-/g, "");
    } catch {
      /* randomUUID needs a secure context; fall back below */
    }
  }
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const SESSION_RE = /^[A-Za-z0-9_-]{8,64}$/;

export function isSessionId(value) {
  return typeof value === "string" && SESSION_RE.test(value);
}

/** The stored session id, creating (and storing) one when there is none. */
export function loadSessionId() {
  const stored = getItem(KEYS.session);
  if (isSessionId(stored)) return stored;
  const id = newSessionId();
  setItem(KEYS.session, id);
  return id;
}

export function saveSessionId(id) {
  if (isSessionId(id)) setItem(KEYS.session, id);
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
