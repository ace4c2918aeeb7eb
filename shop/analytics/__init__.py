"""Analytics: conversation events from Rasa's event broker (or its SQL tracker store)
stored once each, and the dashboard's figures computed from them and the shop's tables.

- ``figures``: the dataclasses the dashboard shows (the console's contract);
- ``event_shape``: one tracker event read and checked, and its idempotency key;
- ``ingest``: events in, stored once each; ``rollup``: conversations and shopper turns
  recomputed from them;
- ``consumer``: the RabbitMQ consumer and the tracker-store reader;
- ``dashboard_metrics``: the dashboard's figures (not ``metrics.py``: one source file
  name per project, and ``models/recsys/metrics.py`` has it);
- ``conversation_review``: bot-only conversations and transcripts;
- ``export``: CSV, safe against formula injection.
"""
