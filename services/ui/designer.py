"""The designer's pages: the definitions, the bpmn-js modeler, DMN tables, versions and diffs.

Validation and deployment go through the REST API (``POST /api/v1/definitions/validate``
and ``POST /api/v1/definitions``) with the session cookie and the CSRF header: one
deployment path with one set of checks, one problem+json shape (``element_id``,
``line``) and one row each in the authorization matrix, instead of a second,
UI-only way to deploy that could drift from the first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from engine import definition_versions
from engine.errors import NotFound
from engine.identity import Role
from engine.process_parser import TIMEOUT_ACTIONS
from services import definition_diff
from services.extensions import engine_context
from services.ui.core import NavItem
from services.ui.labels import department_name

designer_bp = Blueprint("designer", __name__, url_prefix="/designer")
ROLES = (Role.DESIGNER, Role.ADMIN)
NAV = NavItem("designer.index", _l("流程设计"), frozenset(ROLES))
KINDS = ("bpmn", "dmn")
# huiqian:timeoutAction (engine/approvals/timeouts.py): what happens when a task's due time passes.
TIMEOUT_LABELS = {
    "remind": _l("催办"),
    "auto_approve": _l("自动同意"),
    "auto_reject": _l("自动不同意"),
    "escalate": _l("上报督办"),
}


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"no definitions of kind {kind!r}")
    return kind


def _palette() -> dict[str, Any]:
    """What the properties panel offers: department codes, form keys, handler names."""
    ctx = engine_context()
    departments: dict[str, list[str]] = {}
    for jurisdiction in ctx.jurisdictions.values():
        for department in jurisdiction.departments:
            name = department_name(jurisdiction.id, department.code)
            departments.setdefault(department.code, []).append(name)
    forms = Path(current_app.config["HUIQIAN_LIBRARY_DIR"]) / "forms"
    return {
        "departments": {
            code: " / ".join(dict.fromkeys(names)) for code, names in departments.items()
        },
        "form_keys": sorted(path.stem for path in forms.glob("*.json")),
        "handlers": sorted(ctx.handlers),
        "timeout_actions": {
            action: TIMEOUT_LABELS.get(action, action) for action in TIMEOUT_ACTIONS
        },
    }


@designer_bp.get("/")
def index() -> ResponseReturnValue:
    definitions = definition_versions.catalogue(engine_context())
    return render_template("designer/index.html", definitions=definitions)


@designer_bp.get("/new")
def new() -> ResponseReturnValue:
    return render_template(
        "designer/modeler.html",
        definition=None,
        versions=[],
        xml_url=url_for("static", filename="ui/designer/new-diagram.bpmn"),
        **_palette(),
    )


@designer_bp.get("/<kind>/<key>")
def definition(kind: str, key: str) -> ResponseReturnValue:
    """A version of a definition (``?version=``, default the latest), with the version list."""
    ctx = engine_context()
    shown = definition_versions.version(
        ctx, _kind(kind), key, request.args.get("version", type=int)
    )
    context = {
        "definition": shown,
        "versions": definition_versions.versions(ctx, kind, key),
        "xml_url": url_for("definitions.DefinitionXml", definition_id=shown.id),
        "deployed": request.args.get("deployed"),
    }
    if kind == "dmn":
        return render_template("designer/decision.html", **context)
    return render_template("designer/modeler.html", **context, **_palette())


@designer_bp.get("/<kind>/<key>/diff")
def diff(kind: str, key: str) -> ResponseReturnValue:
    """What changed from version ``from`` to version ``to`` (default: the two newest)."""
    ctx = engine_context()
    versions = definition_versions.versions(ctx, _kind(kind), key)
    newest = versions[0].version
    to_version = request.args.get("to", newest, type=int)
    from_version = request.args.get("from", max(to_version - 1, 1), type=int)
    old = definition_versions.version(ctx, kind, key, from_version)
    new = definition_versions.version(ctx, kind, key, to_version)
    return render_template(
        "designer/diff.html",
        key=key,
        kind=kind,
        old=old,
        new=new,
        definition=new,
        versions=versions,
        changes=definition_diff.diff(old.xml, new.xml),
    )
