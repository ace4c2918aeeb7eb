"""The console's JSON API by area, each module a router factory taking the
:class:`~apps.console.wiring.Console` (``apps.console.api`` puts them under ``/api``):
``queue`` (the open conversations), ``handoffs`` (one conversation and its state
changes), ``messages`` (text, product cards and offer codes for the shopper),
``assist`` (summary, suggested replies and their events and metrics), ``audit``
(the audit log) and ``staff_admin`` (who is logged in, creating staff)."""
