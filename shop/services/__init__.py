"""Business logic the actions call: plain functions over a SQLAlchemy session."""
