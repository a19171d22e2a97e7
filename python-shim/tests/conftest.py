"""Shared fixtures: an events file and a reader for it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    return tmp_path / "events.jsonl"


def read_events(path: os.PathLike[str]) -> list[dict]:
    """Every complete JSON line of an events file, in file order."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run_leaving_wedges(coro, grace: float = 0.0):  # type: ignore[no-untyped-def]
    """Run ``coro`` on a fresh loop and return its result WITHOUT cancelling the tasks it
    left behind. ``asyncio.run`` would cancel and then await every leftover task, and a
    wedge swallows the cancel, so it would wait forever: the very hang under test."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        asyncio.set_event_loop(None)
        # neither close nor drop it: a collected pending task gets GeneratorExit thrown in,
        # which livekit-agents' on_enter wrapper turns into unraisable-exception noise
        _PARKED_LOOPS.append((loop, asyncio.all_tasks(loop)))


_PARKED_LOOPS: list = []
