"""Keyword side of hybrid search: BM25 over SQLite FTS5, kept in a sidecar file.

The FTS5 table lives in its own SQLite file next to the vector index
(``keyword.sqlite``), not in the shop database, so it works the same whatever the
shop runs on (SQLite or PostgreSQL) and needs no shop migration. Each product is one
row, ``rowid`` = product id, with three columns weighted for BM25:

- ``title`` (weight 8): title and brand, so model names and brand words win;
- ``sku`` (weight 10): the product's SKUs, split into parts by the tokenizer;
- ``body`` (weight 1): the rest of the product document.

Updates are rows deleted and inserted: incremental, immediate. A ``vocab`` table beside
the FTS5 table counts, per unstemmed word (letters only, 3-30 of them), the products
whose title or body holds it; it is kept up to date in the same transactions and is what
spelling correction corrects against (:meth:`KeywordIndex.vocabulary`). Query words are
lower-cased, split on anything that is not a letter or digit, stripped of a few
function words and quoted, so no FTS5 syntax from a shopper ever reaches MATCH.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

KEYWORD_FILE = "keyword.sqlite"
MAX_QUERY_TOKENS = 24
WEIGHTS = (8.0, 10.0, 1.0)  # title, sku, body
FUNCTION_WORDS = frozenset([
    "a", "an", "and", "any", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "got", "have", "i",
    "im", "in", "is", "it", "its", "looking", "me", "my", "need", "of", "on", "or", "our", "please", "pls", "show",
    "some", "something", "that", "the", "their", "there", "these", "this", "those", "to", "want", "wanna", "what",
    "which", "who", "with", "you", "your", "i'm",
])
_TOKEN = re.compile(r"[a-z0-9]+")
_VOCAB_WORD = re.compile(r"[a-z]{3,30}")
_POSSESSIVE = re.compile(r"(?<=[a-z])'s\b|(?<=s)'(?![a-z])")
_VOCAB_UPSERT = "INSERT INTO vocab(word, n) VALUES (?, ?) ON CONFLICT(word) DO UPDATE SET n = n + excluded.n"


def fold(text: str) -> str:
    """``text`` lower-cased, without accents or possessive endings, as the index's
    tokenizer sees words: "Home Décor" -> "home decor", "Men's" -> "men", "Kids'" -> "kids"."""
    text = unicodedata.normalize("NFKD", (text or "").lower().replace("\u2019", "'").replace("`", "'"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _POSSESSIVE.sub("", text)


def doc_words(*texts: str) -> set[str]:
    """The vocabulary words of a document: lower-case, accents removed, letters only, 3-30 long."""
    return set(_VOCAB_WORD.findall(fold(" ".join(texts))))


def query_tokens(text: str) -> list[str]:
    """Search tokens of ``text``: folded (:func:`fold`) runs of letters/digits, function
    words dropped, de-duplicated in order, at most ``MAX_QUERY_TOKENS``."""
    seen: dict[str, None] = {}
    for token in _TOKEN.findall(fold((text or "")[:2000])):
        if token not in FUNCTION_WORDS:
            seen.setdefault(token, None)
    return list(seen)[:MAX_QUERY_TOKENS]


@dataclass(frozen=True)
class KeywordDoc:
    """One product as the keyword index sees it."""

    product_id: int
    title: str
    sku: str
    body: str


class KeywordIndex:
    """BM25 keyword search over products in an FTS5 table (file or ``":memory:"``).

    One connection guarded by a lock, usable from several threads.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._generation = 0
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5("
                "title, sku, body, tokenize = 'porter unicode61 remove_diacritics 2')"
            )
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS vocab(word TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
            empty = self._conn.execute("SELECT count(*) FROM vocab").fetchone()[0] == 0
            if empty and self._conn.execute("SELECT count(*) FROM docs").fetchone()[0]:
                self._backfill_vocab()  # an index written before the vocabulary existed

    def _backfill_vocab(self) -> None:
        counts: Counter[str] = Counter()
        for title, body in self._conn.execute("SELECT title, body FROM docs"):
            counts.update(doc_words(title or "", body or ""))
        self._conn.execute("BEGIN")
        self._conn.executemany(_VOCAB_UPSERT, counts.items())
        self._conn.execute("COMMIT")

    @property
    def generation(self) -> int:
        """Incremented by every write through this object (so derived caches know to rebuild)."""
        return self._generation

    def vocabulary(self) -> dict[str, int]:
        """``{word: products holding it}`` over titles and bodies (unstemmed, see :func:`doc_words`)."""
        with self._lock:
            return {str(w): int(n) for w, n in self._conn.execute("SELECT word, n FROM vocab")}

    def _vocab_delta(self, ids: list[int], new: list[tuple[int, str, str, str]]) -> Counter[str]:
        """Vocabulary changes when the docs ``ids`` are replaced by ``new`` (lock held)."""
        delta: Counter[str] = Counter()
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            for title, body in self._conn.execute(
                f"SELECT title, body FROM docs WHERE rowid IN ({marks})", chunk  # noqa: S608  - placeholders only
            ):
                delta.subtract(doc_words(title or "", body or ""))
        for row in new:
            delta.update(doc_words(row[1], row[3]))
        return delta

    def _apply_vocab(self, delta: Counter[str]) -> None:
        changes = [(w, n) for w, n in delta.items() if n]
        if changes:
            self._conn.executemany(_VOCAB_UPSERT, changes)
            self._conn.execute("DELETE FROM vocab WHERE n <= 0")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM docs").fetchone()[0])

    def upsert(self, docs: Iterable[KeywordDoc]) -> int:
        """Insert or replace ``docs`` (by product id); returns how many were written."""
        rows = [(d.product_id, d.title, d.sku, d.body) for d in docs]
        if not rows:
            return 0
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                delta = self._vocab_delta([r[0] for r in rows], rows)
                self._conn.executemany("DELETE FROM docs WHERE rowid = ?", [(r[0],) for r in rows])
                self._conn.executemany("INSERT INTO docs(rowid, title, sku, body) VALUES (?, ?, ?, ?)", rows)
                self._apply_vocab(delta)
                self._conn.execute("COMMIT")
            except sqlite3.Error:
                self._conn.execute("ROLLBACK")
                raise
            self._generation += 1
        return len(rows)

    def remove(self, product_ids: Iterable[int]) -> None:
        """Delete these products (unknown ids are ignored)."""
        ids = [(int(i),) for i in product_ids]
        if not ids:
            return
        with self._lock:
            self._conn.execute("BEGIN")
            self._apply_vocab(self._vocab_delta([i[0] for i in ids], []))
            self._conn.executemany("DELETE FROM docs WHERE rowid = ?", ids)
            self._conn.execute("COMMIT")
            self._generation += 1

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM docs")
            self._conn.execute("DELETE FROM vocab")
            self._generation += 1

    def search(
        self, text: str, k: int, *, allowed: Sequence[int] | None = None, tokens: list[str] | None = None
    ) -> list[tuple[int, float]]:
        """Products matching any query token (or any of ``tokens``), best BM25 first:
        ``[(product id, score)]`` with score > 0 (higher is better), at most ``k``.
        ``allowed``: only these ids."""
        tokens = query_tokens(text) if tokens is None else tokens
        if not tokens or k < 1:
            return []
        match = " OR ".join(f'"{t}"' for t in tokens)
        return self._run(match, k, allowed)

    def token_counts(self, text: str) -> dict[str, int]:
        """``{token: products holding it}`` for the query tokens the index knows (a word no
        product uses, like "gear" or a typo, is left out), in query order."""
        counts: dict[str, int] = {}
        for token in query_tokens(text):
            with self._lock:
                n = self._conn.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (f'"{token}"',)).fetchone()[0]
            if n:
                counts[token] = int(n)
        return counts

    def known_tokens(self, text: str) -> list[str]:
        """The query tokens that occur somewhere in the index (see :meth:`token_counts`)."""
        return list(self.token_counts(text))

    def all_words(self, text: str, k: int, *, allowed: Sequence[int] | None = None,
                  tokens: list[str] | None = None) -> list[tuple[int, float]]:
        """Products holding *every* known query token (:meth:`known_tokens`, or
        ``tokens``) in any column, best BM25 first."""
        tokens = self.known_tokens(text) if tokens is None else tokens
        if not tokens or k < 1:
            return []
        return self._run(" AND ".join(f'"{t}"' for t in tokens), k, allowed)

    def title_matches(self, text: str, k: int, *, allowed: Sequence[int] | None = None,
                      tokens: list[str] | None = None) -> list[tuple[int, float]]:
        """Products whose title or SKU holds *every* known query token, best BM25 first."""
        tokens = self.known_tokens(text) if tokens is None else tokens
        if not tokens or k < 1:
            return []
        match = " AND ".join(f'{{title sku}} : "{t}"' for t in tokens)
        return self._run(match, k, allowed)

    def _run(self, match: str, k: int, allowed: Sequence[int] | None) -> list[tuple[int, float]]:
        """Top ``k`` of ``match`` by BM25; with ``allowed``, the best ``k`` among those ids
        (filtered while reading the ranked rows: a rowid IN-list inside an FTS5 query is
        far slower for large lists)."""
        sql = (f"SELECT rowid, bm25(docs, {WEIGHTS[0]}, {WEIGHTS[1]}, {WEIGHTS[2]}) AS s "  # noqa: S608  - fixed WEIGHTS; MATCH text is bound
               "FROM docs WHERE docs MATCH ? ORDER BY s")
        if allowed is None:
            with self._lock:
                rows = self._conn.execute(sql + " LIMIT ?", (match, int(k))).fetchall()
            return [(int(pid), -float(score)) for pid, score in rows]
        keep = {int(i) for i in allowed}
        out: list[tuple[int, float]] = []
        if not keep:
            return out
        with self._lock:
            cursor = self._conn.execute(sql, (match,))
            while len(out) < k:
                batch = cursor.fetchmany(2_000)
                if not batch:
                    break
                out.extend((int(pid), -float(score)) for pid, score in batch if int(pid) in keep)
            cursor.close()
        return out[:k]
