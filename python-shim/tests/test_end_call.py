"""The end-call tool of ``close.trigger: agent-tool`` (agent.py ``end_call_tool``) and its
spec fields (spec.py): what it emits when the close it requested returns, raises, or was
not awaited."""

import asyncio
import re
from types import SimpleNamespace
from typing import Any

import pytest

from closekit_shim.agent import end_call_tool, make_tools
from closekit_shim.spec import ScenarioError, parse_scenario


def scenario(**close: Any) -> Any:
    return parse_scenario({"name": "n", "wedge": {"where": "none"}, "close": {"trigger": "agent-tool", **close}})


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def __call__(self, ev: str, data: dict | None = None) -> None:
        self.events.append((ev, data or {}))

    def names(self) -> list[str]:
        return [e for e, _ in self.events]


def context(aclose: Any) -> Any:
    return SimpleNamespace(session=SimpleNamespace(aclose=aclose))


def test_awaited_close_that_returns_is_ok() -> None:
    emit = Recorder()
    calls = []

    async def aclose() -> None:
        calls.append(1)

    tool = end_call_tool(scenario(), emit)
    assert tool.info.name == "end_call"
    assert asyncio.run(tool(context(aclose))) == "The call has ended."
    assert calls == [1]
    assert emit.names() == ["tool.end_call.start", "tool.end_call.returned"]
    ret = emit.events[1][1]
    assert (ret["ok"], ret["error"], ret["awaited"], ret["tool"]) == (True, None, True, "end_call")


def test_awaited_close_cancelled_is_reported_and_reraised() -> None:
    # the patched close cancelling the tool task that requested it: aclose() raises CancelledError
    emit = Recorder()

    async def aclose() -> None:
        raise asyncio.CancelledError()

    async def run() -> None:
        await end_call_tool(scenario(tool="hang_up"), emit)(context(aclose))

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(run())
    ev, data = emit.events[-1]
    assert ev == "tool.end_call.returned"
    assert data["ok"] is False
    assert data["tool"] == "hang_up"
    assert data["error"].startswith("CancelledError")


def test_not_awaited_close_returns_first_and_reports_when_done() -> None:
    emit = Recorder()
    gate = asyncio.Event

    async def run() -> list[str]:
        release = gate()

        async def aclose() -> None:
            await release.wait()
            raise RuntimeError("boom")

        out = await end_call_tool(scenario(toolAwaitsClose=False), emit)(context(aclose))
        assert out == "The call has ended."
        before = emit.names()
        release.set()
        for _ in range(5):
            await asyncio.sleep(0)
        return before

    before = asyncio.run(run())
    assert before == ["tool.end_call.start"]
    ev, data = emit.events[-1]
    assert ev == "tool.end_call.returned"
    assert (data["ok"], data["awaited"]) == (False, False)
    assert data["error"] == "RuntimeError: boom"


def test_tools_per_trigger() -> None:
    assert make_tools(parse_scenario({"name": "n", "wedge": {"where": "none"}}), Recorder()) == []
    tools = make_tools(parse_scenario({"name": "n", "wedge": {"where": "tool", "tool": "lookup_order"}, "close": {"trigger": "agent-tool"}}), Recorder())
    assert [t.info.name for t in tools] == ["end_call", "lookup_order"]


def test_agent_tool_defaults() -> None:
    s = scenario()
    assert (s.close_trigger, s.close_tool, s.close_tool_awaits) == ("agent-tool", "end_call", True)
    plain = parse_scenario({"name": "n", "wedge": {"where": "none"}})
    assert (plain.close_trigger, plain.close_tool) == ("caller-hangup", None)


@pytest.mark.parametrize(
    "close, wedge, field",
    [
        ({"trigger": "robot"}, {"where": "none"}, "close.trigger"),
        ({"trigger": "caller-hangup", "tool": "end_call"}, {"where": "none"}, "close.tool"),
        ({"trigger": "caller-hangup", "toolAwaitsClose": True}, {"where": "none"}, "close.toolAwaitsClose"),
        ({"trigger": "agent-tool", "tool": "end call"}, {"where": "none"}, "close.tool"),
        ({"trigger": "agent-tool", "toolAwaitsClose": "yes"}, {"where": "none"}, "close.toolAwaitsClose"),
        ({"trigger": "agent-tool"}, {"where": "tool", "tool": "end_call"}, "wedge.tool"),
    ],
)
def test_bad_close_fields_name_the_path(close: dict, wedge: dict, field: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(f"src: {field}:")):
        parse_scenario({"name": "n", "wedge": wedge, "close": close}, "src")
