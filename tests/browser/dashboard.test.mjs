// The console's analytics dashboard in a real browser (Debian Chromium, playwright-core),
// against the console that tests/apps/test_console_dashboard_browser.py starts on a demo
// shop with a week of conversations: a supervisor logs in, opens the dashboard from the
// navigation, reads the headline figures (EXPECTED_FIGURES: what the metrics SQL says),
// sees the charts drawn, filters by channel, gets a clear message for a bad range, and
// reviews the bot-only conversations down to one transcript. Shoppers' markup stays text.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { launch, newPage, SHOTS } from "./lib.mjs";

const CONSOLE = process.env.CONSOLE_URL ?? "http://127.0.0.1:18001";
const EMAIL = process.env.CONSOLE_EMAIL ?? "lead@ridgeline.example";
const PASSWORD = process.env.CONSOLE_PASSWORD ?? "";
const EXPECTED = JSON.parse(process.env.EXPECTED_FIGURES ?? "{}");
const tid = (id) => `[data-testid=${id}]`;

async function fullShot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("a supervisor reads the dashboard, filters it and reviews a conversation", async () => {
  const { context, page } = await newPage(browser, { width: 1280, height: 900 });
  let dialogs = 0;
  page.on("dialog", async (d) => { dialogs += 1; await d.dismiss(); });
  try {
    await page.goto(CONSOLE + "/dashboard");
    assert.match(page.url(), /\/login$/, "no session: the login page");
    await page.locator(tid("cn-login-email")).fill(EMAIL);
    await page.locator(tid("cn-login-password")).fill(PASSWORD);
    await page.locator(tid("cn-login-submit")).click();
    await page.waitForURL(CONSOLE + "/");
    await page.locator(tid("cn-dashboard")).click();
    await page.waitForURL(/\/dashboard$/);

    // the headline figures, as the metrics SQL computed them
    assert.ok(Object.keys(EXPECTED).length >= 8, "the test was given the expected figures");
    for (const [key, value] of Object.entries(EXPECTED)) {
      assert.equal((await page.locator(tid(`an-value-${key}`)).textContent()).trim(), value, key);
    }
    assert.notEqual(EXPECTED.conversations, "0");

    // the charts are drawn: bars with a height, lines with points, nothing empty
    for (const key of ["conversations", "rates", "csat"]) {
      assert.equal(await page.locator(tid(`an-chart-${key}`)).getAttribute("data-empty"), "false", key);
      const box = await page.locator(tid(`an-svg-${key}`)).boundingBox();
      assert.ok(box && box.width > 300 && box.height > 80, `${key} chart is on the page (${JSON.stringify(box)})`);
    }
    const bars = page.locator(`${tid("an-svg-conversations")} rect.bar`);
    assert.ok((await bars.count()) >= 7, "a bar for each day");
    const tallest = Math.max(...(await bars.evaluateAll((rs) => rs.map((r) => r.getBoundingClientRect().height))));
    assert.ok(tallest > 40, `bars have height (${tallest}px)`);
    const fill = await bars.first().evaluate((r) => getComputedStyle(r).fill);
    assert.notEqual(fill, "rgb(0, 0, 0)", "the stylesheet colours the bars (CSP allows it)");
    assert.ok((await page.locator(`${tid("an-svg-rates")} polyline`).count()) >= 3, "three rate lines");
    assert.ok((await page.locator(`${tid("an-svg-funnel")} rect`).count()) === 4, "the funnel's four stages");

    for (const arm of ["treatment", "control"]) {
      const cells = await page.locator(`${tid("an-arm")}[data-arm=${arm}] td`).allTextContents();
      assert.ok(Number(cells[0]) > 0, `${arm}: conversations (${cells})`);
    }

    // a shopper's markup is text, never an element
    const unanswered = await page.locator(tid("an-unanswered")).textContent();
    assert.match(unanswered, /<script>alert\('x'\)<\/script> can i pay with bitcoin\?/);
    assert.equal(await page.locator("script").count(), 1, "only the page's own script");
    await fullShot(page, "dashboard.png");

    // filter by channel
    await page.locator(tid("an-channel")).selectOption("telegram");
    await page.locator(tid("an-apply")).click();
    await page.waitForURL(/channel=telegram/);
    assert.match(await page.locator(tid("an-range")).textContent(), /Telegram/);
    const telegram = Number((await page.locator(tid("an-value-conversations")).textContent()).replace(/,/g, ""));
    assert.ok(telegram >= 1 && telegram < Number(EXPECTED.conversations.replace(/,/g, "")), "fewer on one channel");

    // a range that ends before it starts: a clear message, no figures
    await page.locator(tid("an-start")).fill("2026-03-10");
    await page.locator(tid("an-end")).fill("2026-03-01");
    await page.locator(tid("an-apply")).click();
    await page.locator(tid("an-error")).waitFor();
    assert.match(await page.locator(tid("an-error")).textContent(), /before the start date/);
    assert.equal(await page.locator(tid("an-value-conversations")).count(), 0);

    // the bot-only conversations: search, then one transcript
    await page.locator(tid("nav-review")).click();
    await page.waitForURL(/\/conversations\/review$/);
    assert.ok((await page.locator(tid("an-conversation")).count()) > 10, "a page of conversations");
    await page.locator(tid("an-q")).fill("bitcoin");
    await page.locator(tid("an-apply")).click();
    await page.waitForURL(/q=bitcoin/);
    const rows = page.locator(tid("an-conversation"));
    assert.ok((await rows.count()) >= 1);
    assert.match(await rows.first().locator(tid("an-first-message")).textContent(), /<script>alert/);
    await fullShot(page, "conversation-review.png");
    await rows.filter({ hasText: "<script>" }).first().locator(tid("an-transcript-link")).click();
    await page.locator(tid("an-transcript")).waitFor();
    const authors = await page.locator(tid("an-turn")).evaluateAll((ts) => ts.map((t) => t.dataset.author));
    assert.deepEqual(authors.slice(0, 2), ["shopper", "bot"]);
    assert.match(await page.locator(tid("an-turn")).first().textContent(), /<script>alert\('x'\)<\/script>/);
    assert.equal(await page.locator("script").count(), 1);
    await fullShot(page, "transcript.png");
    await page.locator(tid("an-back")).click();
    await page.waitForURL(/q=bitcoin/);
    assert.equal(dialogs, 0, "no script ever ran an alert");
  } finally {
    await context.close();
  }
});
