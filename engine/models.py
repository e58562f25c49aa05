"""SQLAlchemy 2 mapped tables of the engine.

The schema is owned by the Alembic migrations in ``engine/migrations``; these
classes must stay in step with them (``tests/integration/test_migrations.py``
compares the two).
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, object_session, relationship

from engine import state_diff


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApiToken(Base):
    """An opaque bearer token; only its SHA-256 is stored, so a leaked table grants nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Definition(Base):
    """One deployed version of a process (BPMN) or decision (DMN).

    ``spec`` holds the serialised SpiffWorkflow spec (with the subprocess and
    decision specs it was deployed with) exactly once per version; instances
    store only their own state and refer to this row.
    """

    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("kind", "key", "version", name="uq_definition_version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(8))  # bpmn | dmn
    key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300), default="")
    filename: Mapped[str] = mapped_column(String(300), default="")
    checksum: Mapped[str] = mapped_column(String(64))
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    deployed_by: Mapped[str] = mapped_column(String(120), default="")
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (
        Index("ix_instances_status_key", "status", "process_key"),
        Index("ix_instances_business_key", "business_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    definition_id: Mapped[str] = mapped_column(ForeignKey("definitions.id"))
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # running | completed | terminated | error
    # The variables and the workflow state are each a snapshot plus the operations
    # of the patches written since (``engine.state_store``); read them through
    # ``variables`` and ``engine.state_store.load_state``.
    variables_snapshot: Mapped[dict[str, Any]] = mapped_column("variables", JSON, default=dict)
    # Deferred: a step whose workflow is live in the process never reads it.
    state: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    state_bytes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    patch_bytes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # How many times the state was written (patches and snapshots): engine.state_catch_up.
    state_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    patches: Mapped[list[StatePatch]] = relationship(
        order_by="StatePatch.id", cascade="all, delete-orphan", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def variables(self) -> dict[str, Any]:
        """The process variables: the snapshot with the pending patches' changes.

        Computed once per patch count; ``InstanceRepository`` computes it for the
        instances it reads, so that it is there after the session closed.
        """
        if not self.patch_bytes:
            return self.variables_snapshot
        cached = self.__dict__.get("_variables")
        if cached is None or cached[0] != self.patch_bytes:
            self.remember_variables(self.variables_after(self.patches))
            cached = self.__dict__["_variables"]
        return cached[1]

    @variables.setter
    def variables(self, value: dict[str, Any]) -> None:
        if not self.patch_bytes:
            self.variables_snapshot = value
            return
        ops = state_diff.diff(self.variables, value)
        if ops:
            self.append_patch([], ops, len(json.dumps(ops)), value)

    def append_patch(
        self, ops: list[Any], variable_ops: list[Any], size: int, variables: dict[str, Any]
    ) -> None:
        """Record a patch of ``size`` bytes after which the variables are ``variables``."""
        self.count_state_write()
        patch = StatePatch(
            instance_id=self.id, ops=ops, variable_ops=variable_ops, bytes=size, seq=self.state_seq
        )
        if "patches" in self.__dict__:  # loaded: keep the collection current
            self.patches.append(patch)
        else:  # not loaded: a later load sees the patch (autoflush) without this SELECT
            session = object_session(self)
            assert session is not None, "a patch needs the instance's session"
            session.add(patch)
        self.patch_bytes += size
        self.remember_variables(variables)

    def count_state_write(self) -> None:
        """One more write of the state (a patch or a snapshot): ``state_seq`` moves on."""
        self.state_seq = (self.state_seq or 0) + 1

    def variables_after(self, patches: list[StatePatch]) -> dict[str, Any]:
        variables = copy.deepcopy(self.variables_snapshot)
        for patch in patches:
            state_diff.apply(variables, patch.variable_ops)
        return variables

    def remember_variables(self, value: dict[str, Any]) -> None:
        """Record the current variables (as of the current patch count) without a query."""
        self.__dict__["_variables"] = (self.patch_bytes, value)


class StatePatch(Base):
    """One step's changes to an instance's state and variables (``engine.state_store``)."""

    __tablename__ = "state_patches"
    __table_args__ = (Index("ix_state_patches_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    ops: Mapped[list[Any]] = mapped_column(JSON)
    variable_ops: Mapped[list[Any]] = mapped_column(JSON)
    bytes: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(Integer)  # the instance's state_seq after it


class HumanTask(Base):
    """A user task waiting for (or done by) a department officer.

    The id is SpiffWorkflow's own task id, so the row and the workflow task
    can never drift apart.
    """

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_tasks_department_state", "jurisdiction", "department", "state"),
        Index("ix_tasks_instance", "instance_id"),
        Index("ix_tasks_assignee_state", "assignee", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    process_key: Mapped[str] = mapped_column(String(200))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(16))  # open | completed | cancelled
    form: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # 委派: the delegator while a delegate works on it; ``delegation`` pending | resolved.
    owner: Mapped[str | None] = mapped_column(String(120))
    delegation: Mapped[str | None] = mapped_column(String(16))
    last_urged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Proxy(Base):
    """代理: ``proxy`` acts on ``username``'s tasks from ``starts_at`` until ``ends_at``."""

    __tablename__ = "proxies"
    __table_args__ = (
        Index("ix_proxies_proxy", "proxy", "ends_at"),
        Index("ix_proxies_username", "username", "ends_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(120))
    proxy: Mapped[str] = mapped_column(String(120))
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(120))


class TaskCc(Base):
    """抄送: a task copied, read-only, to one user or to a whole department."""

    __tablename__ = "task_ccs"
    __table_args__ = (
        Index("ix_task_ccs_task", "task_id"),
        Index("ix_task_ccs_username", "username"),
        Index("ix_task_ccs_department", "jurisdiction", "department"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"))
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(String(120))
    department: Mapped[str | None] = mapped_column(String(64))
    cc_by: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Opinion(Base):
    """意见: what an officer decided on a task and why, in the order given."""

    __tablename__ = "opinions"
    __table_args__ = (Index("ix_opinions_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    bpmn_id: Mapped[str | None] = mapped_column(String(200))
    task_name: Mapped[str] = mapped_column(String(300), default="")
    department: Mapped[str | None] = mapped_column(String(64))
    officer: Mapped[str] = mapped_column(String(120))
    on_behalf_of: Mapped[str | None] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str | None] = mapped_column(String(32))
    opinion: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AuditEntry(Base):
    """Who did what, chained: ``hash`` covers this entry and ``prev_hash`` (``engine.audit``).

    ``prev_hash`` is unique, so two writers that read the same last entry cannot
    both append after it: the chain cannot fork even if the writers' lock failed.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_instance", "instance_id", "id"),
        UniqueConstraint("prev_hash", name="uq_audit_prev_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    task_id: Mapped[str | None] = mapped_column(String(36))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditRewriteRefused(RuntimeError):
    """Code tried to change or delete an audit entry; a programming error, never a user's."""


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_audit_rewrite(_mapper: Any, _connection: Any, target: AuditEntry) -> None:
    raise AuditRewriteRefused(f"audit entry {target.id} is history and cannot be changed")


class LoginAttempt(Base):
    """A failed login, counted per username and per client address (``engine.login_limits``).

    Kept in the database, not in process memory, so every worker process of the
    service shares one count.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username", "username", "at"),
        Index("ix_login_attempts_address", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class Job(Base):
    """Work due at a time: timer events now, async continuations and deliveries later.

    Jobs are written in the same transaction as the state change that creates
    them (an outbox), and a worker runs each inside the transaction that applies
    its effect, so a crash either loses the whole attempt or none of it.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_due", "state", "due_at"),
        Index("ix_jobs_instance", "instance_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # timer
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class MessageWait(Base):
    """A running instance is waiting for a message of this name (reconciled each step)."""

    __tablename__ = "message_waits"
    __table_args__ = (
        Index("ix_message_waits_name", "name"),
        Index("ix_message_waits_instance", "instance_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))


class Event(Base):
    """Something that happened, for integrations (webhooks) to be told about.

    Written in the transaction of the change it reports (an outbox): an event
    exists if and only if its change committed.  ``data`` holds ids and links.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_type", "type"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    process_key: Mapped[str | None] = mapped_column(String(200))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Incident(Base):
    """A step that failed after its retries, waiting for an admin to retry it."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "resolved_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    element_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(120))
