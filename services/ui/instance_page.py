"""One instance: its diagram with where it stands, its history, every department's opinion."""

from __future__ import annotations

from flask import Response, render_template, url_for
from flask.typing import ResponseReturnValue

from engine.instance_overview import instance_definition, instance_overview
from services.extensions import engine_context
from services.ui.core import principal, ui_bp


@ui_bp.get("/instances/<instance_id>")
def instance_page(instance_id: str) -> ResponseReturnValue:
    overview = instance_overview(engine_context(), principal(), instance_id)
    return render_template(
        "instance.html",
        overview=overview,
        instance=overview.instance,
        opinions=overview.opinions,
        diagram_url=url_for("ui.instance_diagram", instance_id=instance_id),
    )


@ui_bp.get("/instances/<instance_id>/diagram.bpmn")
def instance_diagram(instance_id: str) -> ResponseReturnValue:
    """The XML of the instance's definition, for the page's bpmn-js viewer."""
    definition = instance_definition(engine_context(), principal(), instance_id)
    return Response(definition.xml, mimetype="application/xml")
