"""Instance migration: a running instance moves to another version of its process, or is refused.

Every started or finished element needs a counterpart in the target version (the same
BPMN id, or one given in ``mapping``); an active element must keep its kind, its
multi-instance loop and its called process.  A refusal is a 409 naming each element,
and changes nothing.
"""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from engine import consistency
from engine.models import Event, Job
from services.cli import main as huiqian
from services.config import LIBRARY_DIR
from tests.api_helpers import (
    TWO_LANES,
    complete_step,
    countersign,
    get_instance,
    history,
    ok,
    open_tasks,
    problem,
    start,
    the_open_task,
)

V1 = TWO_LANES.read_bytes()
FLOW_TO_FIN = b'<bpmn:sequenceFlow id="f2" sourceRef="hrss_review" targetRef="fin_review"/>'
HRSS_LANE = b"<bpmn:flowNodeRef>hrss_review</bpmn:flowNodeRef>"
# Version 2 puts a confirmation by hrss between the two reviews.
WITH_CONFIRM = V1.replace(
    FLOW_TO_FIN,
    '<bpmn:sequenceFlow id="f2" sourceRef="hrss_review" targetRef="hrss_confirm"/>'
    '<bpmn:userTask id="hrss_confirm" name="人社复核"/>'
    '<bpmn:sequenceFlow id="f2b" sourceRef="hrss_confirm" targetRef="fin_review"/>'.encode(),
).replace(HRSS_LANE, HRSS_LANE + b"<bpmn:flowNodeRef>hrss_confirm</bpmn:flowNodeRef>")
RENAMED = V1.replace(b'"hrss_review"', b'"hrss_check"').replace(b">hrss_review<", b">hrss_check<")
AS_SCRIPT = V1.replace(
    '<bpmn:userTask id="hrss_review" name="人社初审"/>'.encode(),
    b'<bpmn:scriptTask id="hrss_review"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>',
)


def _migrate(client, headers, instance_id, to_version, mapping=None):
    body = {"to_version": to_version, "mapping": mapping or {}}
    return client.post(f"/api/v1/instances/{instance_id}/migrate", headers=headers, json=body)


def _deploy_v2(deploy, xml):
    deployed = deploy(xml, "two_lanes.bpmn")
    assert deployed["version"] == 2
    return deployed


def test_a_waiting_user_task_moves_to_the_new_version_and_continues_there(
    app, client, login, deploy, database
):
    deploy(TWO_LANES)
    admin, hrss = login("admin"), login("baoji.hrss")
    instance = start(client, admin, jurisdiction="baoji")
    waiting = the_open_task(client, admin, instance["id"], "hrss_review")
    v2 = _deploy_v2(deploy, WITH_CONFIRM)

    migrated = ok(_migrate(client, admin, instance["id"], 2))

    assert migrated["definition_id"] == v2["id"] and migrated["status"] == "running"
    assert the_open_task(client, admin, instance["id"], "hrss_review")["id"] == waiting["id"]
    complete_step(client, hrss, instance["id"], "hrss_review", {})
    complete_step(client, hrss, instance["id"], "hrss_confirm", {})  # exists in version 2 only
    complete_step(client, login("baoji.fin"), instance["id"], "fin_review", {})
    assert get_instance(client, admin, instance["id"])["status"] == "completed"
    (entry,) = [e for e in history(client, admin, instance["id"]) if e["action"] == "migrate"]
    assert entry["actor"] == "admin"
    assert entry["details"] | {"mapping": {}} == {
        "process_key": "two_lane_review",
        "from_version": 1,
        "to_version": 2,
        "mapping": {},
        "renamed": [],
    }
    with database.read_session() as s:
        types = list(s.scalars(select(Event.type).where(Event.instance_id == instance["id"])))
    assert "instance.migrated" in types
    assert consistency.problems(database) == []


def test_a_renamed_task_needs_a_mapping_and_keeps_its_task_row(client, login, deploy):
    deploy(TWO_LANES)
    admin = login("admin")
    instance = start(client, admin, jurisdiction="baoji")
    waiting = the_open_task(client, admin, instance["id"], "hrss_review")
    v1_definition = instance["definition_id"]
    _deploy_v2(deploy, RENAMED)

    body = problem(_migrate(client, admin, instance["id"], 2), 409, "migration-unsafe")
    assert body["problems"] == [
        {
            "element_id": "hrss_review",
            "reason": "active element 'hrss_review' (UserTask, ready) has no counterpart in "
            "version 2: map it to an element of that version",
        }
    ]
    assert "hrss_review" in body["detail"]
    assert get_instance(client, admin, instance["id"])["definition_id"] == v1_definition

    ok(_migrate(client, admin, instance["id"], 2, {"hrss_review": "hrss_check"}))
    moved = the_open_task(client, admin, instance["id"], "hrss_check")
    assert moved["id"] == waiting["id"] and moved["department"] == "hrss"
    complete_step(client, login("baoji.hrss"), instance["id"], "hrss_check", {})
    assert [t["bpmn_id"] for t in open_tasks(client, admin, instance_id=instance["id"])] == [
        "fin_review"
    ]


