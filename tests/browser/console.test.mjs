// The staff console in a real browser (Debian Chromium, playwright-core), against the
// console that tests/test_console_browser.py starts on a demo shop with one queued
// conversation: log in, see the queue live, open the conversation (transcript,
// summary, customer panel, suggestions), accept, insert a suggestion and send it,
// see the shopper's answer arrive live, send a product card, hand back; hostile text
// stays text. Keyboard only for the login.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, newPage, shot } from "./lib.mjs";

const CONSOLE = process.env.CONSOLE_URL ?? "http://127.0.0.1:18001";
const EMAIL = process.env.CONSOLE_EMAIL ?? "agent@ridgeline.example";
const PASSWORD = process.env.CONSOLE_PASSWORD ?? "";
const tid = (id) => `[data-testid=${id}]`;

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("an agent logs in, takes a conversation, answers with a suggestion and a card, hands back", async () => {
  const { context, page } = await newPage(browser);
  try {
    await page.goto(CONSOLE + "/");
    assert.match(page.url(), /\/login$/, "no session: the login page");
    await page.locator(tid("cn-login-email")).focus();
    await page.keyboard.type(EMAIL);
    await page.keyboard.press("Tab");
    await page.keyboard.type("wrong password");
    await page.keyboard.press("Enter");
    await page.locator(tid("cn-login-error")).waitFor();
    await page.locator(tid("cn-login-password")).fill(PASSWORD);
    await page.locator(tid("cn-login-submit")).click();
    await page.waitForURL(CONSOLE + "/");

    const item = page.locator(tid("cn-queue-item")).first();
    await item.waitFor();
    const wait1 = await item.locator("[data-wait]").textContent();
    await page.waitForFunction((before) => document.querySelector("[data-wait]").textContent !== before, wait1,
      { timeout: 5000 }); // the wait time ticks
    assert.match(await item.textContent(), /request/);
    await item.click();

    const transcript = page.locator(tid("cn-transcript"));
    await transcript.locator(`${tid("cn-msg")}[data-author=shopper]`).first().waitFor();
    const hostile = transcript.locator(`${tid("cn-msg")}[data-author=shopper]`).filter({ hasText: "<img" });
    assert.equal(await hostile.count(), 1, "markup in a message shows as text");
    assert.equal(await page.locator("img[src=x]").count(), 0, "and never becomes an element");
    await page.locator(tid("cn-panel")).waitFor();
    assert.ok((await page.locator(tid("cn-product")).count()) >= 1, "recommended products");
    await page.waitForFunction(() => !/Summarising/.test(document.querySelector("[data-testid=cn-summary]").textContent));
    assert.ok((await page.locator(tid("cn-summary")).textContent()).length > 10);

    assert.equal(await page.locator(tid("cn-send")).isDisabled(), true, "no writing before accepting");
    await page.locator(tid("cn-accept")).click();
    await page.waitForFunction(() => !document.querySelector("[data-testid=cn-send]").disabled);
    await page.locator(tid("cn-suggestion")).first().waitFor();
    await page.locator(tid("cn-insert")).first().click();
    const inserted = await page.locator(tid("cn-composer")).inputValue();
    assert.ok(inserted.length > 5, "the suggestion is in the composer");
    await page.locator(tid("cn-composer")).press("End");
    await page.keyboard.type(" Anything else?");
    await page.keyboard.press("Control+Enter");
    await transcript.locator(`${tid("cn-msg")}[data-author=agent]`).filter({ hasText: "Anything else?" }).waitFor();
    assert.equal(await page.locator(tid("cn-composer")).inputValue(), "");

    // the test server answers as the shopper once the agent has written
    await transcript.locator(`${tid("cn-msg")}[data-author=shopper]`).filter({ hasText: "Thanks, that helps" })
      .waitFor({ timeout: 10_000 });

    await page.locator(tid("cn-send-card")).first().click();
    await transcript.locator(`${tid("cn-msg")}[data-author=agent]`).filter({ hasText: "—" }).first().waitFor();
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, "console-conversation.png");

    await page.locator(tid("cn-handback")).click();
    await transcript.locator(`${tid("cn-msg")}[data-author=system]`).filter({ hasText: "virtual assistant" }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=cn-queue-item]").length === 0);
    assert.equal(await page.locator(tid("cn-send")).isDisabled(), true);
  } finally {
    await context.close();
  }
});
