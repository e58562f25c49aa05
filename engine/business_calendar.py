"""Working days: weekends and public holidays off, make-up working days (调休) on.

Each jurisdiction pack carries its calendar (``calendar.holidays`` and
``calendar.workdays``).  Deadlines count whole working days in China's time
zone and keep the time of day: 5 working days after Friday 10:00 is the next
Friday 10:00 in a normal week, later across a holiday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from engine.errors import InvalidInput

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
WORKING_DAYS = re.compile(r"^\s*(\d+)\s*WD\s*$", re.I)


@dataclass(frozen=True)
class BusinessCalendar:
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day not in self.holidays and day.weekday() < 5

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The moment ``days`` working days after ``start`` (same local time of day)."""
        if days < 0:
            raise InvalidInput(f"a number of working days cannot be negative: {days}")
        local = start.astimezone(CHINA)
        day = local.date()
        remaining = days
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        moved = datetime.combine(day, local.timetz())
        return moved.astimezone(UTC)


WEEKENDS_ONLY = BusinessCalendar()


def working_days(value: str) -> int | None:
    """``"5WD"`` → 5; anything else (an ISO 8601 duration) → None."""
    match = WORKING_DAYS.match(value)
    return int(match.group(1)) if match else None
