"""state sequence: which state write an instance is at, and which each patch was

``instances.state_seq`` counts the writes of an instance's state (patches and
snapshots); ``state_patches.seq`` is the count a patch brought it to.  A process
whose live workflow is at sequence s and finds the instance at t can catch up by
applying the patches s+1..t when they are all there, that is, when no snapshot
was written in between (``engine.state_catch_up``).  Existing rows start at 0 and
NULL: their instances are restored in full once, as before.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state_seq", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("state_patches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("state_patches", schema=None) as batch_op:
        batch_op.drop_column("seq")
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_column("state_seq")
