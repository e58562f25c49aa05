"""approval operations: delegation and urging on human tasks; proxies, CCs, opinions

Adds ``owner``, ``delegation`` and ``last_urged_at`` to ``human_tasks`` (委派, 催办) and
the tables ``proxies`` (代理), ``task_ccs`` (抄送) and ``opinions`` (意见).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("delegation", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("last_urged_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "proxies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=120), nullable=False),
        sa.Column("proxy", sa.String(length=120), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("proxies", schema=None) as batch_op:
        batch_op.create_index("ix_proxies_proxy", ["proxy", "ends_at"], unique=False)
        batch_op.create_index("ix_proxies_username", ["username", "ends_at"], unique=False)

    op.create_table(
        "task_ccs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=True),
        sa.Column("username", sa.String(length=120), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("cc_by", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["human_tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("task_ccs", schema=None) as batch_op:
        batch_op.create_index("ix_task_ccs_task", ["task_id"], unique=False)
        batch_op.create_index("ix_task_ccs_username", ["username"], unique=False)
        batch_op.create_index(
            "ix_task_ccs_department", ["jurisdiction", "department"], unique=False
        )

    op.create_table(
        "opinions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("bpmn_id", sa.String(length=200), nullable=True),
        sa.Column("task_name", sa.String(length=300), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("officer", sa.String(length=120), nullable=False),
        sa.Column("on_behalf_of", sa.String(length=120), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=True),
        sa.Column("opinion", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("opinions", schema=None) as batch_op:
        batch_op.create_index("ix_opinions_instance", ["instance_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("opinions", schema=None) as batch_op:
        batch_op.drop_index("ix_opinions_instance")
    op.drop_table("opinions")
    with op.batch_alter_table("task_ccs", schema=None) as batch_op:
        batch_op.drop_index("ix_task_ccs_department")
        batch_op.drop_index("ix_task_ccs_username")
        batch_op.drop_index("ix_task_ccs_task")
    op.drop_table("task_ccs")
    with op.batch_alter_table("proxies", schema=None) as batch_op:
        batch_op.drop_index("ix_proxies_username")
        batch_op.drop_index("ix_proxies_proxy")
    op.drop_table("proxies")
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_column("last_urged_at")
        batch_op.drop_column("delegation")
        batch_op.drop_column("owner")
