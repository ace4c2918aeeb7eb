"""The staff console (issue 7): a FastAPI app where agents take over handed-off
conversations. ``app`` builds it, ``auth`` holds sessions, CSRF and the login rate
limit, ``api`` the JSON routes, ``sse`` the live event stream, ``staff`` the accounts
(argon2id hashes, the demo logins). Run it with ``python -m apps.cli console``."""
