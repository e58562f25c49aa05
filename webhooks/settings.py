"""How webhooks behave in this installation: target policy, timeout, retries, rotation.

Read from ``HUIQIAN_*`` environment variables by ``WebhookSettings.from_env``;
tests build one directly with a deterministic ``jitter`` and their own policy.

- ``HUIQIAN_WEBHOOK_ALLOW_HOSTS``: hosts, addresses or CIDRs exempt from the SSRF
  rules, comma-separated (default none);
- ``HUIQIAN_DEMO=1``: plain http to any public host (``huiqian demo`` sets it);
- ``HUIQIAN_WEBHOOK_TIMEOUT_SECONDS``: a 2xx must arrive within it (15);
- ``HUIQIAN_WEBHOOK_RETRY_SCHEDULE``: seconds before retry 1, 2, …, comma-separated
  (5,300,1800,7200,18000,36000,36000: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h);
- ``HUIQIAN_WEBHOOK_ROTATION_OVERLAP_SECONDS``: how long the old secret keeps signing
  after a rotation (86400).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from webhooks.ssrf import AllowList, TargetPolicy

DEFAULT_SCHEDULE = tuple(
    timedelta(seconds=s) for s in (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
)
Jitter = Callable[[timedelta], timedelta]


def proportional_jitter(delay: timedelta) -> timedelta:
    """±20 %, so receivers that come back up are not hit by every retry at once."""
    return delay * random.uniform(0.8, 1.2)


def no_jitter(delay: timedelta) -> timedelta:
    return delay


@dataclass(frozen=True)
class WebhookSettings:
    policy: TargetPolicy = field(default_factory=TargetPolicy)
    timeout_seconds: float = 15.0
    retry_schedule: tuple[timedelta, ...] = DEFAULT_SCHEDULE
    jitter: Jitter = proportional_jitter
    rotation_overlap: timedelta = timedelta(hours=24)
    response_excerpt_chars: int = 1000

    @property
    def max_attempts(self) -> int:
        return len(self.retry_schedule) + 1

    @property
    def lease(self) -> timedelta:
        """How long an attempt in flight may take before another worker retries it."""
        return timedelta(seconds=self.timeout_seconds + 5)

    def retry_delay(self, attempts_made: int) -> timedelta:
        return self.jitter(self.retry_schedule[attempts_made - 1])

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> WebhookSettings:
        schedule = environ.get("HUIQIAN_WEBHOOK_RETRY_SCHEDULE")
        return cls(
            policy=TargetPolicy(
                allow=AllowList.parse(environ.get("HUIQIAN_WEBHOOK_ALLOW_HOSTS", "")),
                demo=environ.get("HUIQIAN_DEMO", "") == "1",
            ),
            timeout_seconds=float(environ.get("HUIQIAN_WEBHOOK_TIMEOUT_SECONDS", 15)),
            retry_schedule=(
                tuple(timedelta(seconds=float(s)) for s in schedule.split(",") if s.strip())
                if schedule
                else DEFAULT_SCHEDULE
            ),
            rotation_overlap=timedelta(
                seconds=float(environ.get("HUIQIAN_WEBHOOK_ROTATION_OVERLAP_SECONDS", 86400))
            ),
        )
