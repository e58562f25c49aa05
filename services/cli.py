"""The ``huiqian`` command line."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy import make_url

from engine import audit as audit_chain
from engine import consistency
from engine.errors import HuiqianError
from engine.identity import SYSTEM, Principal, Role, create_user
from engine.jobs import retention_days, work_forever
from engine.jurisdictions import load_pack
from services import cli_operations, migrations


def _app(data_dir: Path | None = None):  # noqa: ANN202 - Flask app, imported lazily
    from services.app import create_app

    return create_app({"HUIQIAN_DATA_DIR": data_dir} if data_dir else None)


def _job_retention(app) -> timedelta | None:  # noqa: ANN001 - Flask app, imported lazily
    return retention_days(float(app.config["HUIQIAN_JOB_RETENTION_DAYS"]))


def _fail(error: HuiqianError) -> None:
    click.secho(f"error: {error.detail}", fg="red", err=True)
    sys.exit(1)


CLI = Principal(SYSTEM.user_id, "cli", Role.ADMIN, None, None)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Huiqian (会签): BPMN workflows for multi-department government approvals."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to HUIQIAN_DATABASE_URL (or the SQLite default)."""
    app = _app()
    migrations.upgrade(app.extensions["huiqian.engine"].db)
    click.echo(f"schema at {' '.join(migrations.head_revisions())}")


@main.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the audit hash chain; exit 1 naming the first changed, removed or inserted entry."""
    with _app().extensions["huiqian.engine"].db.read_session() as s:
        result = audit_chain.verify(s)
    if not result.ok:
        click.secho(
            f"audit chain broken at entry {result.broken_id}: {result.reason} "
            f"({result.checked} entries before it verify)",
            fg="red",
            err=True,
        )
        sys.exit(1)
    click.echo(f"audit chain verifies: {result.checked} entries, last hash {result.last_hash}")


@main.command()
def check() -> None:
    """Check the database's invariants (instances, tasks, timers, audit); exit 1 if any fail."""
    found = consistency.problems(_app().extensions["huiqian.engine"].db)
    for problem in found:
        click.secho(f"problem: {problem}", fg="red", err=True)
    if found:
        sys.exit(1)
    click.echo("database is consistent")


@main.group()
def user() -> None:
    """Users."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--jurisdiction", help="jurisdiction id, for officers (e.g. baoji)")
@click.option("--department", help="department code, for officers (e.g. hrss)")
@click.option("--display-name", default="")
@click.password_option(help="at least 10 characters")
def user_add(
    username: str,
    role: str,
    jurisdiction: str | None,
    department: str | None,
    display_name: str,
    password: str,
) -> None:
    """Create a user."""
    ctx = _app().extensions["huiqian.engine"]
    if jurisdiction is not None:
        known = ctx.jurisdictions.get(jurisdiction)
        if known is None or (department and department not in known.department_codes()):
            raise click.BadParameter(f"{jurisdiction}/{department} is not a loaded department")
    with ctx.db.write_session() as s:
        try:
            create_user(
                s,
                username=username,
                password=password,
                role=Role(role),
                jurisdiction=jurisdiction,
                department=department,
                display_name=display_name,
            )
        except HuiqianError as error:
            _fail(error)
        s.commit()
    click.echo(f"created {role} {username}")


@main.group()
def jurisdictions() -> None:
    """Jurisdiction packs."""


@jurisdictions.command("list")
def jurisdictions_list() -> None:
    """List the loaded jurisdictions."""
    for j in _app().extensions["huiqian.engine"].jurisdictions.values():
        click.echo(
            f"{j.id}\t{j.name}\t{len(j.departments)} departments\t{len(j.measures)} measures"
        )


@jurisdictions.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def jurisdictions_load(file: Path) -> None:
    """Validate FILE and install it into this installation's data directory."""
    from services.app import jurisdiction_store

    try:
        pack = load_pack(file)
    except HuiqianError as error:
        _fail(error)
    store = jurisdiction_store(Path(os.environ.get("HUIQIAN_DATA_DIR", "instance")))
    store.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(file, store / f"{pack.id}.yaml")
    click.echo(f"loaded {pack.id} ({pack.name}): {len(pack.departments)} departments")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=2, show_default=True)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API and UI under gunicorn (configure with HUIQIAN_* variables)."""
    from services.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

    os.environ[MULTIPROC_ENV] = prepare_multiprocess_dir(os.environ.get(MULTIPROC_ENV))
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:services.gunicorn_conf",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "services.wsgi:app",
        ],
    )


@main.command()
@click.option("--idle", default=0.2, show_default=True, help="seconds to wait when no job is due")
def worker(idle: float) -> None:
    """Run due jobs (timers, webhooks) until interrupted; run as many workers as you like."""
    from services import structured_logs
    from services.app import install_job_handlers

    structured_logs.configure()
    app = _app()
    install_job_handlers(app)
    ctx = app.extensions["huiqian.engine"]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    logging.getLogger("huiqian.worker").info(
        "worker running on %s", make_url(ctx.db.url).render_as_string(hide_password=True)
    )
    try:
        work_forever(ctx, stop, idle, _job_retention(app))
    except KeyboardInterrupt:
        stop.set()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--data-dir", default="instance", show_default=True, type=click.Path(path_type=Path))
def demo(host: str, port: int, data_dir: Path) -> None:
    """Run a demo: SQLite in DATA_DIR, both jurisdictions, the process library, demo users."""
    from services.app import install_job_handlers
    from services.demo import demo_password, seed_demo_users
    from services.library import deploy_library

    os.environ["HUIQIAN_DATA_DIR"] = str(data_dir)
    os.environ["HUIQIAN_DEMO"] = "1"  # webhooks may use plain http to public hosts
    app = _app(data_dir)
    install_job_handlers(app)
    ctx = app.extensions["huiqian.engine"]
    migrations.upgrade(ctx.db)
    try:
        deployed = deploy_library(ctx, CLI, Path(app.config["HUIQIAN_LIBRARY_DIR"]))
    except HuiqianError as error:
        _fail(error)
    password = demo_password()
    created = seed_demo_users(ctx, password)
    click.echo(f"database: {make_url(ctx.db.url).render_as_string(hide_password=True)}")
    click.echo(f"jurisdictions: {', '.join(ctx.jurisdictions)}")
    click.echo(f"definitions deployed: {sum(len(d.deployed) for d in deployed)}")
    click.echo(
        f"demo users: admin, designer, integrator, <jurisdiction>.<department> "
        f"(e.g. baoji.hrss); {created} created; password: {password}"
    )
    click.echo(f"serving on http://{host}:{port}/  (API docs: http://{host}:{port}/api/docs)")
    stop = threading.Event()
    threading.Thread(
        target=work_forever,
        args=(ctx, stop, 0.2, _job_retention(app)),
        name="worker",
        daemon=True,
    ).start()
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        stop.set()


for _command in cli_operations.COMMANDS:
    main.add_command(_command)

if __name__ == "__main__":
    main()
