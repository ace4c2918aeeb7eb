"""Rasa-side code and configuration: domain, endpoints, credentials and the custom
input channels. Modules here run in the Rasa server's Python 3.10 environment;
``bot.inbound`` is plain Python so both environments can import it."""
