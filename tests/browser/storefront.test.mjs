// The shopper's path through the demo storefront in a real browser (Debian Chromium,
// playwright-core), against the real Rasa server, action server and storefront that
// tests/e2e/test_browser.py starts: open the shop, open the widget and greet, search
// and see cards, pick a size from quick replies, see the page's cart change, reload
// and keep the conversation, navigate to another page, start a new conversation.
// Also: a forged customer id is ignored, markdown/HTML injection is neutralised,
// and the offline state shows and recovers when the server is back.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  STORE, RASA, launch, newPage, openWidget, say, waitForAnswer, botText, shot, tracker, userMetadata, servePage,
  cuttableProxy,
} from "./lib.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("a shopper greets, searches, adds to cart, reloads, navigates and starts over", async () => {
  const { context, page } = await newPage(browser);
  try {
    const t0 = Date.now();
    await page.goto(STORE + "/");
    assert.ok((await page.locator(".product").count()) >= 10, "the storefront lists products");
    await page.locator("[data-testid=sa-launcher]").waitFor();
    console.log(`# storefront with widget ready in ${Date.now() - t0} ms`);

    await openWidget(page);
    assert.equal(await page.locator("[data-testid=sa-launcher]").getAttribute("aria-expanded"), "true");
    await say(page, "hi");
    assert.match(await botText(page), /Ridgeline Outfitters assistant/);

    await say(page, "waterproof hiking boots");
    const cards = page.locator("[data-testid=sa-card]");
    await cards.first().waitFor();
    assert.ok((await cards.count()) >= 2, "search shows product cards");
    const title = (await cards.first().locator("a").first().innerText()).trim();
    await shot(page, "storefront-desktop.png");

    // add to cart from a card: the bot asks for a size with quick replies
    let before = await page.locator("[data-testid=sa-msg][data-role=bot]").count();
    await cards.first().locator("[data-testid=sa-card-add]").click();
    await waitForAnswer(page, before);
    // a size, then maybe a colour: pick the first quick reply until it is added
    const chips = page.locator("[data-testid=sa-chip]:not([disabled])");
    for (let i = 0; i < 3 && !/Added the .+ to your cart/.test(await botText(page)); i++) {
      assert.ok((await chips.count()) > 0, "the bot offers options as quick replies");
      before = await page.locator("[data-testid=sa-msg][data-role=bot]").count();
      await chips.first().click();
      await waitForAnswer(page, before);
    }
    assert.match(await botText(page), /Added the .+ to your cart/);
    await page.locator("[data-testid=store-cart-count]").filter({ hasText: "1" }).waitFor({ timeout: 10_000 });
    await shot(page, "storefront-cart.png");
    assert.match(await page.locator("[data-testid=store-cart-lines]").innerText(), new RegExp(title.slice(0, 12).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));

    // reload: the conversation, the open panel and the cart are still there
    const shown = await page.locator("[data-testid=sa-msg]").count();
    const sessionId = await page.evaluate(() => window.ShopAssistant.sessionId());
    await page.reload();
    await page.locator("[data-testid=sa-panel]").waitFor({ state: "visible" });
    assert.equal(await page.locator("[data-testid=sa-msg]").count(), shown);
    assert.equal(await page.evaluate(() => window.ShopAssistant.sessionId()), sessionId);
    await page.locator("[data-testid=store-cart-count]").filter({ hasText: "1" }).waitFor({ timeout: 10_000 });

    // another page of the shop: same conversation, and the bot still knows the context
    await page.locator("[data-testid=sa-card] a").first().evaluate((a) => a.removeAttribute("target"));
    await page.goto(STORE + (await page.locator("[data-testid=sa-card] a").first().getAttribute("href")));
    await page.locator("[data-testid=store-product-title]").waitFor();
    await openWidget(page);
    assert.equal(await page.locator("[data-testid=sa-msg]").count(), shown);
    const sizeReply = await say(page, "what sizes does the first one come in?");
    assert.ok((await sizeReply.count()) > 0);

    // new conversation: transcript cleared to the greeting, same session (cart kept)
    await page.locator("[data-testid=sa-new]").click();
    await page.waitForTimeout(500);
    assert.ok((await page.locator("[data-testid=sa-msg]").count()) <= 1, "only the greeting is left");
    assert.equal(await page.evaluate(() => window.ShopAssistant.sessionId()), sessionId);
    await say(page, "hello");
    const t = await tracker(sessionId);  // Rasa's API returns the events after the last restart
    const said = t.events.filter((e) => e.event === "user").map((e) => e.text);
    assert.ok(!said.includes("waterproof hiking boots"), `the dialogue was restarted: ${JSON.stringify(said)}`);
    assert.equal(t.slots.last_results ?? null, null, "no results remembered after the restart");
  } finally {
    await context.close();
  }
});

