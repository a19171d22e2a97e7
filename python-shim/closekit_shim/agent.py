"""The agent under test: ``WedgeAgent`` and its function tools (mirrors ts/js-shim/agent.ts).

The agent parks where the scenario says (``wedge.where``): in ``on_enter``, in
``on_exit``, or in a function tool the scripted LLM calls. ``where: none`` is the control.
It never greets on its own, so the gateway's scripted LLM replies are consumed in order by
the caller's turns.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from livekit.agents import Agent, RunContext, function_tool, get_job_context

from .emit import Emit
from .spec import Scenario
from .wedge import SHIELD, SLEEP_LOOP, park_forever

INSTRUCTIONS = "You are the closekit test agent on a phone line. Answer briefly. " "When the caller asks about an order, call the order lookup tool."


def describe_thrown(e: BaseException) -> str:
    """``<type name>: <message>`` of an exception, at most 300 characters (mirrors agent.ts
    ``describeThrown``); ``CancelledError`` has no message, so it reads ``CancelledError: ``."""
    return f"{type(e).__name__}: {e}"[:300]


#: The close tasks of non-awaiting end-call tools (asyncio keeps only weak references to tasks).
_close_tasks: set[asyncio.Task[None]] = set()


def end_call_tool(scenario: Scenario, emit: Emit) -> Any:
    """The end-call tool of ``close.trigger: agent-tool`` (named ``close.tool``), mirrors
    agent.ts ``endCallTool``: the common end-call pattern of the user reports (seeds 000,
    002). What it does is ``close.toolDoes``:

    - ``close``: ``await session.aclose()`` itself; that close runs in the tool's own task
      (agent_session.py ``aclose`` awaits ``_aclose_impl`` directly, no task of its own).
      With ``close.toolAwaitsClose: false`` it starts ``asyncio.create_task(session.aclose())``
      (the pattern seed 000 is told to use) and returns at once;
    - ``delete-room``: ``await get_job_context().delete_room()`` (job.py ``delete_room``:
      RoomService DeleteRoom), seed 002's hang-up helper; the session's close then comes from
      the room going away;
    - ``shutdown-job``: ``get_job_context().shutdown(reason="end_call")`` (job.py
      ``shutdown``); nothing to await.

    Emits ``tool.end_call.start {tool, args, awaited, does}`` before the call and
    ``tool.end_call.returned {tool, ok, error, ms, awaited, does}`` when the call comes back:
    ``ok`` when it returned, else ``error`` names the exception (``CancelledError`` when the
    close path cancels the very task that requested it); an awaited exception is re-raised,
    as the user's tool would see it. Default flags, like the user's tool.
    """
    name = scenario.close_tool or "end_call"
    awaited = scenario.close_tool_awaits
    does = scenario.close_tool_does

    def returned(t0: float, error: BaseException | None) -> None:
        ms = round((time.monotonic() - t0) * 1000)
        text = None if error is None else describe_thrown(error)
        emit("tool.end_call.returned", {"tool": name, "ok": error is None, "error": text, "ms": ms, "awaited": awaited, "does": does})

    async def end_the_call(context: RunContext) -> None:
        if does == "close":
            await context.session.aclose()
            return
        job = get_job_context()
        if does == "delete-room":
            await job.delete_room()
            return
        job.shutdown(reason="end_call")

    @function_tool(name=name, description="End the call when the caller says goodbye or asks to hang up.")
    async def end_call(context: RunContext) -> str:
        emit("tool.end_call.start", {"tool": name, "args": {}, "awaited": awaited, "does": does})
        t0 = time.monotonic()
        if not awaited:
            task = asyncio.create_task(end_the_call(context))
            _close_tasks.add(task)

            def done(t: asyncio.Task[None]) -> None:
                _close_tasks.discard(t)
                returned(t0, asyncio.CancelledError() if t.cancelled() else t.exception())

            task.add_done_callback(done)
            return "The call has ended."
        try:
            await end_the_call(context)
        except BaseException as e:  # CancelledError is a BaseException: it is the case under test
            returned(t0, e)
            raise
        returned(t0, None)
        return "The call has ended."

    return end_call


def make_tools(scenario: Scenario, emit: Emit) -> list[Any]:
    """Function tools for the scenario: the end-call tool (``end_call_tool``) when
    ``close.trigger == "agent-tool"``, and the wedged tool named ``wedge.tool`` when
    ``wedge.where == "tool"``; otherwise none.

    The wedged tool emits ``wedge.entered {where: "tool", tool, args}`` and then loops on
    ``asyncio.sleep(3600)``, swallowing ``CancelledError`` (``ignores: cancellation``).
    """
    tools: list[Any] = [end_call_tool(scenario, emit)] if scenario.close_trigger == "agent-tool" else []
    w = scenario.wedge
    if w.where != "tool" or not w.tool:
        return tools
    name = w.tool
    ignore = w.ignores == "cancellation"

    # Default flags (not ToolFlag.CANCELLABLE), as a user's tool usually has them.
    @function_tool(name=name, description="Look up the status of a customer's order by its id.")
    async def wedged_tool(context: RunContext, orderId: str = "") -> str:  # noqa: N803 (the LLM's argument name)
        await park_forever("tool", emit, {"tool": name, "args": {"orderId": orderId}}, construct=SLEEP_LOOP, ignore_cancellation=ignore)
        return "unreachable"

    return [*tools, wedged_tool]


class WedgeAgent(Agent):
    """``Agent`` whose ``on_enter``/``on_exit`` emit ``agent.entered`` and park when the
    scenario's wedge is there (``asyncio.shield`` of a never-done future, cancellation
    swallowed)."""

    def __init__(self, scenario: Scenario, emit: Emit) -> None:
        super().__init__(instructions=INSTRUCTIONS, tools=make_tools(scenario, emit))
        self._scenario = scenario
        self._emit = emit

    async def on_enter(self) -> None:
        """Emits ``agent.entered``; parks forever when ``wedge.where == "on_enter"``."""
        self._emit("agent.entered", {"agent": type(self).__name__, "wedge": self._scenario.wedge.where})
        if self._scenario.wedge.where == "on_enter":
            await park_forever("on_enter", self._emit, construct=SHIELD, ignore_cancellation=self._scenario.wedge.ignores == "cancellation")

    async def on_exit(self) -> None:
        """Parks forever when ``wedge.where == "on_exit"`` (runs inside ``AgentActivity.drain``)."""
        if self._scenario.wedge.where == "on_exit":
            await park_forever("on_exit", self._emit, construct=SHIELD, ignore_cancellation=self._scenario.wedge.ignores == "cancellation")
