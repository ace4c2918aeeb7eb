// The chat cart's checkout with a promo code, and the CSAT stars, in a real browser
// (Debian Chromium, playwright-core), against the real Rasa server, action server and a
// storefront with checkout on that tests/e2e/test_browser_checkout.py starts. The shopper
// signs in (the demo sign-in), searches in the widget, adds the product the wrapper
// chose (one its promo code covers) from a card, follows the chat cart's "Checkout"
// link, applies the code, reviews the total and places the order. Then a second cart and
// the same code again: refused with a clear message, no order. Last, "bye": the goodbye's
// stars, one tap; a forged score and a second rating are refused.
// The wrapper checks the shop database afterwards from what this file writes to
// RESULT_FILE ({session, order, ...}).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { STORE, launch, newPage, openWidget, say, waitForAnswer, shot } from "./lib.mjs";

const CODE = process.env.PROMO_CODE ?? "";
const QUERY = process.env.SEARCH_QUERY ?? "rain jackets";
const TARGET = process.env.TARGET_TITLE ?? "";
const RESULT_FILE = process.env.RESULT_FILE ?? "";
const tid = (id) => `[data-testid=${id}]`;
const bots = (page) => page.locator(`${tid("sa-msg")}[data-role=bot]`);

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Click a card's button until the widget sends it: right after a page change the widget
 * is still connecting, and a tap while its socket is (briefly) offline is dropped, as the
 * widget does by design (the shopper sees the offline banner). Sent: the shopper's line
 * shows in the transcript. */
async function clickUntilSent(page, button) {
  const mine = page.locator(`${tid("sa-msg")}[data-role=user]`);
  for (let attempt = 1; ; attempt++) {
    const n = await mine.count();
    await button.click();
    try {
      await mine.nth(n).waitFor({ timeout: 15_000 });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
      console.log(`# the widget did not send the tap (attempt ${attempt}); tapping again`);
    }
  }
}

/** Click `button` (a card's "Add to cart") and answer the size/colour quick replies with
 * the first one until the bot says it is added. */
async function addToCart(page, button) {
  const start = await bots(page).count();
  const added = async () => (await bots(page).allInnerTexts()).slice(start).some((t) => /Added the .+ to your cart/.test(t));
  let before = start;
  await clickUntilSent(page, button);
  await waitForAnswer(page, before);
  const chips = page.locator(`${tid("sa-chip")}:not([disabled])`);
  for (let i = 0; i < 3 && !(await added()); i++) {
    assert.ok((await chips.count()) > 0, `the bot offers options as quick replies; it said: ${await bots(page).last().innerText()}`);
    before = await bots(page).count();
    await chips.first().click();
    await waitForAnswer(page, before);
  }
  assert.ok(await added(), `added to the cart; the bot said: ${(await bots(page).allInnerTexts()).slice(start).join(" | ")}`);
}

/** Fill the checkout form (signed in: no e-mail), with `code`, and press "Review total". */
async function review(page, code) {
  const form = page.locator(tid("checkout-form"));
  await form.locator("input[name=name]").fill("Sam Checkout");
  await form.locator("input[name=line1]").fill("1 Test Street");
  await form.locator("input[name=city]").fill("Portland");
  await form.locator("input[name=postcode]").fill("97201");
  await form.locator("input[name=country]").fill("US");
  await page.locator(tid("checkout-code")).fill(code);
  await page.locator(tid("checkout-review")).click();
  const message = page.locator(tid("checkout-message"));
  await message.filter({ hasText: /\S/ }).waitFor({ timeout: 15_000 });
  return (await message.innerText()).trim();
}

