"""Generate NLU training data that covers how shoppers really write.

``python -m tools.nlu_gen`` writes ``data/nlu/generated/*.yml`` from the paraphrase
templates (``templates/*.yml``, read in name order), synonym tables, wrappers and
informal forms in the YAML files next to this package, with seeded noise (typos,
casing, informal register, frustration). Deterministic: the same inputs always give
the same files (``tests/tools/test_nlu_gen.py``; ``python -m tools.nlu_gen --check``).
"""
