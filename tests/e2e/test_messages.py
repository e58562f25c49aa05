"""POST /api/v1/messages correlates to waiting instances or starts a process."""

import pytest

from tests.conftest import FIXTURES


@pytest.fixture
def integrator(login, deploy):
    deploy(FIXTURES / "messages.bpmn")
    return login("integrator")


def _start(client, headers, business_key, **variables):
    response = client.post(
        "/api/v1/instances",
        headers=headers,
        json={
            "process_key": "await_report",
            "jurisdiction": "baoji",
            "business_key": business_key,
            "variables": variables,
        },
    )
    assert response.status_code == 201
    return response.get_json()["id"]


def _open(client, headers, instance_id):
    tasks = client.get(f"/api/v1/tasks?instance_id={instance_id}&state=open", headers=headers)
    return [task["bpmn_id"] for task in tasks.get_json()]


def _send(client, headers, name, correlation, variables=None):
    return client.post(
        "/api/v1/messages",
        headers=headers,
        json={"name": name, "correlation": correlation, "variables": variables or {}},
    )


def _finish_publicity(client, login, instance_id):
    hrss = login("baoji.hrss")
    [task] = client.get(f"/api/v1/tasks?instance_id={instance_id}", headers=hrss).get_json()
    assert (
        client.post(f"/api/v1/tasks/{task['id']}/complete", headers=hrss, json={}).status_code
        == 200
    )


def test_receive_task_gets_the_message_of_its_business_key_only(client, login, integrator):
    first = _start(client, integrator, "brand-1")
    second = _start(client, integrator, "brand-2")
    _finish_publicity(client, login, first)
    _finish_publicity(client, login, second)

    response = _send(
        client, integrator, "third_party_report", {"business_key": "brand-2"}, {"score": 87}
    )
    assert response.status_code == 200
    assert response.get_json()["reached"] == [{"instance_id": second, "started": False}]
    admin = login("admin")
    assert _open(client, admin, second) == ["review"]
    assert _open(client, admin, first) == []
    variables = client.get(f"/api/v1/instances/{second}", headers=admin).get_json()["variables"]
    assert variables["score"] == 87


def test_boundary_message_interrupts_the_task(client, login, integrator):
    instance = _start(client, integrator, "brand-3")
    response = _send(client, integrator, "objection", {"instance_id": instance}, {"reason": "重名"})
    assert response.status_code == 200
    assert _open(client, login("admin"), instance) == ["handle_objection"]


def test_correlation_by_process_variable(client, login, integrator):
    instance = _start(client, integrator, "brand-4", brand_id="B-77")
    _start(client, integrator, "brand-5", brand_id="B-78")
    response = _send(client, integrator, "objection", {"brand_id": "B-77"})
    assert [r["instance_id"] for r in response.get_json()["reached"]] == [instance]


def test_message_that_no_instance_awaits_is_404_problem(client, integrator):
    _start(client, integrator, "brand-6")
    response = _send(client, integrator, "third_party_report", {"business_key": "brand-6"})
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert response.get_json()["type"].endswith("/not-found")


def test_message_start_event_starts_a_process(client, login, integrator):
    response = _send(
        client,
        integrator,
        "application_received",
        {"business_key": "app-9"},
        {"jurisdiction": "baoji", "applicant": "陈仓建筑匠"},
    )
    assert response.status_code == 200
    [delivery] = response.get_json()["reached"]
    assert delivery["started"] is True
    admin = login("admin")
    instance = client.get(f"/api/v1/instances/{delivery['instance_id']}", headers=admin).get_json()
    assert instance["process_key"] == "started_by_message"
    assert instance["business_key"] == "app-9"
    assert _open(client, admin, delivery["instance_id"]) == ["check"]
