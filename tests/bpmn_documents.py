"""BPMN documents for tests: one executable process in the Huiqian namespaces."""

from __future__ import annotations


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
