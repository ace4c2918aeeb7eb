"""The core domain: the database (``shop.db``), the action-server process's settings
(``shop.settings``), and the business logic (``shop.services``, ``shop.handoff``,
``shop.promo``, ``shop.assist``).

Nothing here imports Rasa, rasa-sdk, the apps or the tools; actions and apps call into
these modules.
"""
