"""Shop database: ORM schema, engine/session factories and migrations."""
