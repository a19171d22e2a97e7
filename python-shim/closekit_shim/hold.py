"""Seed 002: what a job's shutdown callback leaves holding the job process (mirrors
ts/js-shim/hold.ts; scenario ``lifecycle.shutdownCallback``, spec.ts ``JOB_HOLDS``)."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
import traceback
from typing import Any

from .emit import Emit
from .parked import capture_parked

#: The construct each hold uses in livekit-agents, as ``job.hold.construct`` names it.
PY_HOLD_CONSTRUCTS = {
    "blocked-loop": (
        "time.sleep(hold_s) in the async shutdown callback (a blocking call on the job's event loop: the IPC reader that answers pings does not run)"
    ),
    "running-thread": "threading.Thread(target=time.sleep, args=(hold_s,), daemon=False).start() (a non-daemon thread left running after the callback returns)",
}

#: blocked-loop: how long (ms) the callback yields first (``await asyncio.sleep``), so the job's
#: other shutdown work (the session's provider sockets) is done before the loop is blocked
#: (mirrors ``HOLD_DELAY_MS`` in ts/js-shim/hold.ts).
HOLD_DELAY_MS = 300

#: Name of the thread the running-thread hold starts.
HOLD_THREAD_NAME = "closekit-hold"


def _frames(f: Any, limit: int) -> list[str]:
    return [f"{fs.filename.split('site-packages/')[-1]}:{fs.lineno} in {fs.name}" for fs in traceback.extract_stack(f)[-limit:]]


def thread_stacks(limit: int = 12) -> list[dict[str, Any]]:
    """Every thread of the process and where it is: ``[{name, daemon, ident, stack: ["file:line in fn", ...]}]``
    (innermost frame last; paths after ``site-packages/`` or the Python lib dir)."""
    frames = sys._current_frames()
    out = []
    for t in threading.enumerate():
        f = frames.get(t.ident) if t.ident is not None else None
        stack = [] if f is None else _frames(f, limit)
        out.append({"name": t.name, "daemon": t.daemon, "ident": t.ident, "stack": stack})
    return out


def capture_process() -> dict[str, Any]:
    """``{threads: thread_stacks(), open, tasks}``: what the job process is doing. The asyncio
    part only when called where a loop is running (else ``tasks: []``, ``loop: "none"``)."""
    try:
        asyncio.get_running_loop()
        parked = capture_parked()
        loop = "running"
    except RuntimeError:
        parked, loop = {"open": [], "tasks": []}, "none"
    return {"threads": thread_stacks(), "loop": loop, **parked}


def install_signal_capture(emit: Emit, sig: int = signal.SIGUSR2) -> None:
    """Answer ``sig`` with ``parked {threads, loop, open, tasks}`` through a plain
    ``signal.signal`` handler: unlike the loop's ``add_signal_handler`` (parked.py), it runs
    on the main thread between bytecodes, i.e. also while a ``time.sleep`` blocks the loop
    (the sleep is interrupted, the handler runs, the sleep resumes: PEP 475) and after the
    loop is gone (the main thread joining a non-daemon thread)."""

    def handler(_sig: int, frame: Any) -> None:
        report = capture_process()
        report["mainThreadAt"] = _frames(frame, 8) if frame else []
        emit("parked", report)

    signal.signal(sig, handler)


async def hold_job_process_async(leaves: str, hold_ms: int, emit: Emit) -> None:
    """``hold_job_process`` from the shutdown callback: blocked-loop yields HOLD_DELAY_MS first."""
    if leaves == "blocked-loop":
        await asyncio.sleep(HOLD_DELAY_MS / 1000)
    hold_job_process(leaves, hold_ms, emit)


def hold_job_process(leaves: str, hold_ms: int, emit: Emit) -> None:
    """Emits ``job.hold {kind, construct, holdMs, capture}`` (capture: ``capture_process()``),
    arms ``install_signal_capture``, then holds: ``blocked-loop`` sleeps ``hold_ms`` ms on the
    calling thread (the event loop) and returns after it; ``running-thread`` starts a
    non-daemon thread that sleeps ``hold_ms`` ms and returns at once.

    Raises:
        ValueError: ``leaves`` is not one of spec.py ``JOB_HOLDS``.
    """
    if leaves not in PY_HOLD_CONSTRUCTS:
        raise ValueError(f"unknown hold {leaves!r}")
    emit("job.hold", {"kind": leaves, "construct": PY_HOLD_CONSTRUCTS[leaves], "holdMs": hold_ms, "capture": capture_process()})
    install_signal_capture(emit)
    if leaves == "blocked-loop":
        time.sleep(hold_ms / 1000)
        return
    threading.Thread(target=_hold_thread, args=(hold_ms, emit), name=HOLD_THREAD_NAME, daemon=False).start()


#: running-thread: when (ms into the hold) the thread emits its own capture.
SELF_CAPTURE_AFTER_MS = 1000


def _hold_thread(hold_ms: int, emit: Emit) -> None:
    # The kit cannot ask this process with SIGUSR2: closing the job's loop resets the loop's
    # signal handlers to SIG_DFL, so a SIGUSR2 then kills it (measured: exit -12). The thread
    # reports instead, SELF_CAPTURE_AFTER_MS in: every thread's stack (the main thread is in
    # threading._shutdown by then, joining this one).
    first = min(SELF_CAPTURE_AFTER_MS, hold_ms) / 1000
    time.sleep(first)
    emit("parked", {"threads": thread_stacks(), "loop": "none", "open": [], "tasks": [], "by": HOLD_THREAD_NAME})
    time.sleep(max(0.0, hold_ms / 1000 - first))
