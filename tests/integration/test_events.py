"""Every change writes its events to the outbox in the same transaction."""

from sqlalchemy import select

from engine.models import Event, Job
from tests.conftest import FIXTURES


def _events(app):
    with app.extensions["huiqian.engine"].db.read_session() as s:
        events = list(s.scalars(select(Event).order_by(Event.at, Event.id)))
        jobs = {
            job.payload["event_id"] for job in s.scalars(select(Job).where(Job.kind == "event"))
        }
    return events, jobs


def test_a_two_lane_run_announces_each_step_in_order(app, client, login, deploy):
    deploy(FIXTURES / "two_lanes.bpmn")
    started = client.post(
        "/api/v1/instances",
        headers=login("designer"),
        json={"process_key": "two_lane_review", "jurisdiction": "baoji"},
    ).get_json()
    for officer in ("baoji.hrss", "baoji.fin"):
        headers = login(officer)
        [task] = client.get("/api/v1/tasks?state=open", headers=headers).get_json()
        assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers).status_code == 200
        client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={"data": {}})

    events, event_jobs = _events(app)
    assert [e.type for e in events] == [
        "instance.started",
        "task.created",
        "task.assigned",
        "task.completed",
        "task.created",
        "task.assigned",
        "task.completed",
        "instance.completed",
    ]
    assert {e.instance_id for e in events} == {started["id"]}
    assert {e.jurisdiction for e in events} == {"baoji"}
    assert event_jobs == {e.id for e in events}
    assert events[1].data["department"] == "hrss"
    assert events[-1].data["links"]["instance"] == f"/api/v1/instances/{started['id']}"


def test_termination_is_announced_with_its_reason(app, client, login, deploy):
    deploy(FIXTURES / "two_lanes.bpmn")
    designer = login("designer")
    instance = client.post(
        "/api/v1/instances",
        headers=designer,
        json={"process_key": "two_lane_review", "jurisdiction": "baoji"},
    ).get_json()
    client.post(
        f"/api/v1/instances/{instance['id']}/terminate", headers=designer, json={"reason": "撤回"}
    )
    events, _ = _events(app)
    assert events[-1].type == "instance.terminated"
    assert events[-1].data["reason"] == "撤回"
    assert "instance.completed" not in [e.type for e in events]


def test_a_refused_change_writes_no_event(app, client, login, deploy):
    deploy(FIXTURES / "two_lanes.bpmn")
    client.post(
        "/api/v1/instances",
        headers=login("designer"),
        json={"process_key": "two_lane_review", "jurisdiction": "baoji"},
    )
    hrss = login("baoji.hrss")
    [task] = client.get("/api/v1/tasks", headers=hrss).get_json()
    before, _ = _events(app)
    stale = client.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=hrss, json={"data": {}, "version": 99}
    )
    assert stale.status_code == 409
    after, _ = _events(app)
    assert [e.id for e in after] == [e.id for e in before]
