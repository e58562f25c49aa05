"""webhooks: seal the signing secrets at rest (engine.secret_box)

Revision ID: w0002
Revises: w0001
"""

import sqlalchemy as sa
from alembic import op

from engine import secret_box

revision = "w0002"
down_revision = "w0001"
branch_labels = None
depends_on = None

SECRETS = ("secret", "previous_secret")


def _rewrite(transform) -> None:  # noqa: ANN001 - a str -> str function
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, secret, previous_secret FROM webhook_subscriptions")
    ).fetchall()
    for row in rows:
        values = {name: transform(getattr(row, name)) for name in SECRETS}
        connection.execute(
            sa.text(
                "UPDATE webhook_subscriptions SET secret = :secret, "
                "previous_secret = :previous_secret WHERE id = :id"
            ),
            {"id": row.id, **values},
        )


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column("secret", type_=sa.Text(), existing_nullable=False)
        batch.alter_column("previous_secret", type_=sa.Text(), existing_nullable=True)
    # Rows exist only in installations that ran w0001 before; the service has its key then.
    _rewrite(lambda value: secret_box.current().seal(value) if value is not None else None)


def downgrade() -> None:
    _rewrite(lambda value: secret_box.current().open(value) if value is not None else None)
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column("secret", type_=sa.String(length=200), existing_nullable=False)
        batch.alter_column("previous_secret", type_=sa.String(length=200), existing_nullable=True)
