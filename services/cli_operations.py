"""Operator commands of ``huiqian``: bulk deploy, instance migration, export and import.

Each works through many items and shows a progress bar (``click.progressbar``;
on a terminal it draws, elsewhere it prints its label once).  ``services.cli``
adds ``COMMANDS`` to the ``huiqian`` group; the helpers shared with its other
commands are imported from it when a command runs, so neither module imports
the other at load time (``python -m services.cli`` runs that module as
``__main__``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine import commands, instance_changes
from engine.errors import HuiqianError
from engine.jurisdictions import default_directories
from services import archive
from services.library import library_files


def _cli():  # noqa: ANN202 - (app factory, error exit, the CLI principal) of services.cli
    from services import cli

    return cli._app, cli._fail, cli.CLI


def _deploy_order(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given; a directory becomes its BPMN/DMN files in deployment order."""
    files: list[Path] = []
    for path in paths:
        files.extend(library_files(path) if path.is_dir() else [path])
    return files


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def deploy(paths: tuple[Path, ...]) -> None:
    """Deploy BPMN/DMN files and directories (each a new version when its content changed).

    A directory is deployed like the demo's library: decisions first, then processes,
    called processes before their callers.  Give single files in that order yourself.
    """
    make_app, fail, principal = _cli()
    ctx = make_app().extensions["huiqian.engine"]
    try:
        files = _deploy_order(paths)
    except HuiqianError as error:
        fail(error)
    lines = []
    with click.progressbar(files, label="deploying", item_show_func=lambda p: p and p.name) as bar:
        for path in bar:
            try:
                result = commands.deploy(ctx, principal, path.read_bytes(), path.name)
            except HuiqianError as error:
                fail(error)
            state = "deployed" if result.created else "unchanged"
            lines += [
                f"{state}: {d.kind} {d.key} v{d.version} ({path.name})" for d in result.deployed
            ]
    click.echo("\n".join(lines))


@click.group()
def instances() -> None:
    """Running process instances."""


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise click.BadParameter(f"{pair!r} is not OLD_ID=NEW_ID", param_hint="--map")
        mapping[old] = new
    return mapping


@instances.command("migrate")
@click.option("--key", "process_key", required=True, help="process key, e.g. co_review")
@click.option("--to-version", type=int, required=True, help="target version of the process")
@click.option(
    "--map", "pairs", multiple=True, metavar="OLD_ID=NEW_ID", help="BPMN id mapping (repeatable)"
)
def instances_migrate(process_key: str, to_version: int, pairs: tuple[str, ...]) -> None:
    """Migrate every running instance of a process to another version.

    Each instance moves in its own transaction; one that cannot move safely (an
    active element without counterpart, see POST /instances/{id}/migrate) is left as
    it was and listed.  Exits 1 when any was refused.
    """
    make_app, fail, principal = _cli()
    ctx = make_app().extensions["huiqian.engine"]
    mapping = _mapping(pairs)
    try:
        ids = instance_changes.instances_to_migrate(ctx, process_key, to_version)
    except HuiqianError as error:
        fail(error)
    refused: list[str] = []
    with click.progressbar(ids, label=f"migrating {process_key} to v{to_version}") as bar:
        for instance_id in bar:
            try:
                instance_changes.migrate_instance(ctx, principal, instance_id, to_version, mapping)
            except HuiqianError as error:
                refused.append(f"{instance_id}: {error.detail}")
    click.echo(f"migrated {len(ids) - len(refused)} of {len(ids)}; {len(refused)} refused")
    for line in refused:
        click.secho(f"refused: {line}", fg="red", err=True)
    if refused:
        sys.exit(1)


def _pack_directories(app_config: dict) -> list[Path]:
    from services.app import jurisdiction_store

    return [
        Path(app_config["HUIQIAN_LIBRARY_DIR"]) / "jurisdictions",
        *default_directories(),
        jurisdiction_store(Path(app_config["HUIQIAN_DATA_DIR"])),
    ]


@click.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def export_command(out: Path) -> None:
    """Write definitions (every version), jurisdiction packs and the brand library to OUT.

    OUT is a .tar.gz for `huiqian import` on another installation.  Running
    instances are not included: back the database up for those (docs/operations.md).
    """
    make_app, _fail, _principal = _cli()
    app = make_app()
    ctx = app.extensions["huiqian.engine"]
    packs = archive.pack_files(ctx, _pack_directories(app.config))
    items = archive.export_items(ctx, packs)
    with click.progressbar(items, label="exporting") as bar:
        archive.write_archive(ctx, packs, out, bar)
    kinds = ", ".join(
        f"{sum(item.kind == kind for item in items)} {kind}s"
        for kind in ("definition", "jurisdiction", "brand")
    )
    click.echo(f"exported {kinds} to {out}")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Import an archive written by `huiqian export`; importing it again changes nothing."""
    from services.app import jurisdiction_store

    make_app, fail, _principal = _cli()
    app = make_app()
    ctx = app.extensions["huiqian.engine"]
    store = jurisdiction_store(Path(app.config["HUIQIAN_DATA_DIR"]))
    try:
        opened = archive.Archive(file)
        try:
            with click.progressbar(opened.items(), label="importing") as bar:
                result = archive.import_archive(ctx, store, opened, bar)
        finally:
            opened.close()
    except HuiqianError as error:
        fail(error)
    click.echo(f"imported {file}: {result.summary() or 'nothing in it'}")
    if result.new_packs:
        click.echo(
            f"new jurisdiction packs {', '.join(result.new_packs)} in {store}: restart the "
            "service and the workers to load them"
        )


COMMANDS = (deploy, instances, export_command, import_command)
