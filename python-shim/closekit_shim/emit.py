"""Timeline emitter (mirrors ts/js-shim/emit.ts; the protocol: ts/contract/events.ts).

One JSON object per line, appended to the events file:
``{"t": <CLOCK_MONOTONIC ms>, "ev": "...", "runtime": "py", "pid": 42, "data": {...}}``.

Each line is one ``os.write`` on an ``O_APPEND`` descriptor: the kernel has it as soon as
``emit`` returns (no Python buffer to lose on a hang, SIGKILL or ``os._exit``), and lines
from the worker process and its job processes never interleave.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

#: Every event name a worker may emit: the same list as ``WORKER_EVENT_NAMES`` in
#: ts/contract/events.ts (test/contract.test.ts holds the two equal).
EVENT_NAMES: tuple[str, ...] = (
    "worker.registered",
    "job.started",
    "session.started",
    "agent.entered",
    "wedge.entered",
    "participant.disconnected",
    "close.requested",
    "interrupt.done",
    "drain.start",
    "drain.end",
    "activity.close.start",
    "activity.close.end",
    "activity.step.start",
    "activity.step.end",
    "session.closed",
    "session.error",
    "shutdown.callback",
    "stt.connect",
    "stt.reconnect",
    "stt.error",
    "room.disconnected",
    "job.exit",
    "job.unsupported",
    "parked",
    "tool.end_call.start",
    "tool.end_call.returned",
    "job.hold",
)
_KNOWN = frozenset(EVENT_NAMES)

#: ``emit(ev, data=None)``; raises ValueError only for a name not in EVENT_NAMES.
Emit = Callable[..., None]


def monotonic_ms() -> float:
    """CLOCK_MONOTONIC in ms, the clock Node's ``process.hrtime`` uses, so timelines line up."""
    return time.monotonic_ns() / 1e6


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    try:
        json.dumps(data)
        return data
    except (TypeError, ValueError):
        return {k: v if isinstance(v, str | int | float | bool | type(None)) else repr(v) for k, v in data.items()}


def create_emitter(file: str | None, runtime: str = "py") -> Emit:
    """Make the emitter for ``file`` (usually ``$CLOSEKIT_EVENTS``).

    Args:
        file: path of the JSON-lines events file; created if missing. ``None`` or empty
            writes the lines to stderr instead (running the shim by hand).
        runtime: the ``runtime`` field of every line ("py").

    Returns:
        ``emit(ev: str, data: dict | None = None) -> None``. A failed write is dropped
        silently: losing a timeline line must not change the behaviour under test.
        An ``ev`` not in EVENT_NAMES raises ValueError (a typo would otherwise be a
        silent hole in the timeline).
    """
    fd: int | None = None
    if file:
        os.makedirs(os.path.dirname(os.path.abspath(file)), exist_ok=True)
        fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def emit(ev: str, data: dict[str, Any] | None = None) -> None:
        if ev not in _KNOWN:
            raise ValueError(f"{ev!r} is not a timeline event: add it to ts/contract/events.ts and EVENT_NAMES, or use a listed name")
        rec: dict[str, Any] = {"t": monotonic_ms(), "ev": ev, "runtime": runtime, "pid": os.getpid()}
        if data is not None:
            rec["data"] = _jsonable(data)
        line = (json.dumps(rec, separators=(",", ":")) + "\n").encode()
        try:
            if fd is None:
                sys.stderr.write(line.decode())
                sys.stderr.flush()
            else:
                os.write(fd, line)
        except OSError:
            pass

    return emit


_default: Emit | None = None


def default_emitter() -> Emit:
    """The process-wide emitter for ``$CLOSEKIT_EVENTS`` (created on first use, then shared).
    Mirrors ts/js-shim/emit.ts ``defaultEmitter``; ``job.exit`` is registered by entry.py."""
    global _default
    if _default is None:
        _default = create_emitter(os.environ.get("CLOSEKIT_EVENTS"), "py")
    return _default
