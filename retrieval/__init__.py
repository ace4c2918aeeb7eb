"""Product retrieval: the text each product is embedded from, and (with the semantic
search issue) the embedding model, the FAISS index and hybrid search.

Nothing here imports ``actions``; nothing heavy is built at import time.
"""
