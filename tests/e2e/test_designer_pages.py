"""The designer's pages through Flask's test client: definitions, versions, diffs, DMN.

What needs a browser (the modeler, deploying from the page, error markers) is in
tests/browser/test_designer.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api_helpers import TWO_LANES
from tests.ui_helpers import page_text, sign_in

DMN = Path(__file__).parents[2] / "bpmn" / "decisions" / "bj_absorption_award.dmn"
RENAMED = TWO_LANES.read_bytes().replace('name="人社初审"'.encode(), 'name="人社资格初审"'.encode())


@pytest.fixture
def two_versions(deploy: Callable[..., Any]) -> None:
    deploy(TWO_LANES)
    deploy(RENAMED, "two_lanes.bpmn")


@pytest.mark.usefixtures("two_versions")
def test_index_lists_each_definition_once_at_its_latest_version(client: FlaskClient) -> None:
    sign_in(client, "designer")
    text = page_text(client.get("/designer/"))
    assert text.count('data-key="two_lane_review"') == 1
    assert "v2" in text


@pytest.mark.usefixtures("two_versions")
def test_definition_page_opens_the_asked_version_and_lists_all_versions(
    client: FlaskClient,
) -> None:
    sign_in(client, "designer")
    response = client.get("/designer/bpmn/two_lane_review?version=1")
    assert response.status_code == 200
    text = page_text(response)
    assert 'data-version="2"' in text and 'data-version="1" aria-current="true"' in text
    assert "/api/v1/definitions/" in text and "bpmn-modeler.production.min.js" in text
    assert 'id="department-codes"' in text and '<option value="hrss">' in text


@pytest.mark.usefixtures("two_versions")
def test_diff_lists_the_renamed_task_with_old_and_new_name(client: FlaskClient) -> None:
    sign_in(client, "designer")
    text = page_text(client.get("/designer/bpmn/two_lane_review/diff?from=1&to=2"))
    rows = text.split('<tr class="change-')[1:]
    assert len(rows) == 1
    assert rows[0].startswith('changed" data-element-id="hrss_review"')
    assert "人社初审" in rows[0] and "人社资格初审" in rows[0]


@pytest.mark.usefixtures("two_versions")
def test_diff_defaults_to_the_two_newest_versions(client: FlaskClient) -> None:
    sign_in(client, "designer")
    text = page_text(client.get("/designer/bpmn/two_lane_review/diff"))
    assert 'data-element-id="hrss_review"' in text


def test_decision_table_opens_in_the_dmn_viewer(
    client: FlaskClient, deploy: Callable[..., Any]
) -> None:
    deploy(DMN)
    sign_in(client, "admin")
    text = page_text(client.get("/designer/dmn/bj_absorption_award"))
    assert 'id="decision"' in text and "dmn-viewer.production.min.js" in text
    assert "bpmn-modeler" not in text


def test_unknown_definition_is_a_404_page(client: FlaskClient) -> None:
    sign_in(client, "designer")
    assert client.get("/designer/bpmn/nothing_here").status_code == 404
    assert client.get("/designer/xml/two_lane_review").status_code == 404


def test_new_diagram_starts_from_the_executable_template(client: FlaskClient) -> None:
    sign_in(client, "designer")
    text = page_text(client.get("/designer/new"))
    assert "ui/designer/new-diagram.bpmn" in text
    template = client.get("/static/ui/designer/new-diagram.bpmn").get_data(as_text=True)
    assert 'isExecutable="true"' in template
