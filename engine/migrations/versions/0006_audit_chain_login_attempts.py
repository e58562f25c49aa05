"""audit hash chain, login attempts

Adds ``prev_hash``/``hash`` to ``audit_log`` and chains the existing rows in id
order, then makes both columns required; adds ``login_attempts``.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from engine.audit import GENESIS, entry_hash
from engine.models import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_audit = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("at", UtcDateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("instance_id", sa.String()),
    sa.column("task_id", sa.String()),
    sa.column("details", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _chain_existing_rows() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            _audit.c.id,
            _audit.c.at,
            _audit.c.actor,
            _audit.c.action,
            _audit.c.instance_id,
            _audit.c.task_id,
            _audit.c.details,
        ).order_by(_audit.c.id)
    ).all()
    prev = GENESIS
    for row in rows:
        digest = entry_hash(
            at=row.at,
            actor=row.actor,
            action=row.action,
            instance_id=row.instance_id,
            task_id=row.task_id,
            details=row.details or {},
            prev_hash=prev,
        )
        connection.execute(
            _audit.update().where(_audit.c.id == row.id).values(prev_hash=prev, hash=digest)
        )
        prev = digest


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing_rows()
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_audit_prev_hash", ["prev_hash"])

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=120), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_username", ["username", "at"], unique=False)
        batch_op.create_index("ix_login_attempts_address", ["address", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_address")
        batch_op.drop_index("ix_login_attempts_username")
    op.drop_table("login_attempts")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_prev_hash", type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
