"""Huiqian service layer: everything around the engine (HTTP API, CLI, department handlers).

The engine never imports this package; the service layer hands it what it needs.
"""
