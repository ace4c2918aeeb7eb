"""Grounded answers: the LLM words facts from the database, the verifier checks the
words, and the template answers when the LLM cannot.

The flow (:func:`grounded_answer`) for product questions and comparisons:

1. facts as text lines (:func:`product_grounds`, plus policy texts the question touches),
   in two tiers (:class:`models.llm.verify.Facts`): database fields, and free text (the
   description, reviews) that grounds words but never codes, prices, percentages,
   links or promises;
2. the LLM answers from them alone (:mod:`models.llm.prompts`);
3. :func:`models.llm.verify.unsupported` checks every number, size, code, name, link
   and promise in the answer against the facts (the shopper's question counts as given
   text, so echoing their words is fine); on a problem the LLM gets one retry with
   the problems spelled out;
4. still wrong, timed out, busy or no LLM configured: the template answer
   (:mod:`shop.services.product_answers`) built from the same facts; when the facts are
   silent, ``text=None`` and the action says "I don't know" and offers a person.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from models.llm import prompts
from models.llm.checked import generate_checked
from models.llm.prompts import GENERIC_VOICE, Prompt
from models.llm.runner import LLMRunner
from models.llm.shop_voice import ShopVoice
from models.llm.verify import Facts, flips_answer, required_missing, unsupported
from shop.services import product_answers
from shop.services.catalog import ProductDetails
from shop.services.policies import get_policy
from shop.services.question_topics import Asked, read_question

MAX_QUESTION_CHARS = 500
Source = Literal["llm", "llm_retry", "template", "unknown"]

# policy keys whose text joins the facts when the question mentions these words
POLICY_TOPICS: dict[str, tuple[str, ...]] = {
    r"\b(return|refund|send (it )?back|exchange)": ("returns_window", "returns_how", "returns_exchange"),
    r"\b(ship|shipping|deliver|delivery|arrive|postage)": ("shipping_cost", "shipping_time"),
    r"\b(pay|payment|instal+ments?|klarna|paypal)": ("payment_methods", "payment_installments"),
}


@dataclass(frozen=True)
class Answer:
    """What to tell the shopper.

    Attributes:
        text: the answer, or ``None`` when the facts do not answer the question.
        source: ``"llm"`` (first try passed), ``"llm_retry"``, ``"template"`` or ``"unknown"``.
        problems: what the verifier rejected on the way (empty when the first try passed).
    """

    text: str | None
    source: Source
    problems: tuple[str, ...] = ()


REVIEW_WORDS = re.compile(r"\b(reviews?|rated|rating|people|customers|shoppers|comfortable|comfort|quality|"
                          r"worth|fit|fits|sizing|runs?|durable|last)\b", re.I)
MAX_DESCRIPTION_CHARS = 400


def product_fact_lines(details: ProductDetails, *, reviews: bool = True) -> list[tuple[str, bool]]:
    """One product's facts as ``(line, structured)`` pairs: name, brand, price, rating,
    description (first 400 characters), features, material, weight, fit, uses, units in
    stock per size/colour and, with ``reviews``, up to three review snippets.
    ``structured`` is ``False`` for the free-text lines (the description and reviews),
    which may ground words but never codes, prices, percentages or links."""
    card, attrs = details.card, details.attributes
    lines = [(f"Product: {card.title}" + (f" by {card.brand}" if card.brand else ""), True)]
    lines.append((f"Price: {card.price}" + (f" (was {details.compare_at})" if details.compare_at else ""), True))
    if details.category:
        lines.append((f"Category: {details.category}; fit for: {details.gender}", True))
    lines.append((f"Rating: {card.rating:.1f}/5 from {card.rating_count} reviews" if card.rating
                  else "Rating: no reviews yet", True))
    if details.description:
        description = " ".join(details.description.split())  # one line: no fake "Price:" lines
        lines.append((f"Description: {description[:MAX_DESCRIPTION_CHARS]}", False))
    features = attrs.get("features")
    if features:
        lines.append(("Features: " + ", ".join(str(f) for f in (features if isinstance(features, list)
                                                                  else [features])), True))
    for key, label in (("material", "Material"), ("fit", "Fit"), ("season", "Season")):
        if attrs.get(key):
            lines.append((f"{label}: {attrs[key]}", True))
    if attrs.get("weight_g"):
        lines.append((f"Weight: {attrs['weight_g']} g (about {attrs['weight_g'] / 28.35:.1f} oz)", True))
    uses = attrs.get("use_cases")
    if uses:
        lines.append(("Made for: " + ", ".join(str(u) for u in uses), True))
    # units None: in stock, quantity unknown (a catalog file without stock): no number is stated
    in_stock = [product_answers.variant_label(size, colour) + (f" ({n} left)" if n is not None else "")
                for size, colour, n in details.stock if product_answers.in_stock_units(n)]
    sold_out = [product_answers.variant_label(size, colour) for size, colour, n in details.stock
                if not product_answers.in_stock_units(n)]
    lines.append(("In stock: " + (", ".join(in_stock) if in_stock else "nothing, sold out in every size"), True))
    if all(n is not None for _, _, n in details.stock):
        lines.append((f"Units in stock in all: {sum(max(n or 0, 0) for _, _, n in details.stock)}", True))
    if sold_out:
        lines.append(("Sold out: " + ", ".join(sold_out), True))
    for stars, title, body in details.reviews[:3] if reviews else ():
        snippet = " ".join((body or title or "").split())
        if snippet:
            lines.append((f"Review ({stars}/5): {snippet[:200]}", False))
    return lines


def product_facts(details: ProductDetails, *, reviews: bool = True) -> str:
    """:func:`product_fact_lines` as text, one fact a line (what the model is shown)."""
    return "\n".join(line for line, _ in product_fact_lines(details, reviews=reviews))


def product_grounds(details: ProductDetails, *, reviews: bool = True, site: str = "") -> Facts:
    """:func:`product_fact_lines` as :class:`Facts`: the same text, with only the
    structured lines grounding codes, prices, percentages and links; ``site``: the shop's
    own base URL (links to it are allowed)."""
    lines = product_fact_lines(details, reviews=reviews)
    return Facts("\n".join(line for line, _ in lines), "\n".join(line for line, ok in lines if ok), site)


def policy_facts(session: Session, *, question: str) -> str:
    """The texts of the shop policies the question touches (returns, shipping,
    payment), as lines; ``""`` when it touches none."""
    keys: list[str] = []
    low = (question or "").lower()[:MAX_QUESTION_CHARS]
    for pattern, names in POLICY_TOPICS.items():
        if re.search(pattern, low):
            keys += names
    lines = []
    for key in dict.fromkeys(keys):
        policy = get_policy(session, key=key)
        if policy is not None:
            lines.append(f"Shop policy ({policy.title}): {policy.text}")
    return "\n".join(lines)


async def grounded_answer(prompt: Prompt, *, facts: str | Facts, question: str, runner: LLMRunner | None,
                          template: Callable[[], str | None], max_tokens: int | None = None,
                          voice: ShopVoice = GENERIC_VOICE) -> Answer:
    """Ask ``runner``'s model to answer ``question`` from ``facts`` with ``prompt``,
    verify, retry once, else use ``template()`` (``None`` from it: the facts are silent).
    ``facts``: :class:`Facts` (free text grounds no codes, prices, percentages or links)
    or a string of database fields only. ``voice``: the shop the prompt speaks for (its
    name and description may be echoed).

    Never raises for model trouble: a timeout, a busy model or an error means the template.
    """
    question = (question or "")[:MAX_QUESTION_CHARS]
    if runner is None:
        return _template(template, ())
    checked = await generate_checked(
        runner, prompt, prompts.messages(prompt, voice=voice, facts=facts.text if isinstance(facts, Facts) else facts,
                                         question=question),
        lambda text: unsupported(text, facts, allowed=[question, *voice.given_words()]), unknown_ok=True,
        max_tokens=max_tokens,
    )
    if checked.text is not None:
        return Answer(checked.text, "llm" if checked.attempt == 0 else "llm_retry", checked.problems)
    return _template(template, checked.problems)


def _template(template: Callable[[], str | None], problems: tuple[str, ...]) -> Answer:
    text = template()
    return Answer(text, "template" if text else "unknown", problems)


# the fact lines each topic needs (by their labels in product_facts), besides the product line
TOPIC_LINES: dict[str, tuple[str, ...]] = {
    "material": ("Material",), "weight": ("Weight",), "fit": ("Fit", "Category"), "feature": ("Features",),
    "use": ("Made for",), "season": ("Season", "Features"), "price": ("Price",), "rating": ("Rating",),
    "stock": ("In stock", "Sold out", "Price"), "warranty": ("Description",),
}
YES_NO_TOPICS = frozenset({"feature", "use", "stock"})
FREE_TEXT_TOPICS = frozenset({"warranty"})  # their template answer quotes the description
REWORD_MAX_TOKENS = 80


def topic_facts(details: ProductDetails, asked: Asked, *, site: str = "") -> Facts:
    """Only the fact lines ``asked`` needs (a short prompt is a fast answer), tiered as
    in :func:`product_grounds`."""
    lines = product_fact_lines(details, reviews=False)
    labels = TOPIC_LINES.get(asked.topic, ())
    kept = [lines[0], *(pair for pair in lines[1:] if pair[0].split(":", 1)[0].startswith(labels))]
    return Facts("\n".join(line for line, _ in kept), "\n".join(line for line, ok in kept if ok), site)


def key_values(details: ProductDetails, asked: Asked) -> list[str]:
    """What a worded answer on ``asked`` must still state (the material, the grams ...)."""
    attrs = details.attributes
    values = {"material": attrs.get("material"), "weight": attrs.get("weight_g"), "fit": attrs.get("fit"),
              "price": details.card.price, "use": asked.use if asked.topic == "use" else None,
              "season": attrs.get("season") if not asked.season_asked else None,
              "rating": f"{details.card.rating:.1f}" if details.card.rating else None}
    value = values.get(asked.topic)
    return [str(value)] if value else []


async def reword_answer(details: ProductDetails, question: str, asked: Asked, answer: str, *,
                        runner: LLMRunner | None, site: str = "", voice: ShopVoice = GENERIC_VOICE) -> Answer:
    """The template ``answer`` (already right) said naturally by the LLM from the few
    facts it rests on, checked: nothing unsupported, the key value still stated, the
    same yes or no. Anything else, or no LLM in time: the template itself. The answer
    counts as structured except for warranties (a sentence of the description)."""
    if runner is None:
        return Answer(answer, "template")
    facts = topic_facts(details, asked, site=site)
    grounds = facts.plus(free=answer) if asked.topic in FREE_TEXT_TOPICS else facts.plus(structured=answer)
    required = key_values(details, asked)
    yes_no = asked.topic in YES_NO_TOPICS or bool(asked.season_asked)

    title = details.card.title
    names_it = title.lower() in answer.lower()

    def check(text: str) -> list[str]:
        problems = (unsupported(text, grounds, allowed=[question, *voice.given_words()])
                    + required_missing(text, required))
        if yes_no and flips_answer(text, answer):
            problems.append("it turns the answer's yes or no around")
        if names_it and title.lower() not in text.lower():
            problems.append("it doesn't name the product")  # which product it answers about matters
        return problems

    checked = await generate_checked(
        runner, prompts.PRODUCT_REWORD,
        prompts.messages(prompts.PRODUCT_REWORD, voice=voice, facts=facts.text, answer=answer,
                         question=question[:MAX_QUESTION_CHARS]),
        check, unknown_ok=False, max_tokens=REWORD_MAX_TOKENS)
    if checked.text is not None:
        return Answer(checked.text, "llm" if checked.attempt == 0 else "llm_retry", checked.problems)
    return Answer(answer, "template", checked.problems)


async def answer_product_question(details: ProductDetails, question: str, *, runner: LLMRunner | None,
                                  policies: str = "", size: str | None = None,
                                  colour: str | None = None, site: str = "",
                                  voice: ShopVoice = GENERIC_VOICE) -> Answer:
    """A verified answer to ``question`` about one product; ``policies``:
    :func:`policy_facts` for the question (structured: the shop's own policy texts);
    ``site``: the shop's base URL, whose pages the answer may link to; ``voice``: the
    shop the answer speaks for (name, description, tone).

    When the question's words say what it is about (:func:`read_question`), the answer
    comes from that field of the product's data and the LLM only words it
    (:func:`reword_answer`); what product data never holds (care, origin ...) is "I don't
    know" at once. Otherwise, and for questions that touch shop policies, the LLM answers
    from all the facts (:func:`grounded_answer`)."""
    asked = read_question(question, size=size, colour=colour)
    if not policies and asked is not None:
        if asked.topic == "unanswerable":
            return Answer(None, "unknown")
        answer = product_answers.answer_question(details, question, size=size, colour=colour, asked=asked)
        if answer is not None:
            return await reword_answer(details, question, asked, answer, runner=runner, site=site, voice=voice)
    # review snippets cost prompt time (~40 tokens/s on one core): only when asked about
    facts = product_grounds(details, reviews=bool(REVIEW_WORDS.search(question or "")), site=site).plus(
        structured=policies)
    return await grounded_answer(
        prompts.PRODUCT_QUESTION, facts=facts, question=question, runner=runner,
        template=lambda: product_answers.answer_question(details, question, size=size, colour=colour), voice=voice,
    )


async def compare_products(items: list[ProductDetails], question: str, *, runner: LLMRunner | None,
                           voice: ShopVoice = GENERIC_VOICE) -> Answer:
    """A verified comparison of two or three products: the side-by-side table from the
    database, then a summary that answers what was asked (cheaper, lighter, better
    rated: :func:`product_answers.compare_summary`), worded by the LLM when it keeps the
    winner named first and states nothing the table doesn't."""
    table = product_answers.compare_table(items)
    summary = product_answers.compare_summary(items, question)
    winner = next((d.card.title for d in items if d.card.title in summary.split(".")[0]), None)
    if runner is None:
        return Answer(f"{table}\n{summary}", "template")

    def check(text: str) -> list[str]:
        problems = unsupported(text, f"{table}\n{summary}", allowed=[question, *voice.given_words()])
        first = re.split(r"(?<=[.!?])\s+", text.strip())[0] if text.strip() else ""
        if winner and winner not in first:
            problems.append(f"its first sentence must name the {winner}")
        return problems

    checked = await generate_checked(
        runner, prompts.PRODUCT_REWORD,
        prompts.messages(prompts.PRODUCT_REWORD, voice=voice, facts=table, answer=summary,
                         question=(question or "compare them")[:MAX_QUESTION_CHARS]),
        check, unknown_ok=False, max_tokens=REWORD_MAX_TOKENS)
    if checked.text is not None:
        return Answer(f"{table}\n{checked.text}", "llm" if checked.attempt == 0 else "llm_retry", checked.problems)
    return Answer(f"{table}\n{summary}", "template", checked.problems)
