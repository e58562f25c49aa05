"""Reading an instance's opinion history (意见), for whoever may see the instance."""

from __future__ import annotations

from engine import commands
from engine.approvals import opinions
from engine.context import EngineContext
from engine.errors import NotFound
from engine.identity import Principal
from engine.models import Opinion
from engine.unit_of_work import SqlUnitOfWork


def opinion_history(ctx: EngineContext, principal: Principal, instance_id: str) -> list[Opinion]:
    """Every opinion given on the instance, oldest first, with department and officer."""
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        instance = uow.instances.get(instance_id)
        if instance is None or not commands.can_see_instance(principal, instance):
            raise NotFound(f"instance {instance_id} not found")
        return opinions.for_instance(uow, instance_id)
