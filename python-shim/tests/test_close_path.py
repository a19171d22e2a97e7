"""A real livekit-agents AgentSession (no room, no models) with the shim's agent and
instrumentation: the forced close parks where the scenario's wedge says.

The close is the one close-on-disconnect runs (room_io: ``_close_soon(reason=
PARTICIPANT_DISCONNECTED)`` -> ``_aclose_impl(drain=False)``), bounded in the test with
asyncio.wait.
"""

import asyncio
from pathlib import Path

import pytest
from conftest import read_events, run_leaving_wedges

from closekit_shim.agent import WedgeAgent
from closekit_shim.emit import create_emitter
from closekit_shim.instrument import instrument, open_instrumented_steps
from closekit_shim.parked import task_stacks
from closekit_shim.spec import parse_scenario

agents = pytest.importorskip("livekit.agents")
from livekit.agents import AgentSession  # noqa: E402
from livekit.agents.voice.events import CloseReason  # noqa: E402


async def _force_close(where: str, events_file: Path, timeout: float) -> tuple[bool, list[str], list[dict]]:
    emit = create_emitter(str(events_file))
    instrument(emit)
    # wedges of earlier tests in this process stay parked (nothing can end them)
    already_open = len(open_instrumented_steps())
    scenario = parse_scenario({"name": "t", "wedge": {"where": where, "ignores": "cancellation"}})
    session = AgentSession(vad=None, turn_handling={"turn_detection": "manual"})
    await asyncio.wait_for(session.start(WedgeAgent(scenario, emit)), 5)
    await asyncio.sleep(0.1)
    close = asyncio.ensure_future(session._aclose_impl(reason=CloseReason.PARTICIPANT_DISCONNECTED, drain=False))
    done, _ = await asyncio.wait([close], timeout=timeout)
    steps = open_instrumented_steps()[already_open:]
    stacks = task_stacks()
    # leave the wedged tasks behind: nothing can end them (that is the point)
    return bool(done), steps, stacks


def _evs(events_file: Path) -> list[str]:
    return [e["ev"] for e in read_events(events_file)]


def test_control_closes(events_file: Path) -> None:
    closed, steps, _ = run_leaving_wedges(_force_close("none", events_file, 5))
    assert closed and steps == []
    evs = _evs(events_file)
    order = ["close.requested", "interrupt.done", "drain.start", "drain.end", "activity.close.start", "activity.close.end", "session.closed"]
    assert [e for e in evs if e in order] == order


def test_on_exit_wedge_parks_in_drain_awaiting_on_exit(events_file: Path) -> None:
    closed, steps, stacks = run_leaving_wedges(_force_close("on_exit", events_file, 1.5))
    assert not closed
    assert steps == ["drain"]
    evs = _evs(events_file)
    assert "wedge.entered" in evs and "drain.end" not in evs and "activity.close.start" not in evs and "session.closed" not in evs
    closer = next(s for s in stacks if any("_teardown_activity" in f for f in s["stack"]))
    # agent_activity.py AgentActivity.drain: `await self._on_exit_task` under the activity lock
    assert "in drain" in closer["stack"][-1]


def test_on_enter_wedge_parks_in_pause_scheduling_task(events_file: Path) -> None:
    closed, steps, stacks = run_leaving_wedges(_force_close("on_enter", events_file, 1.5))
    assert not closed
    assert steps == ["drain", "activity.pause_scheduling_task"]
    closer = next(s for s in stacks if any("_teardown_activity" in f for f in s["stack"]))
    # AgentActivity._pause_scheduling_task: `await asyncio.shield(self._scheduling_atask)`
    assert "in _pause_scheduling_task" in closer["stack"][-1]
    assert "session.closed" not in _evs(events_file)
