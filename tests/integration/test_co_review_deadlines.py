"""The co-review's due date, reminder and escalation fall on working days of the jurisdiction."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine import commands, jobs
from engine.business_calendar import CHINA
from engine.clock import FakeClock
from engine.identity import SYSTEM
from engine.models import AuditEntry, Event
from services.config import LIBRARY_DIR


def china(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA)


# Tuesday before 国庆节: 5 working days are 09-30, 10-08, 10-09, 10-10 (make-up Saturday), 10-12.
STARTED = china("2026-09-29T10:00")
DUE = china("2026-10-12T10:00")
REMINDER = china("2026-10-10T10:00")


def _start(app, deploy, **variables):
    deploy(LIBRARY_DIR / "co_review.bpmn")
    ctx = app.extensions["huiqian.engine"]
    ctx.clock = FakeClock(STARTED.astimezone(UTC))
    instance = commands.start_instance(
        ctx,
        SYSTEM,
        process_key="co_review",
        variables={"subject": "西岐名吃", "departments": ["hrss", "fin"], **variables},
        jurisdiction="baoji",
    )
    return ctx, instance


@pytest.fixture
def co_review(app, deploy):
    return _start(app, deploy)


def _events(ctx, type_):
    with ctx.db.read_session() as s:
        return list(s.scalars(select(Event).where(Event.type == type_).order_by(Event.at)))


def _audit(ctx, action):
    with ctx.db.read_session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _at(ctx, moment):
    ctx.clock.current = moment.astimezone(UTC)
    jobs.run_due_jobs(ctx)


def test_each_department_task_is_due_after_five_working_days(co_review):
    ctx, instance = co_review
    tasks = commands.list_open_tasks(ctx, instance.id)
    assert {task.department for task in tasks} == {"hrss", "fin"}
    assert {task.due_at for task in tasks} == {DUE.astimezone(UTC)}


def test_reminder_fires_one_working_day_before_the_due_date(co_review):
    ctx, instance = co_review
    _at(ctx, china("2026-10-10T09:59"))
    assert _events(ctx, "task.reminder") == []
    _at(ctx, china("2026-10-10T10:00:01"))
    reminders = _events(ctx, "task.reminder")
    assert sorted(event.data["department"] for event in reminders) == ["fin", "hrss"]
    assert all(event.at == ctx.clock() for event in reminders)


def test_only_unanswered_departments_are_reminded_and_escalated(co_review):
    ctx, instance = co_review
    hrss_task = next(
        t for t in commands.list_open_tasks(ctx, instance.id) if t.department == "hrss"
    )
    ctx.clock.current = china("2026-10-08T15:00").astimezone(UTC)
    commands.complete_task(ctx, SYSTEM, hrss_task.id, {"decision": "approve"})

    _at(ctx, REMINDER.replace(second=1))
    assert [event.data["department"] for event in _events(ctx, "task.reminder")] == ["fin"]

    _at(ctx, china("2026-10-12T09:59"))
    assert _audit(ctx, "escalate") == []
    assert _events(ctx, "task.overdue") == []
    _at(ctx, DUE.replace(second=1))
    [escalation] = _audit(ctx, "escalate")
    assert escalation.details == {"escalated_to": "hrss", "departments": ["fin"]}
    assert [event.data["department"] for event in _events(ctx, "task.overdue")] == ["fin"]
    variables = commands.get_instance(ctx, SYSTEM, instance.id).variables
    assert variables["escalation"] == {"escalated_to": "hrss", "departments": ["fin"]}


def test_the_review_still_completes_after_escalation(co_review):
    ctx, instance = co_review
    _at(ctx, DUE.replace(second=1))
    for task in commands.list_open_tasks(ctx, instance.id):
        commands.complete_task(ctx, SYSTEM, task.id, {"decision": "approve"})
    finished = commands.get_instance(ctx, SYSTEM, instance.id)
    assert finished.status == "completed"
    assert finished.variables["result"] == "approved"


def test_a_one_working_day_deadline_sends_no_reminder_and_escalates_when_due(app, deploy):
    """The day before a one-day deadline is the assignment itself: nobody is reminded."""
    ctx, instance = _start(app, deploy, due_working_days=1)
    due = china("2026-09-30T10:00")
    assert {task.due_at for task in commands.list_open_tasks(ctx, instance.id)} == {
        due.astimezone(UTC)
    }
    _at(ctx, STARTED.replace(second=1))
    _at(ctx, china("2026-09-30T09:59"))
    assert _events(ctx, "task.reminder") == []
    assert _audit(ctx, "remind") == []
    assert _audit(ctx, "escalate") == []

    _at(ctx, due.replace(second=1))
    [escalation] = _audit(ctx, "escalate")
    assert escalation.details == {"escalated_to": "hrss", "departments": ["hrss", "fin"]}
    assert _events(ctx, "task.reminder") == []


def test_a_two_working_day_deadline_reminds_after_the_first_day(app, deploy):
    ctx, _instance = _start(app, deploy, due_working_days=2)
    _at(ctx, china("2026-09-30T09:59"))
    assert _events(ctx, "task.reminder") == []
    _at(ctx, china("2026-09-30T10:00:01"))
    reminders = _events(ctx, "task.reminder")
    assert sorted(event.data["department"] for event in reminders) == ["fin", "hrss"]