test("a signed-in customer is identified and gets an offer to copy; a forged id is ignored", async () => {
  // the storefront's demo sign-in signs the id; the Rasa server keeps it
  const signed = await newPage(browser);
  try {
    await signed.page.goto(STORE + "/");
    await signed.page.locator("[data-testid=store-sign-in]").click();
    await signed.page.locator("[data-testid=store-signed-in]").waitFor();
    await openWidget(signed.page);
    await say(signed.page, "hi");
    const id = await signed.page.evaluate(() => window.ShopAssistant.sessionId());
    assert.ok(userMetadata(await tracker(id)).some((m) => /^\d+$/.test(m.customer_id ?? "")), "signed id kept");
    // the signed-in customer's personal offer: code, terms and a working Copy button
    await signed.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: STORE });
    await say(signed.page, "any discounts for me?");
    const promo = signed.page.locator("[data-testid=sa-promo]").last();
    await promo.waitFor();
    const code = (await promo.locator("code").first().innerText()).trim();
    assert.match(code, /^[A-Z0-9-]{6,}$/);
    await promo.locator("[data-testid=sa-copy]").click();
    await promo.locator("[data-testid=sa-copy]").filter({ hasText: "Copied" }).waitFor({ timeout: 5_000 });
    assert.equal(await signed.page.evaluate(() => navigator.clipboard.readText()), code);
    await shot(signed.page, "storefront-offer.png");
  } finally {
    await signed.context.close();
  }
  // another site's page that claims customer 1 with a made-up signature
  const forged = await newPage(browser);
  const site = await servePage(`<!doctype html><html><body><h1>forged</h1>
      <script src="${STORE}/widget/shop-assistant.js" data-server="${RASA}"
        data-customer-id="1" data-customer-sig="${"0".repeat(64)}"></script></body></html>`);
  try {
    await forged.page.goto(site.url);
    await openWidget(forged.page);
    await say(forged.page, "hi");
    const id = await forged.page.evaluate(() => window.ShopAssistant.sessionId());
    const metas = userMetadata(await tracker(id));
    assert.ok(metas.length > 0 && metas.every((m) => !("customer_id" in m)), JSON.stringify(metas));
  } finally {
    await forged.context.close();
    await site.close();
  }
});

test("markdown and HTML injection is shown as text, never run", async () => {
  const { context, page } = await newPage(browser);
  try {
    await page.goto(STORE + "/");
    await openWidget(page);
    const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> **bold** [x](javascript:window.__pwned=3)';
    await say(page, hostile);
    const mine = page.locator("[data-testid=sa-msg][data-role=user]").last();
    assert.ok((await mine.innerText()).includes(hostile), await mine.innerText());
    assert.equal(await mine.locator("img, script, a, strong").count(), 0);
    assert.equal(await page.locator("[data-testid=sa-msg] img[src=x], [data-testid=sa-msg] script").count(), 0);
    assert.equal(await page.locator("[data-testid=sa-msg] a[href^='javascript']").count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
  } finally {
    await context.close();
  }
});

test("mobile width: the panel fills the screen and cards are usable", async () => {
  const { context, page } = await newPage(browser, { width: 390, height: 844 });
  try {
    await page.goto(STORE + "/");
    await openWidget(page);
    const box = await page.locator("[data-testid=sa-panel]").boundingBox();
    assert.ok(box.width >= 380, `panel ${box.width}px wide at 390px`);
    await say(page, "show me rain jackets");
    await page.locator("[data-testid=sa-card]").first().waitFor();
    await shot(page, "storefront-mobile.png");
    // keyboard: Escape closes and gives focus back to the launcher
    await page.keyboard.press("Escape");
    await page.locator("[data-testid=sa-panel]").waitFor({ state: "hidden" });
    assert.equal(await page.evaluate(() => {
      const host = document.activeElement;
      return (host?.shadowRoot?.activeElement ?? host)?.getAttribute("data-testid");
    }), "sa-launcher");
  } finally {
    await context.close();
  }
});

test("the offline state shows while the server is unreachable, keeps what was typed, and recovers", async () => {
  // the widget reaches the Rasa server through a proxy this test cuts and restores
  const proxy = await cuttableProxy(new URL(RASA).host);
  const site = await servePage(`<!doctype html><html><body><script src="${STORE}/widget/shop-assistant.js"
      data-server="${proxy.url}"></script></body></html>`);
  const { context, page } = await newPage(browser);
  try {
    await page.goto(site.url);
    await openWidget(page);
    await say(page, "hi");
    await proxy.cut();
    await page.locator("[data-testid=sa-offline]").waitFor({ state: "visible", timeout: 30_000 });
    await page.locator("[data-testid=sa-input]").fill("are you there?");
    assert.equal(await page.locator("[data-testid=sa-send]").isDisabled(), true);
    await proxy.restore();
    await page.locator("[data-testid=sa-offline]").waitFor({ state: "hidden", timeout: 30_000 });
    assert.equal(await page.locator("[data-testid=sa-input]").inputValue(), "are you there?", "typed text kept");
    const before = await page.locator("[data-testid=sa-msg][data-role=bot]").count();
    await page.locator("[data-testid=sa-send]").click();
    await waitForAnswer(page, before);
  } finally {
    await context.close();
    await site.close();
    await proxy.close();
  }
});
