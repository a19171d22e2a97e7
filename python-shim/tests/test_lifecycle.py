"""The lifecycle block of the scenario (spec.py) and the shutdown-callback holds (hold.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest

from closekit_shim.hold import HOLD_THREAD_NAME, hold_job_process, thread_stacks
from closekit_shim.spec import ScenarioError, parse_scenario

BASE = {"name": "x", "wedge": {"where": "none"}}


def test_lifecycle_parsed_and_defaults():
    s = parse_scenario({**BASE, "lifecycle": {"shutdownCallback": {"leaves": "blocked-loop", "holdMs": 9000}, "pingTimeoutMs": 5000, "drainTimeoutMs": 15000}})
    assert (s.lifecycle.hold, s.lifecycle.hold_ms, s.lifecycle.ping_timeout_ms, s.lifecycle.drain_timeout_ms) == ("blocked-loop", 9000, 5000, 15000)
    assert s.lifecycle.shutdown_process_timeout_ms is None
    assert parse_scenario(BASE).lifecycle.hold is None


@pytest.mark.parametrize(
    ("lifecycle", "path"),
    [
        ({"shutdownCallback": {"leaves": "spin", "holdMs": 1}}, "lifecycle.shutdownCallback.leaves"),
        ({"shutdownCallback": {"leaves": "blocked-loop", "holdMs": 0}}, "lifecycle.shutdownCallback.holdMs"),
        ({"pingTimeoutMs": "5s"}, "lifecycle.pingTimeoutMs"),
        ({"drainTimeoutMs": True}, "lifecycle.drainTimeoutMs"),
        ([], "lifecycle"),
    ],
)
def test_lifecycle_bad_fields_name_the_path(lifecycle, path):
    with pytest.raises(ScenarioError, match=path.replace(".", r"\.")):
        parse_scenario({**BASE, "lifecycle": lifecycle}, "f.json")


def test_blocked_loop_blocks_the_loop_and_answers_sigusr2_meanwhile():
    got: list[tuple[str, dict]] = []
    ticks: list[float] = []

    async def main() -> float:
        async def ticker() -> None:
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.05)

        t = asyncio.create_task(ticker())
        await asyncio.sleep(0.12)
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGUSR2)).start()
        start = time.monotonic()
        hold_job_process("blocked-loop", 800, lambda ev, data=None: got.append((ev, data or {})))
        t.cancel()
        return start

    old = signal.getsignal(signal.SIGUSR2)
    try:
        start = asyncio.run(main())
    finally:
        signal.signal(signal.SIGUSR2, old)
    # the loop ran no tick during the hold: the block is on the loop itself
    assert not [x for x in ticks if start + 0.05 < x < start + 0.75]
    names = [ev for ev, _ in got]
    assert names == ["job.hold", "parked"]
    parked = got[1][1]
    main_thread = next(t for t in parked["threads"] if t["name"] == "MainThread")
    assert any("hold.py" in line and "hold_job_process" in line for line in main_thread["stack"])
    assert parked["loop"] == "running"


def test_running_thread_returns_at_once_and_leaves_a_non_daemon_thread():
    got: list[str] = []
    start = time.monotonic()
    old = signal.getsignal(signal.SIGUSR2)
    try:
        hold_job_process("running-thread", 1300, lambda ev, data=None: got.append(ev))
    finally:
        signal.signal(signal.SIGUSR2, old)
    assert time.monotonic() - start < 0.3
    t = next(t for t in threading.enumerate() if t.name == HOLD_THREAD_NAME)
    assert not t.daemon and t.is_alive()
    assert any(s["name"] == HOLD_THREAD_NAME and not s["daemon"] for s in thread_stacks())
    t.join(3)
    assert got == ["job.hold", "parked"]  # the thread's own capture, 1 s in


def test_unknown_hold_raises():
    with pytest.raises(ValueError):
        hold_job_process("spin", 10, lambda ev, data=None: None)
