// The whole agent-assist loop: a shopper in the storefront's widget asks for a human;
// an agent in the staff console sees the conversation with its summary and
// suggestions, sends an edited suggestion (the shopper sees it, labelled with the
// agent's name) and a product card (the shopper sees the card), hands back, and the
// bot answers the shopper's next question. Prints the console's page load time.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { STORE, launch, newPage, openWidget, say, botText, shot } from "./lib.mjs";

const CONSOLE = process.env.CONSOLE_URL ?? "http://127.0.0.1:18001";
const EMAIL = process.env.CONSOLE_EMAIL ?? "agent@ridgeline.example";
const PASSWORD = process.env.CONSOLE_PASSWORD ?? "";
const tid = (id) => `[data-testid=${id}]`;

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function waitForBotText(page, pattern, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (pattern.test(await botText(page))) return;
    await page.waitForTimeout(250);
  }
  throw new Error(`the shopper never saw ${pattern}; bot said:\n${await botText(page)}`);
}

test("a shopper asks for a human, an agent helps with a suggestion and a card, then hands back to the bot", async () => {
  // the agent logs in first, so someone is online
  const agent = await newPage(browser, { width: 1400, height: 900 });
  const shopper = await newPage(browser);
  try {
    await agent.page.goto(CONSOLE + "/login");
    await agent.page.locator(tid("cn-login-email")).fill(EMAIL);
    await agent.page.locator(tid("cn-login-password")).fill(PASSWORD);
    await agent.page.locator(tid("cn-login-submit")).click();
    await agent.page.waitForURL(CONSOLE + "/");
    const t0 = Date.now();
    await agent.page.goto(CONSOLE + "/");
    await agent.page.locator(tid("cn-queue")).waitFor({ state: "attached" });
    await agent.page.waitForLoadState("load");
    console.log(`# console page load: ${Date.now() - t0} ms (navigation to the queue drawn)`);

    await shopper.page.goto(STORE + "/");
    await openWidget(shopper.page);
    await say(shopper.page, "show me rain jackets");
    await say(shopper.page, "I want to talk to a human");
    await waitForBotText(shopper.page, /connecting you|in the queue|You're next/i);

    // the agent sees it live, with summary and suggestions
    const item = agent.page.locator(tid("cn-queue-item")).first();
    await item.waitFor({ timeout: 20_000 });
    await item.click();
    const transcript = agent.page.locator(tid("cn-transcript"));
    await transcript.locator(`${tid("cn-msg")}[data-author=shopper]`).filter({ hasText: "talk to a human" }).waitFor();
    await agent.page.waitForFunction(
      () => !/Summarising/.test(document.querySelector("[data-testid=cn-summary]")?.textContent ?? "Summarising"),
      null, { timeout: 90_000 });
    assert.ok((await agent.page.locator(tid("cn-summary")).textContent()).trim().length > 10, "a summary");
    await agent.page.locator(tid("cn-suggestion")).first().waitFor({ timeout: 90_000 });
    await agent.page.locator(tid("cn-accept")).click();
    await agent.page.waitForFunction(() => !document.querySelector("[data-testid=cn-send]").disabled);
    await shot(agent.page, "console.png");

    // an edited suggestion reaches the shopper
    await agent.page.locator(tid("cn-insert")).first().click();
    assert.ok((await agent.page.locator(tid("cn-composer")).inputValue()).length > 5);
    await agent.page.locator(tid("cn-composer")).press("End");
    await agent.page.keyboard.type(" (Checked by our team.)");
    await agent.page.locator(tid("cn-send")).click();
    await waitForBotText(shopper.page, /\(Checked by our team\.\)/);

    // staff text is escaped in the widget: markup shows as text, never runs
    const hostile = '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script>';
    await agent.page.locator(tid("cn-composer")).fill(hostile);
    await agent.page.locator(tid("cn-send")).click();
    await waitForBotText(shopper.page, /<img src=x/);
    assert.equal(await shopper.page.locator("[data-testid=sa-msg] img[src=x], [data-testid=sa-msg] script").count(), 0);
    assert.equal(await shopper.page.evaluate(() => window.__pwned), undefined);

    // a product card reaches the shopper as a card
    const cardsBefore = await shopper.page.locator(tid("sa-card")).count();
    await agent.page.locator(tid("cn-send-card")).first().click();
    const deadline = Date.now() + 20_000;
    while ((await shopper.page.locator(tid("sa-card")).count()) <= cardsBefore && Date.now() < deadline) {
      await shopper.page.waitForTimeout(250);
    }
    assert.ok((await shopper.page.locator(tid("sa-card")).count()) > cardsBefore, "the card arrived");

    // hand back: the bot answers again
    await agent.page.locator(tid("cn-handback")).click();
    await waitForBotText(shopper.page, /virtual assistant/i);
    const bots = await shopper.page.locator(`${tid("sa-msg")}[data-role=bot]`).count();
    await say(shopper.page, "do you have tents?");
    assert.ok((await shopper.page.locator(`${tid("sa-msg")}[data-role=bot]`).count()) > bots, "the bot answered");
    assert.match(await botText(shopper.page), /tent/i);
  } finally {
    await agent.context.close();
    await shopper.context.close();
  }
});
