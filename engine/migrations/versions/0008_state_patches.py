"""incremental state: patches on top of a snapshot; message waits by instance

Adds ``state_patches`` (each step's changes to an instance's state and variables)
and the ``state_bytes``/``patch_bytes`` counters on ``instances`` that decide when
the patches are folded into a new snapshot (``engine.state_store``).  Existing
instances keep their full state as the snapshot with no patches.  Indexes
``message_waits.instance_id``, which every step reconciles.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state_bytes", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("patch_bytes", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "state_patches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("ops", sa.JSON(), nullable=False),
        sa.Column("variable_ops", sa.JSON(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_state_patches_instance", "state_patches", ["instance_id", "id"])
    op.create_index("ix_message_waits_instance", "message_waits", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_message_waits_instance", table_name="message_waits")
    op.drop_index("ix_state_patches_instance", table_name="state_patches")
    op.drop_table("state_patches")
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_column("patch_bytes")
        batch_op.drop_column("state_bytes")
