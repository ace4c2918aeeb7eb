"""Promo messages: the LLM words an issued offer, the verifier holds it to the terms.

The facts are the customer's first name, a product they liked (their latest purchase,
from the database), the offer's terms and the issued code. A message is sent only
if it states the exact code, discount, price and expiry and no number the facts do
not hold; otherwise it is retried once, then the template is used. The template is
built from the same facts, so a shopper always gets the real terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.llm import prompts
from models.llm.checked import generate_checked, leaks_prompt
from models.llm.prompts import GENERIC_VOICE
from models.llm.runner import LLMRunner
from models.llm.shop_voice import ShopVoice
from models.llm.verify import required_missing, unsupported
from shop.db.schema import Customer, Offer, Order, OrderItem, Product
from shop.promo.offers import Terms, applies_to, discount_cents
from shop.services.money import format_money


@dataclass(frozen=True)
class PromoFacts:
    """Everything a promo message may state. ``price``: the featured product's price
    with the offer applied (its plain price for free shipping); ``expires``: the code's
    expiry as words ("December 1, 2026")."""

    first_name: str
    liked: str | None
    terms: Terms
    code: str
    expires: str
    product: str | None
    price: str | None

    def as_text(self) -> str:
        lines = [f"Customer first name: {self.first_name}"]
        if self.liked:
            lines.append(f"They bought before: {self.liked}")
        lines += [f"Personal promo offer (a discount code): {self.terms.discount} on {self.terms.applies_to}",
                  f"Code: {self.code}", f"Code expires: {self.expires}"]
        if self.product and self.price:
            lines.append(f"Featured product: {self.product}, {self.price} with the code")
        return "\n".join(lines)

    def required(self) -> list[str]:
        """Strings a message must contain: the code, the discount, the price and the expiry."""
        discount = self.terms.discount.split(" off")[0] if " off" in self.terms.discount else self.terms.discount
        return [x for x in (self.code, discount, self.price, self.expires) if x]


@dataclass(frozen=True)
class PromoMessage:
    text: str
    source: str          # "llm" | "llm_retry" | "template"
    problems: tuple[str, ...] = ()


def expiry_words(at: datetime) -> str:
    """``datetime(2026, 12, 1)`` -> ``"December 1, 2026"``."""
    return f"{at.strftime('%B')} {at.day}, {at.year}"


def promo_facts(session: Session, *, customer_id: int, terms: Terms, code: str, expires_at: datetime,
                offer_id: int) -> PromoFacts:
    """The facts of one issued code: name, the latest product bought, and a featured
    product the offer covers (the liked one when it does, else the best-rated covered one)."""

    customer = session.get(Customer, customer_id)
    offer = session.get(Offer, offer_id)
    last = session.execute(
        select(Product).join(OrderItem, OrderItem.product_id == Product.id).join(Order, Order.id == OrderItem.order_id)
        .where(Order.customer_id == customer_id, Order.status != "cancelled", Product.is_active.is_(True))
        .order_by(Order.placed_at.desc()).limit(1)
    ).scalar_one_or_none()
    featured = last if (last is not None and offer is not None and applies_to(session, offer, last)) else None
    if featured is None and offer is not None:
        for product in session.scalars(select(Product).where(Product.is_active.is_(True))
                                       .order_by(Product.rating_count.desc(), Product.id).limit(200)):
            if applies_to(session, offer, product):
                featured = product
                break
    price = None
    if featured is not None and offer is not None:
        quantity = max(1, offer.min_items) if offer.kind == "bundle" else 1
        cents = featured.price_cents * quantity - discount_cents(offer, featured, quantity=quantity)
        price = format_money(cents, featured.currency)
    return PromoFacts(first_name=customer.first_name if customer else "there", liked=last.title if last else None,
                      terms=terms, code=code, expires=expiry_words(expires_at),
                      product=featured.title if featured else None, price=price)


def template_message(facts: PromoFacts) -> str:
    """The promo message without the LLM: every term, from the facts."""
    opener = f"Hi {facts.first_name}! " + (f"Since you liked the {facts.liked}, here's " if facts.liked else "Here's ")
    text = (f"{opener}{facts.terms.discount} on {facts.terms.applies_to} with code {facts.code}, "
            f"valid until {facts.expires}.")
    if facts.product and facts.price:
        text += f" The {facts.product} would be {facts.price} with it."
    return text


def _term_problems(text: str, facts: PromoFacts, voice: ShopVoice = GENERIC_VOICE) -> list[str]:
    return required_missing(text, facts.required()) + unsupported(
        text, f"{facts.as_text()}\n{template_message(facts)}", allowed=voice.given_words())


def check_message(text: str, facts: PromoFacts, voice: ShopVoice = GENERIC_VOICE) -> list[str]:
    """Problems with a promo message: a required term missing, anything ungrounded (the
    shop's name and description may be echoed), or the instructions repeated."""
    problems = _term_problems(text, facts, voice)
    if leaks_prompt(text, prompts.PROMO_COPY):
        problems.append("it repeats the instructions")
    return problems


async def promo_message(facts: PromoFacts, *, runner: LLMRunner | None,
                        voice: ShopVoice = GENERIC_VOICE) -> PromoMessage:
    """The verified LLM message, or the template (see the module docstring); ``voice``:
    the shop it speaks for."""
    if runner is None:
        return PromoMessage(template_message(facts), "template")
    checked = await generate_checked(
        runner, prompts.PROMO_COPY,
        prompts.messages(prompts.PROMO_COPY, voice=voice, facts=facts.as_text(), draft=template_message(facts)),
        lambda text: _term_problems(text, facts, voice), unknown_ok=False,
    )
    if checked.text is not None:
        return PromoMessage(checked.text, "llm" if checked.attempt == 0 else "llm_retry", checked.problems)
    return PromoMessage(template_message(facts), "template", checked.problems)
