"""Each configuration runs in a forked process of its own.

A fresh process gives each configuration its own peak RSS, garbage and caches,
so a large N measured earlier does not tax a small one measured later.  The
caller must hold no open database connections when it forks.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from typing import Any

_FORK = multiprocessing.get_context("fork")


class ConfigurationFailed(RuntimeError):
    """A configuration raised; the message carries the child's traceback."""


def _child(connection: Any, fn: Callable[..., dict[str, Any]], kwargs: dict[str, Any]) -> None:
    try:
        connection.send(("ok", fn(**kwargs)))
    except Exception:  # reported to the parent, which raises it
        connection.send(("error", traceback.format_exc()))
    finally:
        connection.close()


def run_isolated(fn: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """``fn(**kwargs)`` in a forked child; its result must pickle."""
    receiver, sender = _FORK.Pipe(duplex=False)
    process = _FORK.Process(target=_child, args=(sender, fn, kwargs))
    process.start()
    sender.close()
    try:
        status, value = receiver.recv()
    except EOFError:
        process.join()
        raise ConfigurationFailed(f"{fn.__name__} died with exit code {process.exitcode}") from None
    process.join()
    if status != "ok":
        raise ConfigurationFailed(value)
    return value


def run_parallel(
    fn: Callable[..., dict[str, Any]], kwargs_list: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``fn`` once per kwargs, all children running at the same time."""
    children = []
    for kwargs in kwargs_list:
        receiver, sender = _FORK.Pipe(duplex=False)
        process = _FORK.Process(target=_child, args=(sender, fn, kwargs))
        process.start()
        sender.close()
        children.append((process, receiver))
    results = []
    for process, receiver in children:
        status, value = receiver.recv()
        process.join()
        if status != "ok":
            raise ConfigurationFailed(value)
        results.append(value)
    return results
