"""The shop's own data and business logic: database, services, demo data, importers.

Nothing here imports Rasa or rasa-sdk; actions call into these modules.
"""
