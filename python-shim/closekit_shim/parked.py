"""Where a hung close is parked (mirrors ts/js-shim/parked.ts; the shape:
ts/contract/parked.ts ``ParkedReport``).

On SIGUSR2 the job process emits ``parked {open, tasks}``: the instrumented close steps
still open (instrument.py) and every asyncio task with its await chain.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

from .emit import Emit
from .instrument import open_instrumented_steps


def capture_parked() -> dict[str, Any]:
    """``{open: [step, ...], tasks: [{name, coro, stack}, ...]}`` for the running loop
    (mirrors ``captureParked`` in ts/js-shim/parked.ts)."""
    return {"open": open_instrumented_steps(), "tasks": task_stacks()}


def task_stacks(limit: int = 16) -> list[dict[str, Any]]:
    """Every live asyncio task of the running loop and where it is parked:
    ``[{name, coro, stack: ["livekit/agents/voice/agent_activity.py:1449 in _pause_scheduling_task", ...]}]``
    (outermost frame first)."""
    out = []
    for t in asyncio.all_tasks():
        out.append({"name": t.get_name(), "coro": getattr(t.get_coro(), "__qualname__", repr(t.get_coro())), "stack": _await_chain(t.get_coro(), limit)})
    return out


def _await_chain(coro: Any, limit: int) -> list[str]:
    # Task.get_stack() gives only the top frame of a suspended coroutine; the full picture
    # is the chain of awaits (cr_await / gi_yieldfrom), ending at the future it waits on.
    lines: list[str] = []
    obj = coro
    while obj is not None and len(lines) < limit:
        frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None) or getattr(obj, "ag_frame", None)
        if frame is None:
            if isinstance(obj, asyncio.Future):
                lines.append(f"<awaits {type(obj).__name__} {getattr(obj, 'get_name', lambda: '')()}>".replace(" >", ">"))
            break
        lines.append(f"{frame.f_code.co_filename.split('site-packages/')[-1]}:{frame.f_lineno} in {frame.f_code.co_name}")
        obj = getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None) or getattr(obj, "ag_await", None)
    return lines


def install_parked_capture(emit: Emit, sig: int = signal.SIGUSR2) -> None:
    """On ``sig`` (SIGUSR2, as the JS worker), emit ``parked {open, tasks}``: the open
    instrumented steps and every task's stack. Also prints them to stderr (the worker log).
    Must be called from the thread running the loop; silently skipped where signals are not
    available (thread executor)."""
    loop = asyncio.get_running_loop()

    def dump() -> None:
        report = capture_parked()
        emit("parked", report)
        for s in report["tasks"]:
            print(f"[closekit] task {s['name']} ({s['coro']})", file=sys.stderr)
            for line in s["stack"]:
                print(f"    {line}", file=sys.stderr)

    try:
        loop.add_signal_handler(sig, dump)
    except (NotImplementedError, RuntimeError, ValueError):
        pass
