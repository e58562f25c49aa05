"""WSGI entry point for gunicorn: ``gunicorn services.wsgi:app``."""

from services import structured_logs

structured_logs.configure()  # before the app exists, so Flask adds no handler of its own

from services.app import create_app  # noqa: E402

app = create_app()
