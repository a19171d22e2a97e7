"""The agent under test: ``WedgeAgent`` and its function tools (mirrors ts/js-shim/agent.ts).

The agent parks where the scenario says (``wedge.where``): in ``on_enter``, in
``on_exit``, or in a function tool the scripted LLM calls. ``where: none`` is the control.
It never greets on its own, so the gateway's scripted LLM replies are consumed in order by
the caller's turns.
"""

from __future__ import annotations

from typing import Any

from livekit.agents import Agent, RunContext, function_tool

from .emit import Emit
from .spec import Scenario
from .wedge import SHIELD, SLEEP_LOOP, park_forever

INSTRUCTIONS = "You are the closekit test agent on a phone line. Answer briefly. " "When the caller asks about an order, call the order lookup tool."


def make_tools(scenario: Scenario, emit: Emit) -> list[Any]:
    """Function tools for the scenario: the wedged tool named ``wedge.tool`` when
    ``wedge.where == "tool"``, otherwise none.

    The wedged tool emits ``wedge.entered {where: "tool", tool, args}`` and then loops on
    ``asyncio.sleep(3600)``, swallowing ``CancelledError`` (``ignores: cancellation``).
    """
    w = scenario.wedge
    if w.where != "tool" or not w.tool:
        return []
    name = w.tool
    ignore = w.ignores == "cancellation"

    # Default flags (not ToolFlag.CANCELLABLE), as a user's tool usually has them.
    @function_tool(name=name, description="Look up the status of a customer's order by its id.")
    async def wedged_tool(context: RunContext, orderId: str = "") -> str:  # noqa: N803 (the LLM's argument name)
        await park_forever("tool", emit, {"tool": name, "args": {"orderId": orderId}}, construct=SLEEP_LOOP, ignore_cancellation=ignore)
        return "unreachable"

    return [wedged_tool]


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
