"""Approval operations: 转办, 委派, 退回, 驳回, 撤回, 催办, 抄送, 加签/减签, 意见.

Each view parses its body, calls one engine command and returns its result; who may do
what is decided in ``engine.approvals``.  docs/approval-operations.md lists them all.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine.approvals import assignment, history, notices, rejection, rewind, signers
from engine.approvals.multi_instance import Position
from services.approval_schemas import (
    AddSignersSchema,
    ApprovalTaskSchema,
    CopyTaskSchema,
    DelegateSchema,
    OpinionSchema,
    OutcomeSchema,
    RejectSchema,
    RemoveSignerQuerySchema,
    ResolveSchema,
    ReturnSchema,
    SignersSchema,
    TaskCopySchema,
    TransferSchema,
    UrgeSchema,
    WithdrawSchema,
)
from services.auth import current_principal, require_login
from services.extensions import engine_context

blp = Blueprint(
    "approvals", __name__, description="Approval operations: transfer, delegate, return, …"
)
blp.before_request(require_login)
SECURITY = [{"bearer": []}]


@blp.route("/tasks/<task_id>/transfer")
class TransferTask(MethodView):
    @blp.arguments(TransferSchema)
    @blp.response(200, ApprovalTaskSchema)
    @blp.doc(security=SECURITY)
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        """转办: hand an open task to another officer or department of the jurisdiction."""
        return assignment.transfer(
            engine_context(),
            current_principal(),
            task_id,
            to_user=body.get("to_user"),
            to_department=body.get("to_department"),
            opinion=body["opinion"],
            expected_version=body.get("version"),
        )


@blp.route("/tasks/<task_id>/delegate")
class DelegateTask(MethodView):
    @blp.arguments(DelegateSchema)
    @blp.response(200, ApprovalTaskSchema)
    @blp.doc(security=SECURITY)
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        """委派: lend an open task to an officer, who resolves it back to you."""
        return assignment.delegate(
            engine_context(),
            current_principal(),
            task_id,
            to_user=body["to_user"],
            opinion=body["opinion"],
            expected_version=body.get("version"),
        )


@blp.route("/tasks/<task_id>/resolve")
class ResolveTask(MethodView):
    @blp.arguments(ResolveSchema)
    @blp.response(200, ApprovalTaskSchema)
    @blp.doc(security=SECURITY)
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        """The delegate hands a delegated task back to its delegator."""
        return assignment.resolve(
            engine_context(),
            current_principal(),
            task_id,
            opinion=body["opinion"],
            expected_version=body.get("version"),
        )


@blp.route("/tasks/<task_id>/return")
class ReturnTask(MethodView):
    @blp.arguments(ReturnSchema)
    @blp.response(200, OutcomeSchema)
    @blp.doc(security=SECURITY)
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        """退回: send the matter back to an earlier completed task of this task's path."""
        return rewind.return_task(
            engine_context(),
            current_principal(),
            task_id,
            opinion=body["opinion"],
            to_task_id=body.get("to_task_id"),
            to_element=body.get("to_element"),
            expected_version=body.get("version"),
        )


@blp.route("/tasks/<task_id>/reject")
class RejectTask(MethodView):
    @blp.arguments(RejectSchema)
    @blp.response(200, OutcomeSchema)
    @blp.doc(security=SECURITY)
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        """驳回: refuse the matter; the instance ends as terminated, result rejected."""
        return rejection.reject_task(
            engine_context(),
            current_principal(),
            task_id,
            opinion=body["opinion"],
            expected_version=body.get("version"),
        )


@blp.route("/tasks/<task_id>/withdraw")
class WithdrawTask(MethodView):
    @blp.arguments(WithdrawSchema)
    @blp.response(200, OutcomeSchema)
    @blp.doc(security=SECURITY)
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        """撤回: take back a task you completed while the next step is untouched (else 409)."""
        return rewind.withdraw_task(
            engine_context(),
            current_principal(),
            task_id,
            reason=body["reason"],
            expected_version=body.get("version"),
        )


@blp.route("/tasks/<task_id>/urge")
class UrgeTask(MethodView):
    @blp.arguments(UrgeSchema)
    @blp.response(200, ApprovalTaskSchema)
    @blp.alt_response(429, description="urged less than an hour ago: see Retry-After")
    @blp.doc(security=SECURITY)
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        """催办: remind whoever holds an open task; once per hour per task."""
        return notices.urge(engine_context(), current_principal(), task_id, message=body["message"])


@blp.route("/tasks/<task_id>/cc")
class CopyTask(MethodView):
    @blp.arguments(CopyTaskSchema)
    @blp.response(201, TaskCopySchema(many=True))
    @blp.doc(security=SECURITY)
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        """抄送: let users or departments read this task (GET /tasks?scope=cc)."""
        return notices.copy_task(engine_context(), current_principal(), task_id, **body)


@blp.route("/instances/<instance_id>/signers")
class Signers(MethodView):
    @blp.response(200, SignersSchema)
    @blp.doc(security=SECURITY)
    def get(self, instance_id: str) -> Any:
        """The signers of the instance's running co-review: answered, active, queued."""
        return signers.current_signers(engine_context(), current_principal(), instance_id)

    @blp.arguments(AddSignersSchema)
    @blp.response(200, SignersSchema)
    @blp.doc(security=SECURITY)
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        """加签: add departments to the running co-review, in parallel, before or after."""
        return signers.add_signers(
            engine_context(),
            current_principal(),
            instance_id,
            departments=body["departments"],
            position=Position(body["position"]),
            opinion=body["opinion"],
        )


@blp.route("/instances/<instance_id>/signers/<department>")
class SignerByDepartment(MethodView):
    @blp.arguments(RemoveSignerQuerySchema, location="query")
    @blp.response(200, SignersSchema)
    @blp.doc(security=SECURITY)
    def delete(self, query: dict[str, Any], instance_id: str, department: str) -> Any:
        """减签: remove a pending department; removing the last pending one is 422."""
        return signers.remove_signer(
            engine_context(), current_principal(), instance_id, department, query["opinion"]
        )


@blp.route("/instances/<instance_id>/opinions")
class Opinions(MethodView):
    @blp.response(200, OpinionSchema(many=True))
    @blp.doc(security=SECURITY)
    def get(self, instance_id: str) -> Any:
        """意见: every opinion given on the instance, oldest first."""
        return history.opinion_history(engine_context(), current_principal(), instance_id)