test("checkout from the chat cart with a promo code, the code refused the second time, and the CSAT stars", async () => {
  assert.match(CODE, /^[A-Z0-9-]{6,}$/, "the wrapper gives PROMO_CODE");
  const { context, page } = await newPage(browser);
  const t0 = Date.now();
  const result = {};
  try {
    await page.goto(STORE + "/");
    await page.locator(tid("store-sign-in")).click();
    await page.locator(tid("store-signed-in")).waitFor();
    await openWidget(page);

    // search, and add the product the code covers from its card
    await say(page, QUERY);
    const cards = page.locator(tid("sa-card"));
    await cards.first().waitFor();
    const titles = (await cards.locator(".sa-card-title").allInnerTexts()).map((t) => t.trim());
    const at = titles.indexOf(TARGET);
    assert.ok(at >= 0, `the search for "${QUERY}" shows ${JSON.stringify(TARGET)}; it showed ${JSON.stringify(titles)}`);
    await addToCart(page, cards.nth(at).locator(tid("sa-card-add")));
    result.session = await page.evaluate(() => window.ShopAssistant.sessionId());

    // the chat cart shows the line and links to the checkout
    const chatCart = page.locator(tid("sa-cart")).last();
    await chatCart.waitFor();
    assert.match(await chatCart.innerText(), /Your cart · 1 item/);
    await shot(page, "chat-cart.png");
    await chatCart.locator(tid("sa-cart-checkout")).click();
    await page.waitForURL(STORE + "/checkout");
    await page.locator(tid("checkout-customer")).waitFor();
    await page.locator(`${tid("checkout-lines")} li`).first().waitFor();
    assert.match(await page.locator(tid("checkout-lines")).innerText(), new RegExp(TARGET.slice(0, 12).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));

    // the code: the reviewed total shows the discount; then place the order
    assert.match(await review(page, CODE), /Check the total, then place the order/);
    const sums = await page.locator(tid("checkout-sums")).innerText();
    assert.match(sums, /discount −\$\d+\.\d\d/, `the discount is shown: ${sums}`);
    result.sums = sums;
    await page.locator(tid("checkout-place")).click();
    const placed = page.locator(`${tid("checkout-message")}.placed`);
    await placed.waitFor({ timeout: 15_000 });
    const words = await placed.innerText();
    const number = /Order (\d{6}) is placed/.exec(words);
    assert.ok(number, words);
    result.order = number[1];
    await shot(page, "checkout-placed.png");

    // the end of the chat (on the checkout page): the goodbye's five stars, one tap
    await openWidget(page);
    await say(page, "bye");
    const stars = page.locator(`${tid("sa-rating")} ${tid("sa-rate")}:not([disabled])`);
    await stars.first().waitFor();
    assert.equal(await stars.count(), 5);
    await shot(page, "csat-stars.png");
    let before = await bots(page).count();
    await stars.nth(3).click();  // 4 out of 5
    await waitForAnswer(page, before);
    assert.match(await bots(page).last().innerText(), /Thanks for rating us 4 out of 5/);
    assert.match(await page.locator(`${tid("sa-msg")}[data-role=user]`).last().innerText(), /Rated 4 out of 5 \(Good\)/);
    assert.equal(await page.locator(`${tid("sa-rate")}:not([disabled])`).count(), 0, "the stars are spent");
    await shot(page, "csat-rated.png");
    // hostile: a typed score outside 1-5, then a second rating of the same chat
    await say(page, '/rate{"score": 9}');
    assert.match(await bots(page).last().innerText(), /Ratings go from 1 \(poor\) to 5 \(great\)/);
    await say(page, '/rate{"score": 1}');
    assert.match(await bots(page).last().innerText(), /already rated this chat/);

    // a second cart, the same code: refused, saying why, and nothing can be placed
    await page.goto(STORE + "/");
    await openWidget(page);
    // another card of the search (a second tap on the same product's "Add to cart" gets no
    // answer from the bot: see the report of issue 19's browser test)
    await addToCart(page, page.locator(tid("sa-card")).nth(at === 0 ? 1 : 0).locator(tid("sa-card-add")));
    const again = page.locator(tid("sa-cart")).last();
    await again.locator(tid("sa-cart-checkout")).waitFor();
    await again.locator(tid("sa-cart-checkout")).click();
    await page.waitForURL(STORE + "/checkout");
    await page.locator(`${tid("checkout-lines")} li`).first().waitFor();
    const refusal = await review(page, CODE);
    assert.equal(refusal, `The code ${CODE} was already used.`);
    assert.equal(await page.locator(tid("checkout-place")).isDisabled(), true, "no order can be placed with it");
    result.refusal = refusal;
    await shot(page, "checkout-code-refused.png");
    console.log(`# checkout, refusal and rating in ${Date.now() - t0} ms`);
  } catch (err) {
    await shot(page, "failure.png").catch(() => {});
    throw err;
  } finally {
    if (RESULT_FILE) writeFileSync(RESULT_FILE, JSON.stringify(result));
    await context.close();
  }
});
