"""Handing conversations to people: triggers, the handoff state machine, the queue and
wait estimate, tickets for when nobody is online (``service``), sentiment
(``sentiment``) and the configuration (``config``, ``handoff.yml``)."""
