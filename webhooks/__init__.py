"""Outbound webhooks: event delivery to other systems, following Standard Webhooks.

Empty until the webhooks issue lands.  This package will depend on ``engine``
only (never on ``services``); deliveries will be rows written in the same
transaction as the state change that causes them, and sent by the job worker.
"""
