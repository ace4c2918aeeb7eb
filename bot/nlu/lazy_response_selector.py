"""Rasa NLU component: Rasa's ResponseSelector, run only for messages its retrieval
intent could be about.

The stock selector predicts a response for every message, whatever the intent, so
the FAQ and chitchat selectors cost about a fifth of every parse (see
``bench/nlu_parse_profile.py``). This one predicts only when its retrieval intent is
among the top ``candidate_rank`` intents of the classifier's ranking (default 4, the
LLM intent judge's candidates), so a message that can end up ``faq`` or ``chitchat`` still
gets its response; for the others the ``response_selector`` entry is simply absent,
which every consumer handles (``actions/conversation.py`` answers FAQ questions from
the text when no key was picked).

In ``config.yml``, in place of ``ResponseSelector``, after the intent classifier::

    - name: bot.nlu.lazy_response_selector.LazyResponseSelector
      retrieval_intent: faq
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT_NAME_KEY, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

CANDIDATE_RANK = "candidate_rank"


def may_be_about(message: Message, intent: str | None, *, rank: int) -> bool:
    """Whether ``intent`` is among the top ``rank`` intents the classifier ranked for
    ``message`` (always true without a retrieval intent or a ranking)."""
    if not intent:
        return True
    ranking = message.get(INTENT_RANKING_KEY)
    if not ranking:
        return True
    return any(item.get(INTENT_NAME_KEY) == intent for item in ranking[:rank])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LazyResponseSelector(ResponseSelector):
    """:class:`ResponseSelector` that skips messages its retrieval intent can't be about."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**ResponseSelector.get_default_config(), CANDIDATE_RANK: 4}

    def process(self, messages: list[Message]) -> list[Message]:
        rank = max(1, int(self.component_config.get(CANDIDATE_RANK, 4)))
        wanted = [m for m in messages if may_be_about(m, self.retrieval_intent, rank=rank)]
        if wanted:
            super().process(wanted)
        return messages
