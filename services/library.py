"""Deploy the process library (``bpmn/``): decisions first, then processes in call order."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from engine import commands
from engine.context import EngineContext
from engine.errors import DefinitionRejected
from engine.identity import Principal
from engine.xml_safety import check_and_parse

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _call_order(files: list[Path]) -> list[Path]:
    """BPMN files sorted so that a called process is deployed before its callers."""
    provides: dict[str, Path] = {}
    needs: dict[Path, set[str]] = {}
    for path in files:
        root = check_and_parse(path.read_bytes(), filename=path.name)
        for process in root.iter(f"{BPMN}process"):
            provides[process.get("id")] = path
        needs[path] = {c.get("calledElement") for c in root.iter(f"{BPMN}callActivity")}
    graph = {
        path: {provides[key] for key in keys if key in provides and provides[key] != path}
        for path, keys in needs.items()
    }
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise DefinitionRejected(f"call activities form a cycle: {exc.args[1]}") from exc


def library_files(root: Path) -> list[Path]:
    decisions = sorted(root.rglob("*.dmn"))
    processes = _call_order(sorted(root.rglob("*.bpmn")))
    return decisions + processes


def deploy_library(
    ctx: EngineContext, principal: Principal, root: Path
) -> list[commands.Deployment]:
    return [
        commands.deploy(ctx, principal, path.read_bytes(), path.name)
        for path in library_files(root)
    ]