def test_a_finished_element_without_counterpart_is_refused(client, login, deploy):
    deploy(TWO_LANES)
    admin = login("admin")
    instance = start(client, admin, jurisdiction="baoji")
    _deploy_v2(deploy, V1.replace(b'"start"', b'"begin"'))
    body = problem(_migrate(client, admin, instance["id"], 2), 409, "migration-unsafe")
    assert [p["element_id"] for p in body["problems"]] == ["start"]
    assert "completed element 'start'" in body["detail"]
    ok(_migrate(client, admin, instance["id"], 2, {"start": "begin"}))


def test_an_active_task_that_changes_kind_is_refused(client, login, deploy):
    deploy(TWO_LANES)
    admin = login("admin")
    instance = start(client, admin, jurisdiction="baoji")
    _deploy_v2(deploy, AS_SCRIPT)
    body = problem(_migrate(client, admin, instance["id"], 2), 409, "migration-unsafe")
    assert body["problems"][0]["reason"] == (
        "active element 'hrss_review' is a UserTask now but a ScriptTask in version 2"
    )


def test_a_running_co_review_moves_with_its_answers_and_deadlines(
    app, client, login, deploy, database
):
    deploy(LIBRARY_DIR / "co_review.bpmn")
    admin = login("admin")
    instance = start(
        client,
        admin,
        key="co_review",
        jurisdiction="baoji",
        variables={"departments": ["hrss", "fin", "agri"]},
    )
    hrss_task = the_open_task(client, login("baoji.hrss"), instance["id"], "review")
    ok(
        client.post(
            f"/api/v1/tasks/{hrss_task['id']}/complete",
            headers=login("baoji.hrss"),
            json={"data": {"decision": "approve"}},
        )
    )
    xml = (LIBRARY_DIR / "co_review.bpmn").read_bytes()
    deploy(xml.replace("汇总意见".encode(), "汇总全部意见".encode()))

    ok(_migrate(client, admin, instance["id"], 2))

    with database.read_session() as s:
        timers = s.scalars(
            select(Job).where(Job.instance_id == instance["id"], Job.kind == "timer")
        ).all()
    assert len([job for job in timers if job.state == "pending"]) == 2, "reminder and escalation"
    countersign(client, login, get_instance(client, admin, instance["id"]))
    finished = get_instance(client, admin, instance["id"])
    assert finished["status"] == "completed" and finished["variables"]["result"] == "approved"
    assert set(finished["variables"]["opinions"]) == {"hrss", "fin", "agri"}
    assert consistency.problems(database) == []


def test_a_changed_multi_instance_loop_is_refused_while_it_runs(client, login, deploy):
    deploy(LIBRARY_DIR / "co_review.bpmn")
    admin = login("admin")
    instance = start(
        client, admin, key="co_review", jurisdiction="baoji", variables={"departments": ["hrss"]}
    )
    xml = (LIBRARY_DIR / "co_review.bpmn").read_bytes()
    deploy(xml.replace(b"<bpmn:loopDataOutputRef>opinions<", b"<bpmn:loopDataOutputRef>answers<"))
    body = problem(_migrate(client, admin, instance["id"], 2), 409, "migration-unsafe")
    assert body["problems"][0]["element_id"] == "review"
    assert "multi-instance loop changes data_output ('opinions' → 'answers')" in body["detail"]


def test_wrong_targets_are_refused(client, login, deploy):
    deploy(TWO_LANES)
    admin = login("admin")
    instance = start(client, admin, jurisdiction="baoji")
    problem(_migrate(client, admin, instance["id"], 1), 409, "conflict")
    problem(_migrate(client, admin, instance["id"], 7), 422, "invalid-input")
    _deploy_v2(deploy, WITH_CONFIRM)
    body = problem(
        _migrate(client, admin, instance["id"], 2, {"nope": "hrss_confirm"}), 422, "invalid-input"
    )
    assert "'nope' (current version)" in body["detail"]
    problem(_migrate(client, login("baoji.hrss"), instance["id"], 2), 403, "forbidden")


def test_the_cli_migrates_every_running_instance_of_a_process(app, client, login, deploy, database):
    deploy(TWO_LANES)
    admin = login("admin")
    ids = [start(client, admin, jurisdiction="baoji")["id"] for _ in range(3)]
    complete_step(client, login("baoji.hrss"), ids[0], "hrss_review", {})
    complete_step(client, login("baoji.fin"), ids[0], "fin_review", {})  # ended: stays on v1
    v1 = get_instance(client, admin, ids[0])["definition_id"]
    v2 = _deploy_v2(deploy, RENAMED)
    env = {
        "HUIQIAN_DATABASE_URL": database.url,
        "HUIQIAN_DATA_DIR": str(app.config["HUIQIAN_DATA_DIR"]),
    }
    args = ["instances", "migrate", "--key", "two_lane_review", "--to-version", "2"]

    refused = CliRunner().invoke(huiqian, args, env=env)
    assert refused.exit_code == 1
    assert "migrated 0 of 2; 2 refused" in refused.output
    assert "hrss_review" in refused.output

    mapped = CliRunner().invoke(huiqian, [*args, "--map", "hrss_review=hrss_check"], env=env)
    assert mapped.exit_code == 0, mapped.output
    assert "migrated 2 of 2" in mapped.output
    assert [get_instance(client, admin, i)["definition_id"] for i in ids] == [
        v1,
        v2["id"],
        v2["id"],
    ]
