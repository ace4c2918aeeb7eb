"""Handing conversations to people: the handoff state machine and its transcript
(``states``), the queue and wait estimate (``queue``), tickets for when nobody is
online (``tickets``), where a shopper's message goes (``gate``), the conversation
copied into a new handoff (``history``), delivering staff messages (``delivery``),
transcript reads for the console (``queries``), the relay to the shopper's channel
(``relay``), sentiment (``sentiment``) and the configuration (``handoff_config``,
``handoff.yml``)."""
