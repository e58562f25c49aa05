"""Department handlers for BPMN service tasks.

A service task names its handler as ``<department code>.<action>`` (``samr.trademark_check``).
``registry.default_registry()`` builds the set of built-in handlers; the engine receives
``registry.call`` as its ``service_caller`` and ``registry.names()`` for deployment validation.
"""
