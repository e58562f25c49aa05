"""The designer's moddle extension declares exactly the huiqian attributes deployment reads.

bpmn-js keeps an attribute it has no descriptor for, but the properties panel can only
edit (and type) the declared ones: a new attribute in the parser needs a line in
huiqian-moddle.json, and this test says so.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.process_parser import (
    _SERVICE_TASK_ATTRIBUTES,
    _USER_TASK_ATTRIBUTES,
    HUIQIAN_NS,
)

DESCRIPTOR = Path(__file__).resolve().parents[2] / "services/static/ui/designer/huiqian-moddle.json"


def test_descriptor_declares_every_huiqian_attribute_the_parser_reads() -> None:
    descriptor = json.loads(DESCRIPTOR.read_text(encoding="utf-8"))
    declared = {
        (element, prop["name"])
        for type_ in descriptor["types"]
        for element in type_["extends"]
        for prop in type_["properties"]
    }
    read = {
        (element, name)
        for element, attributes in (
            ("bpmn:UserTask", _USER_TASK_ATTRIBUTES),
            ("bpmn:ServiceTask", _SERVICE_TASK_ATTRIBUTES),
        )
        for candidates in attributes.values()
        for namespace, name in candidates
        if namespace == HUIQIAN_NS
    }
    assert descriptor["uri"] == HUIQIAN_NS and descriptor["prefix"] == "huiqian"
    assert declared == read
