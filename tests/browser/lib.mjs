// Shared helpers of the browser tests: Debian's Chromium driven by playwright-core
// (from web/node_modules; no browser is ever downloaded).
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");

export const STORE = process.env.STORE_URL ?? "http://127.0.0.1:18000";
export const RASA = process.env.RASA_URL ?? "http://127.0.0.1:15005";
export const RASA_TOKEN = process.env.RASA_TOKEN ?? "";
export const SHOTS = process.env.SCREENSHOT_DIR ?? "";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

export async function newPage(browser, { width = 1280, height = 800 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err.message));
  page.on("console", (msg) => { if (msg.type() === "error" || msg.type() === "warning") console.error(`console ${msg.type()}: ${msg.text()}`); });
  page.on("requestfailed", (req) => console.error(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  return { context, page };
}

export async function openWidget(page) {
  if (!(await page.locator("[data-testid=sa-panel]").isVisible().catch(() => false))) {
    await page.locator("[data-testid=sa-launcher]").click();
  }
  await page.locator("[data-testid=sa-input]").waitFor({ state: "visible" });
}

/** Type `text` into the widget and wait for the bot to finish answering; returns the
 * bot messages that arrived. */
export async function say(page, text, { timeout = 90_000 } = {}) {
  const before = await page.locator("[data-testid=sa-msg][data-role=bot]").count();
  await page.locator("[data-testid=sa-input]").fill(text);
  await page.locator("[data-testid=sa-send]").click();
  await waitForAnswer(page, before, timeout);
  return page.locator("[data-testid=sa-msg][data-role=bot]");
}

export async function waitForAnswer(page, before, timeout = 90_000) {
  // the answer is complete when new bot messages are there and the typing indicator
  // (shown until the server's bot_done) is gone
  const bots = page.locator("[data-testid=sa-msg][data-role=bot]");
  const typing = page.locator("[data-testid=sa-typing]");
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if ((await bots.count()) > before && !(await typing.isVisible())) return;
    await page.waitForTimeout(200);
  }
  throw new Error(`no complete answer within ${timeout} ms; bot said:\n${await botText(page)}`);
}

export async function botText(page) {
  return (await page.locator("[data-testid=sa-msg][data-role=bot]").allInnerTexts()).join("\n");
}

export async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name) });
}

export async function tracker(sessionId) {
  const r = await fetch(`${RASA}/conversations/${sessionId}/tracker?token=${encodeURIComponent(RASA_TOKEN)}`);
  if (!r.ok) throw new Error(`tracker: HTTP ${r.status}`);
  return r.json();
}

export function userMetadata(t) {
  return t.events.filter((e) => e.event === "user").map((e) => e.metadata ?? {});
}

/** Serve `html` at http://127.0.0.1:<port>/ from this process (another site embedding
 * the widget); returns {url, close}. */
export async function servePage(html) {
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === "/" ? 200 : 404, { "Content-Type": "text/html; charset=utf-8" });
    res.end(req.url === "/" ? html : "");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

/** A TCP proxy on loopback to `target` ("host:port") that can be cut and restored, to
 * take the assistant's server away from the browser and bring it back. */
export async function cuttableProxy(target) {
  const [host, port] = target.split(":");
  const sockets = new Set();
  let server;
  const listen = (at) => new Promise((resolve) => {
    server = net.createServer((client) => {
      const upstream = net.connect(Number(port), host);
      for (const s of [client, upstream]) { sockets.add(s); s.on("close", () => sockets.delete(s)); s.on("error", () => {}); }
      client.pipe(upstream).pipe(client);
    });
    server.listen(at, "127.0.0.1", () => resolve(server.address().port));
  });
  const proxyPort = await listen(0);
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    async cut() { for (const s of sockets) s.destroy(); await new Promise((r) => server.close(r)); },
    async restore() { await listen(proxyPort); },
    async close() { for (const s of sockets) s.destroy(); await new Promise((r) => server.close(() => r())); },
  };
}
