"""Which job kinds a worker runs for webhooks: ``event`` (fan-out) and ``webhook_delivery``."""

from __future__ import annotations

from engine import jobs
from engine.events import EVENT_JOB
from webhooks.delivery import Deliverer
from webhooks.fanout import DELIVERY_JOB, fan_out
from webhooks.settings import WebhookSettings


def install(settings: WebhookSettings) -> None:
    """Teach this process's job workers to fan out events and deliver them."""
    jobs.register(EVENT_JOB, fan_out)
    jobs.register(DELIVERY_JOB, Deliverer(settings))
