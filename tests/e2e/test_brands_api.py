"""The brand resource library: records written by process steps, read through /api/v1/brands."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.db import Database
from services import brands
from tests.api_helpers import complete, get_instance, ok, problem, start, the_open_task

Login = Callable[[str], dict[str, str]]

# Nominate from the start variables, let hrss decide, then admit the brand: each handler
# writes in its own step's transaction.
ADMISSION = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://huiqian.dev/test">
  <bpmn:process id="brand_admission" name="品牌入库" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_hrss" name="hrss"><bpmn:flowNodeRef>decide</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="nominate" name="推荐入库">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="hrss.brand_nominated" resultVariable="nomination">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="name" type="str" value="name"/>
            <spiffworkflow:parameter id="region" type="str" value="region"/>
            <spiffworkflow:parameter id="industry" type="str" value="industry"/>
            <spiffworkflow:parameter id="workers" type="int" value="workers"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:userTask id="decide" name="市人社局审定"/>
    <bpmn:serviceTask id="admit" name="纳入资源库">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="hrss.brand_added" resultVariable="admission">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="brand_id" type="str"
                                     value="nomination[&quot;brand_id&quot;]"/>
            <spiffworkflow:parameter id="opinion" type="str" value="opinion"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="nominate"/>
    <bpmn:sequenceFlow id="f2" sourceRef="nominate" targetRef="decide"/>
    <bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="admit"/>
    <bpmn:sequenceFlow id="f4" sourceRef="admit" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

# Move a brand given at start: the step fails if the lifecycle forbids the move.
EXIT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://huiqian.dev/test">
  <bpmn:process id="brand_exit" name="退出资源库" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="remove" name="退出">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="hrss.brand_exited" resultVariable="removal">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="brand_id" type="str" value="brand_id"/>
            <spiffworkflow:parameter id="reason" type="str" value="exit_reason"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="remove"/>
    <bpmn:sequenceFlow id="f2" sourceRef="remove" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

BAOJI_BRAND = {"name": "宝鸡面点师", "region": "宝鸡市", "industry": "面点", "workers": 1200}


@pytest.fixture
def login(login: Login) -> Login:
    return functools.cache(login)


@pytest.fixture
def db(app: Flask) -> Database:
    return app.extensions["huiqian.engine"].db


def seed(db: Database, name: str, jurisdiction: str, *moves: str) -> str:
    """A brand written directly through the repository, moved through ``moves``."""
    with db.write_session() as session:
        library = brands.library(session)
        record = brands.nominate(
            library, name=name, jurisdiction=jurisdiction, data={}, actor="seed", instance_id=None
        )
        for status in moves:
            library.transition(record, status, actor="seed", action=status)
        session.commit()
        return record.id


def brand_list(client: FlaskClient, headers: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    return ok(client.get("/api/v1/brands", headers=headers, query_string=query))


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


# --- reading the library ------------------------------------------------------------------


def test_list_is_sorted_by_name_filtered_by_status_and_paginated(
    client: FlaskClient, login: Login, db: Database
) -> None:
    seed(db, "宝鸡面点师", "baoji", brands.IN_LIBRARY)
    seed(db, "眉县猕猴桃农", "baoji", brands.IN_LIBRARY)
    seed(db, "陈仓建筑匠", "baoji")
    admin = login("admin")

    in_library = brand_list(client, admin, status="in_library")
    page = client.get("/api/v1/brands", headers=admin, query_string={"page_size": 2, "page": 2})

    assert sorted(names(in_library)) == names(in_library) == ["宝鸡面点师", "眉县猕猴桃农"]
    assert {item["status"] for item in in_library} == {"in_library"}
    assert len(ok(page)) == 1
    assert json.loads(page.headers["X-Pagination"])["total"] == 3


def test_officer_sees_only_the_own_jurisdictions_brands(
    client: FlaskClient, login: Login, db: Database
) -> None:
    seed(db, "宝鸡面点师", "baoji")
    qinghai_id = seed(db, "化隆拉面匠", "qinghai")
    officer = login("baoji.fin")

    assert names(brand_list(client, officer)) == ["宝鸡面点师"]
    assert brand_list(client, officer, jurisdiction="qinghai") == []
    problem(client.get(f"/api/v1/brands/{qinghai_id}", headers=officer), 404, "not-found")


def test_admin_integrator_and_designer_see_every_jurisdiction(
    client: FlaskClient, login: Login, db: Database
) -> None:
    seed(db, "宝鸡面点师", "baoji")
    qinghai_id = seed(db, "化隆拉面匠", "qinghai")

    for user in ("admin", "integrator", "designer"):
        assert sorted(names(brand_list(client, login(user)))) == ["化隆拉面匠", "宝鸡面点师"]
        assert names(brand_list(client, login(user), jurisdiction="qinghai")) == ["化隆拉面匠"]
        assert ok(client.get(f"/api/v1/brands/{qinghai_id}", headers=login(user)))["name"]


def test_read_shows_status_and_the_history_oldest_first(
    client: FlaskClient, login: Login, db: Database
) -> None:
    brand_id = seed(db, "宝鸡面点师", "baoji", "in_library", "rectifying", "in_library", "exited")

    brand = ok(client.get(f"/api/v1/brands/{brand_id}", headers=login("baoji.hrss")))

    assert (brand["id"], brand["status"], brand["jurisdiction"]) == (brand_id, "exited", "baoji")
    assert [(e["from_status"], e["to_status"]) for e in brand["history"]] == [
        (None, "nominated"),
        ("nominated", "in_library"),
        ("in_library", "rectifying"),
        ("rectifying", "in_library"),
        ("in_library", "exited"),
    ]
    assert set(brand["history"][0]) == {
        "at",
        "actor",
        "action",
        "from_status",
        "to_status",
        "instance_id",
        "details",
    }


def test_unknown_brand_is_404_and_a_bad_status_filter_422(
    client: FlaskClient, login: Login
) -> None:
    admin = login("admin")
    problem(client.get("/api/v1/brands/no-such-brand", headers=admin), 404, "not-found")
    problem(client.get("/api/v1/brands?status=famous", headers=admin), 422, "invalid-input")


def test_brands_need_a_login(client: FlaskClient) -> None:
    problem(client.get("/api/v1/brands"), 401, "unauthorized")
    problem(client.get("/api/v1/brands/some-id"), 401, "unauthorized")


# --- written by process steps --------------------------------------------------------------


def test_process_nominates_then_admits_a_brand_in_its_own_steps(
    client: FlaskClient, login: Login, deploy: Callable[..., dict[str, Any]]
) -> None:
    deploy(ADMISSION.encode(), "brand_admission.bpmn")
    hrss = login("baoji.hrss")
    instance = start(client, hrss, "brand_admission", variables=BAOJI_BRAND)
    brand_id = instance["variables"]["nomination"]["brand_id"]

    nominated = ok(client.get(f"/api/v1/brands/{brand_id}", headers=hrss))
    assert (nominated["status"], nominated["name"], nominated["jurisdiction"]) == (
        "nominated",
        "宝鸡面点师",
        "baoji",
    )
    assert nominated["data"] == {"region": "宝鸡市", "industry": "面点", "workers": 1200}

    task = the_open_task(client, hrss, instance["id"], "decide")
    ok(complete(client, hrss, task["id"], {"opinion": "同意纳入"}))

    brand = ok(client.get(f"/api/v1/brands/{brand_id}", headers=hrss))
    assert brand["status"] == "in_library"
    assert [(e["action"], e["actor"], e["instance_id"]) for e in brand["history"]] == [
        ("nominated", "system", instance["id"]),
        ("added", "baoji.hrss", instance["id"]),
    ]
    assert brand["history"][1]["details"] == {"opinion": "同意纳入"}
    assert get_instance(client, hrss, instance["id"])["variables"]["admission"] == {
        "brand_id": brand_id,
        "from_status": "nominated",
        "status": "in_library",
    }


def test_forbidden_move_fails_the_step_and_changes_nothing(
    client: FlaskClient, login: Login, db: Database, deploy: Callable[..., dict[str, Any]]
) -> None:
    deploy(EXIT.encode(), "brand_exit.bpmn")
    brand_id = seed(db, "宝鸡面点师", "baoji")
    hrss = login("baoji.hrss")

    response = client.post(
        "/api/v1/instances",
        headers=hrss,
        json={"process_key": "brand_exit", "variables": {"brand_id": brand_id, "exit_reason": "x"}},
    )

    body = problem(response, 502, "handler-failed")
    assert "'nominated' and cannot become 'exited'" in body["detail"]
    brand = ok(client.get(f"/api/v1/brands/{brand_id}", headers=hrss))
    assert brand["status"] == "nominated"
    assert len(brand["history"]) == 1
    assert ok(client.get("/api/v1/instances", headers=login("admin"))) == []


def test_process_cannot_move_another_jurisdictions_brand(
    client: FlaskClient, login: Login, db: Database, deploy: Callable[..., dict[str, Any]]
) -> None:
    deploy(EXIT.encode(), "brand_exit.bpmn")
    qinghai_id = seed(db, "化隆拉面匠", "qinghai", brands.IN_LIBRARY)

    response = client.post(
        "/api/v1/instances",
        headers=login("baoji.hrss"),
        json={
            "process_key": "brand_exit",
            "variables": {"brand_id": qinghai_id, "exit_reason": "x"},
        },
    )

    assert "is not in the library of baoji" in problem(response, 502, "handler-failed")["detail"]
    assert ok(client.get(f"/api/v1/brands/{qinghai_id}", headers=login("admin")))["status"] == (
        "in_library"
    )


def test_exit_keeps_the_history_and_records_the_reason(
    client: FlaskClient, login: Login, db: Database, deploy: Callable[..., dict[str, Any]]
) -> None:
    deploy(EXIT.encode(), "brand_exit.bpmn")
    brand_id = seed(db, "宝鸡面点师", "baoji", brands.IN_LIBRARY, brands.EXIT_PROPOSED)
    hrss = login("baoji.hrss")

    variables = {"brand_id": brand_id, "exit_reason": "带动就业人数明显减少"}
    instance = start(client, hrss, "brand_exit", variables=variables)

    brand = ok(client.get(f"/api/v1/brands/{brand_id}", headers=hrss))
    assert brand["status"] == "exited"
    assert [e["to_status"] for e in brand["history"]] == [
        "nominated",
        "in_library",
        "exit_proposed",
        "exited",
    ]
    assert brand["history"][-1]["details"] == {"reason": "带动就业人数明显减少"}
    assert brand["history"][-1]["instance_id"] == instance["id"]
