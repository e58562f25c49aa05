"""SpiffWorkflow's timers read the engine clock (they call datetime.now in their module)."""

from datetime import UTC, datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

from engine import clock

FROZEN = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_library_timer_module_reads_the_clock_of_the_running_step():
    with clock.using(lambda: FROZEN):
        assert spiff_timer.datetime.now(UTC) == FROZEN
        assert spiff_timer.datetime.now() == FROZEN.replace(tzinfo=None)


def test_outside_a_step_the_library_sees_real_time():
    assert abs(spiff_timer.datetime.now(UTC) - datetime.now(UTC)) < timedelta(seconds=5)


def test_fake_clock_advances_by_what_it_is_told():
    fake = clock.FakeClock(FROZEN)
    assert fake.advance(days=1, hours=2) == FROZEN + timedelta(days=1, hours=2)
    assert fake() == FROZEN + timedelta(days=1, hours=2)
