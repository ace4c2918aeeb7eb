"""Rasa NLU component: a message that is clearly not in English becomes intent
``other_language`` with an entity ``language`` (ISO 639-1), so the assistant answers it
honestly in that language (``action_other_language``) instead of guessing an intent
from words it was never trained on.

In ``config.yml`` after ``FallbackClassifier`` (the last NLU component)::

    - name: bot.nlu.language.LanguageDetector

The detector itself is :mod:`bot.nlu.language_id` (no dependencies; its word lists are
in ``bot/nlu/language_profiles.json``). English, and anything the detector is unsure
about, passes through untouched. The classifiers' ranking is kept, with
``other_language`` put first at confidence 1.0. It runs after the FallbackClassifier:
before it, the 1.0 would sit beside the classifiers' own near-1.0 guess and the fallback
would call the two ambiguous, turning every foreign message into ``nlu_fallback``.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.language_id import foreign_language, load_profiles

logger = logging.getLogger(__name__)

INTENT_KEY = "intent"
ENTITY_KEY = "entity"
PROFILES_KEY = "profiles"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class LanguageDetector(GraphComponent, IntentClassifier):
    """Sets ``other_language`` + entity ``language`` on messages that are not English."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            INTENT_KEY: "other_language",  # the intent a non-English message gets
            ENTITY_KEY: "language",  # the entity holding its ISO 639-1 code
            PROFILES_KEY: None,  # another profiles file (default: bot/nlu/language_profiles.json)
        }

    def __init__(self, config: dict[str, Any]) -> None:
        self.component_config = {**self.get_default_config(), **(config or {})}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        detector = cls(config)
        load_profiles(detector.component_config[PROFILES_KEY])  # read the profiles once, at load time
        return detector

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._process_one(message)
        return messages

    def process_training_data(self, training_data: Any) -> Any:
        return training_data

    def _process_one(self, message: Message) -> None:
        text = message.get(TEXT)
        if not isinstance(text, str) or not text.strip():
            return
        code = self.detect(text)
        if code is None:
            return
        intent_name = self.component_config[INTENT_KEY]
        intent = {INTENT_NAME_KEY: intent_name, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get(INTENT_NAME_KEY) != intent_name]
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [dict(intent), *ranking], add_to_output=True)
        entities = [e for e in (message.get(ENTITIES) or [])
                    if e.get(ENTITY_ATTRIBUTE_TYPE) != self.component_config[ENTITY_KEY]]
        entities.append({
            ENTITY_ATTRIBUTE_TYPE: self.component_config[ENTITY_KEY],
            ENTITY_ATTRIBUTE_VALUE: code,
            ENTITY_ATTRIBUTE_START: 0,
            ENTITY_ATTRIBUTE_END: len(text),
            ENTITY_ATTRIBUTE_CONFIDENCE: 1.0,
            EXTRACTOR: type(self).__name__,
        })
        message.set(ENTITIES, entities, add_to_output=True)
        logger.debug("message read as language %s", code)

    def detect(self, text: str) -> str | None:
        """The message's ISO 639-1 code when it is not English, else ``None``."""
        return foreign_language(text, profiles=load_profiles(self.component_config[PROFILES_KEY]))
