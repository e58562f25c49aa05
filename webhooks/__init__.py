"""Outbound webhooks: event delivery to other systems, following Standard Webhooks.

This package depends on ``engine`` only (never on ``services``).  The engine
writes every event to its outbox with an ``event`` job; ``fanout`` turns that
job into one delivery row (and one ``webhook_delivery`` job) per matching
subscription, and ``delivery`` sends it, signed, with retries.  ``worker.install``
registers both job kinds; the service does that where workers run.
"""
