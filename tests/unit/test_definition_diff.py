"""The element-level diff between two versions of a definition."""

from __future__ import annotations

from services.definition_diff import Change, FieldChange, diff
from tests.conftest import FIXTURES

TWO_LANES = (FIXTURES / "two_lanes.bpmn").read_bytes()


def edited(**replacements: str) -> bytes:
    text = TWO_LANES.decode()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text.encode()


def test_identical_versions_have_no_changes() -> None:
    assert diff(TWO_LANES, TWO_LANES) == []


def test_renamed_task_is_changed_with_its_old_and_new_name() -> None:
    [change] = diff(TWO_LANES, edited(**{'name="人社初审"': 'name="人社资格初审"'}))
    assert (change.element_id, change.kind, change.name, change.change) == (
        "hrss_review",
        "userTask",
        "人社资格初审",
        Change.CHANGED,
    )
    assert change.fields == (FieldChange("name", "人社初审", "人社资格初审"),)


def test_moving_a_shape_is_not_a_change() -> None:
    moved = edited(**{'<dc:Bounds x="260" y="82"': '<dc:Bounds x="280" y="90"'})
    assert diff(TWO_LANES, moved) == []


def test_huiqian_attribute_is_named_with_its_prefix() -> None:
    new = edited(
        **{
            "xmlns:di=": 'xmlns:huiqian="http://huiqian.dev/schema/bpmn/1.0" xmlns:di=',
            'name="财政复审"/>': 'name="财政复审" huiqian:dueIn="5WD"/>',
        }
    )
    [change] = diff(TWO_LANES, new)
    assert change.element_id == "fin_review"
    assert change.fields == (FieldChange("huiqian:dueIn", None, "5WD"),)


def test_added_and_removed_elements_are_listed_by_id_and_name() -> None:
    new = edited(
        **{
            '<bpmn:sequenceFlow id="f3" sourceRef="fin_review" targetRef="end"/>': (
                '<bpmn:sequenceFlow id="f3b" sourceRef="fin_review" targetRef="end"/>'
                '<bpmn:userTask id="notice" name="公示"/>'
            )
        }
    )
    found = {(c.element_id, c.name, c.change) for c in diff(TWO_LANES, new)}
    assert found == {
        ("f3", "", Change.REMOVED),
        ("f3b", "", Change.ADDED),
        ("notice", "公示", Change.ADDED),
    }


def test_task_moved_to_another_lane_changes_both_lanes() -> None:
    new = edited(
        **{
            "<bpmn:flowNodeRef>hrss_review</bpmn:flowNodeRef>\n": "",
            "<bpmn:flowNodeRef>fin_review</bpmn:flowNodeRef>": (
                "<bpmn:flowNodeRef>fin_review</bpmn:flowNodeRef>"
                "<bpmn:flowNodeRef>hrss_review</bpmn:flowNodeRef>"
            ),
        }
    )
    changed = {c.element_id: c.fields for c in diff(TWO_LANES, new)}
    assert set(changed) == {"lane_hrss", "lane_fin"}
    assert changed["lane_fin"][0].field == "flowNodeRef"
    assert "hrss_review" in (changed["lane_fin"][0].after or "")
