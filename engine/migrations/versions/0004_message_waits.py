"""message waits

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:20:16.026095
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "message_waits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message_waits", schema=None) as batch_op:
        batch_op.create_index("ix_message_waits_name", ["name"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("message_waits", schema=None) as batch_op:
        batch_op.drop_index("ix_message_waits_name")

    op.drop_table("message_waits")
