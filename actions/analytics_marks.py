"""What the action server tells analytics about a reply, as a mark on the bot message.

``dispatcher.utter_message(..., analytics=MARKS)``: Rasa keeps the extra key in the bot
event's ``metadata`` (the tracker store and the event broker carry it; the channels send
only text, buttons and custom payloads, so shoppers never see it), and
:mod:`shop.analytics` counts it (docs/operations.md#analytics):

- ``{"search_results": N}`` on the reply to a product search's first page: ``N``
  products found, 0 when the reply showed none;
- ``{"answer": "llm"}`` / ``{"answer": "template"}`` on a generated answer (product
  questions, comparisons, promo messages): the LLM worded it (first try or retry), or
  the template answered instead (LLM off, slow, busy or rejected by the verifier).
"""

from __future__ import annotations

from shop.services.search.query import SearchResult

LLM_SOURCES = ("llm", "llm_retry")


def search_marks(result: SearchResult) -> dict[str, int] | None:
    """The mark of a search reply; ``None`` for a later page ("show me more" running out
    is not a search that found nothing)."""
    if result.query.offset != 0:
        return None
    return {"search_results": result.total if result.cards else 0}


def answer_marks(source: str) -> dict[str, str] | None:
    """The mark of a generated answer from its ``source`` (``llm``, ``llm_retry``,
    ``template``); ``None`` when nothing was generated (``unknown``)."""
    if source in LLM_SOURCES:
        return {"answer": "llm"}
    if source == "template":
        return {"answer": "template"}
    return None
