"""Hostile or broken definition uploads are refused with a problem that helps the designer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.api_helpers import ok, problem

BPMN_NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'


@pytest.fixture
def designer(login: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return login("designer")


def _upload(
    client: FlaskClient, headers: dict[str, str], content: bytes, name: str
) -> TestResponse:
    return client.post(
        "/api/v1/definitions",
        headers=headers,
        data={"file": (BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def _refused(
    client: FlaskClient, headers: dict[str, str], content: bytes, status: int, slug: str
) -> tuple[dict[str, Any], TestResponse]:
    """Upload ``content``; assert the problem answer and that nothing was deployed."""
    response = _upload(client, headers, content, "hostile.bpmn")
    body = problem(response, status, slug)
    assert ok(client.get("/api/v1/definitions", headers=headers)) == []
    return body, response


def _process(body: str, extra_ns: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions {BPMN_NS} {extra_ns} id="defs" targetNamespace="http://huiqian.dev/test">\n'
        '  <bpmn:process id="hostile" isExecutable="true">\n'
        f"{body}"
        "  </bpmn:process>\n"
        "</bpmn:definitions>\n"
    ).encode()


def _line_of(content: bytes, marker: str) -> int:
    text = content.decode()
    return text[: text.index(marker)].count("\n") + 1


def test_malformed_xml_is_422_with_the_line(client: FlaskClient, designer: dict[str, str]) -> None:
    content = _process('    <bpmn:startEvent id="start">\n    <bpmn:endEvent id="end"/>\n')
    body, _ = _refused(client, designer, content, 422, "invalid-definition")
    assert body["line"] == _line_of(content, "</bpmn:process>")
    assert "well-formed" in body["detail"]


@pytest.mark.parametrize("target", ["/etc/hostname", "secret-file"])
def test_external_entity_is_422_and_leaks_nothing(
    client: FlaskClient, designer: dict[str, str], tmp_path: Path, target: str
) -> None:
    if target == "secret-file":
        path = tmp_path / "secret.txt"
        path.write_text(f"secret-{uuid.uuid4().hex}")
    else:
        path = Path(target)
    secret = path.read_text().strip()
    assert secret
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE r [<!ENTITY x SYSTEM "file://{path}">]>\n'
        f'<bpmn:definitions {BPMN_NS} id="defs" targetNamespace="http://huiqian.dev/test">\n'
        '  <bpmn:process id="p" name="&x;" isExecutable="true"><bpmn:documentation>&x;'
        "</bpmn:documentation></bpmn:process>\n"
        "</bpmn:definitions>\n"
    ).encode()
    body, response = _refused(client, designer, content, 422, "invalid-definition")
    assert "DOCTYPE" in body["detail"]
    assert secret not in response.get_data(as_text=True)
    assert all(secret not in value for value in response.headers.values())


def test_billion_laughs_is_422(client: FlaskClient, designer: dict[str, str]) -> None:
    entities = '<!ENTITY lol0 "lol">\n' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n' for i in range(1, 10)
    )
    content = (
        f'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n{entities}]>\n'
        f"<bpmn:definitions {BPMN_NS}><bpmn:documentation>&lol9;</bpmn:documentation>"
        "</bpmn:definitions>\n"
    ).encode()
    body, response = _refused(client, designer, content, 422, "invalid-definition")
    assert "DOCTYPE" in body["detail"]
    assert "lollol" not in response.get_data(as_text=True)


def test_a_six_megabyte_file_is_413(client: FlaskClient, designer: dict[str, str]) -> None:
    padding = "<!-- " + "x" * (6 * 1024 * 1024) + " -->\n"
    content = _process('    <bpmn:startEvent id="start"/>\n').replace(
        b"<bpmn:definitions", padding.encode() + b"<bpmn:definitions", 1
    )
    assert len(content) > 6 * 1024 * 1024
    _refused(client, designer, content, 413, "payload-too-large")


def test_a_json_body_is_415(client: FlaskClient, designer: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/definitions", headers=designer, json={"file": _process("").decode()}
    )
    problem(response, 415, "unsupported-media-type")


def test_a_missing_file_field_is_422(client: FlaskClient, designer: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/definitions",
        headers=designer,
        data={"upload": (BytesIO(_process("")), "p.bpmn")},
        content_type="multipart/form-data",
    )
    assert "'file'" in problem(response, 422, "invalid-input")["detail"]


def test_user_task_without_department_is_422_naming_element_and_line(
    client: FlaskClient, designer: dict[str, str]
) -> None:
    content = _process(
        '    <bpmn:startEvent id="start"/>\n'
        '    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="orphan_review"/>\n'
        '    <bpmn:userTask id="orphan_review" name="无人审核"/>\n'
        '    <bpmn:sequenceFlow id="f2" sourceRef="orphan_review" targetRef="end"/>\n'
        '    <bpmn:endEvent id="end"/>\n'
    )
    body, _ = _refused(client, designer, content, 422, "invalid-definition")
    line = _line_of(content, 'id="orphan_review"')
    assert (body["element_id"], body["line"]) == ("orphan_review", line)
    assert "orphan_review" in body["detail"] and f"line {line}" in body["detail"]


def test_unknown_service_task_handler_is_422_naming_the_handler(
    client: FlaskClient, designer: dict[str, str]
) -> None:
    # SpiffWorkflow's schema requires <spiffworkflow:parameters> in an operator; without it the
    # upload is refused for that (also 422) before the handler is looked up.
    content = _process(
        '    <bpmn:startEvent id="start"/>\n'
        '    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="x"/>\n'
        '    <bpmn:serviceTask id="x"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="nope.nothing"><spiffworkflow:parameters/>'
        "</spiffworkflow:serviceTaskOperator>"
        "</bpmn:extensionElements></bpmn:serviceTask>\n"
        '    <bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="end"/>\n'
        '    <bpmn:endEvent id="end"/>\n',
        extra_ns='xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"',
    )
    body, _ = _refused(client, designer, content, 422, "invalid-definition")
    assert "nope.nothing" in body["detail"]
    assert (body["element_id"], body["line"]) == ("x", _line_of(content, 'id="x"'))


def test_officers_cannot_deploy(
    client: FlaskClient, login: Callable[[str], dict[str, str]]
) -> None:
    response = _upload(client, login("baoji.hrss"), _process(""), "p.bpmn")
    problem(response, 403, "forbidden")
