"""Working-day arithmetic with weekends, public holidays and make-up working days."""

from datetime import UTC, datetime

import pytest

from engine.business_calendar import CHINA, WEEKENDS_ONLY, BusinessCalendar, working_days
from engine.errors import InvalidInput
from engine.jurisdictions import load_all

BAOJI = load_all()["baoji"]
CALENDAR = BusinessCalendar(BAOJI.holidays, BAOJI.workdays)


def at(day: str, time: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=CHINA)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (at("2026-03-02"), 5, at("2026-03-09")),  # Monday → next Monday
        (at("2026-03-06"), 1, at("2026-03-09")),  # Friday → Monday
        (at("2026-03-07"), 1, at("2026-03-09")),  # Saturday → Monday
        (at("2026-09-30"), 1, at("2026-10-08")),  # across 国庆节 (10-01 … 10-07)
        (at("2026-09-30"), 3, at("2026-10-10")),  # make-up Saturday 10-10 is a working day
        (at("2026-09-18"), 1, at("2026-09-20")),  # make-up Sunday 09-20 is a working day
        (at("2026-09-24"), 1, at("2026-09-28")),  # 中秋节 09-25 … 09-27
        (at("2026-02-13"), 2, at("2026-02-24")),  # 春节: 02-14 make-up, 02-15 … 02-23 off
        (at("2026-03-02", "23:30"), 0, at("2026-03-02", "23:30")),
    ],
)
def test_working_days_skip_weekends_and_holidays(start, days, due):
    assert CALENDAR.add_working_days(start, days) == due


def test_days_are_counted_in_china_time_and_answered_in_utc():
    friday_late_utc = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)  # Saturday 01:00 in China
    due = CALENDAR.add_working_days(friday_late_utc, 1)
    assert due == datetime(2026, 3, 8, 17, 0, tzinfo=UTC)  # Monday 01:00 in China
    assert due.tzinfo == UTC


def test_without_a_pack_only_weekends_are_off():
    assert WEEKENDS_ONLY.add_working_days(at("2026-09-30"), 1) == at("2026-10-01")


def test_negative_days_are_refused():
    with pytest.raises(InvalidInput):
        CALENDAR.add_working_days(at("2026-03-02"), -1)


@pytest.mark.parametrize(
    ("text", "days"), [("5WD", 5), (" 12 wd ", 12), ("P5D", None), ("5D", None)]
)
def test_working_day_notation(text, days):
    assert working_days(text) == days
