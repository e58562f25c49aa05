"""BPMN documents for tests: one executable process in the Huiqian namespaces."""

from __future__ import annotations

from engine.process_parser import Dependencies

# For parsing a document on its own: it calls no other process, decision or handler.
NO_DEPENDENCIES = Dependencies(
    process_xml=lambda key: None, decision_xml=lambda key: None, handlers=frozenset()
)


def process_document(process_id: str, body: str) -> bytes:
    """A ``bpmn:definitions`` holding the process ``process_id`` with ``body`` as its elements."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:huiqian="http://huiqian.dev/schema/bpmn/1.0"
                  id="{process_id}_definitions" targetNamespace="http://huiqian.dev/bpmn">
  <bpmn:process id="{process_id}" isExecutable="true">
{body}
  </bpmn:process>
</bpmn:definitions>
""".encode()


# A process that calls another: apply (hrss), the called process's check (fin), decide (hrss).
CALLER_AND_CALLEE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:huiqian="http://huiqian.dev/schema/bpmn/1.0"
                  id="caller_definitions" targetNamespace="http://huiqian.dev/bpmn">
  <bpmn:process id="caller" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="to_apply" sourceRef="start" targetRef="apply"/>
    <bpmn:userTask id="apply" huiqian:candidateDepartments="hrss"/>
    <bpmn:sequenceFlow id="to_call" sourceRef="apply" targetRef="call"/>
    <bpmn:callActivity id="call" calledElement="callee"/>
    <bpmn:sequenceFlow id="to_decide" sourceRef="call" targetRef="decide"/>
    <bpmn:userTask id="decide" huiqian:candidateDepartments="hrss"/>
    <bpmn:sequenceFlow id="to_end" sourceRef="decide" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
  <bpmn:process id="callee" isExecutable="true">
    <bpmn:startEvent id="callee_start"/>
    <bpmn:sequenceFlow id="to_check" sourceRef="callee_start" targetRef="check"/>
    <bpmn:userTask id="check" huiqian:candidateDepartments="fin"/>
    <bpmn:sequenceFlow id="to_callee_end" sourceRef="check" targetRef="callee_end"/>
    <bpmn:endEvent id="callee_end"/>
  </bpmn:process>
</bpmn:definitions>
"""
