"""Agent assist: what the staff console shows beside a handed-off conversation.

- ``panel``: the customer panel, facts only from the database (profile, orders,
  returns, lifetime value, recent interactions, recommended products, eligible offers);
- ``replies``: the LLM summary of the conversation and suggested replies for the
  agent, both through the same runner, verifier and generate-check-retry loop as the
  bot's answers, with templates built from the panel's facts when the LLM cannot.

Nothing here loads a model or touches the database at import time.
"""
