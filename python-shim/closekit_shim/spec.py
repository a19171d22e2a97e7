"""The scenario, as the orchestrator wrote it (``CLOSEKIT_SCENARIO``, JSON).

The TypeScript side validated the YAML with zod (ts/scenario/spec.ts) and filled in the
defaults; this re-checks the fields the Python agent acts on, so a hand-written or stale
file fails with the field's path instead of a KeyError deep in the job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

WEDGE_WHERE = ("none", "tool", "on_enter", "on_exit")
WEDGE_IGNORES = ("nothing", "cancellation")
#: spec.ts ``CLOSE_TRIGGERS``: who requests the close.
CLOSE_TRIGGERS = ("caller-hangup", "agent-tool")
#: spec.ts ``PROVIDERS``: the STT/TTS provider path.
PROVIDERS = ("inference", "deepgram")
#: spec.ts ``DEFAULT_CLOSE_TOOL``: the end-call tool's name when ``close.tool`` is omitted.
DEFAULT_CLOSE_TOOL = "end_call"
#: spec.ts ``CLOSE_TOOL_DOES``: what the end-call tool does to end the call.
CLOSE_TOOL_DOES = ("close", "delete-room", "shutdown-job")
#: spec.ts ``JOB_HOLDS``: what a shutdown callback leaves holding the job process (seed 002).
JOB_HOLDS = ("blocked-loop", "running-thread")


class ScenarioError(ValueError):
    """The scenario file is missing, not JSON, or a field has a bad value (message names the file and field)."""


@dataclass(frozen=True)
class Wedge:
    """Where the agent parks and what the parked code ignores (spec.ts ``WedgeSchema``)."""

    where: str
    ignores: str = "cancellation"
    tool: str | None = None


@dataclass(frozen=True)
class Lifecycle:
    """spec.ts ``LifecycleSchema``, the fields the Python worker and job act on (ms; None = as shipped)."""

    #: ``shutdownCallback.leaves`` (JOB_HOLDS) and ``shutdownCallback.holdMs``; None: the callback just returns.
    hold: str | None = None
    hold_ms: int = 0
    ping_timeout_ms: int | None = None
    drain_timeout_ms: int | None = None
    shutdown_process_timeout_ms: int | None = None


def _parse_lifecycle(obj: Any, bad: Any) -> Lifecycle:
    if obj is None:
        return Lifecycle()
    if not isinstance(obj, dict):
        raise bad("lifecycle", "expected an object")

    def ms(key: str) -> int | None:
        v = obj.get(key)
        if v is None:
            return None
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise bad(f"lifecycle.{key}", f"{v!r} is not a positive integer (ms)")
        return v

    hold, hold_ms = None, 0
    cb = obj.get("shutdownCallback")
    if cb is not None:
        if not isinstance(cb, dict):
            raise bad("lifecycle.shutdownCallback", "expected an object")
        hold = cb.get("leaves")
        if hold not in JOB_HOLDS:
            raise bad("lifecycle.shutdownCallback.leaves", f"{hold!r} is not one of {', '.join(JOB_HOLDS)}")
        hold_ms = cb.get("holdMs")
        if not isinstance(hold_ms, int) or isinstance(hold_ms, bool) or hold_ms <= 0:
            raise bad("lifecycle.shutdownCallback.holdMs", f"{hold_ms!r} is not a positive integer (ms)")
    return Lifecycle(
        hold=hold,
        hold_ms=hold_ms,
        ping_timeout_ms=ms("pingTimeoutMs"),
        drain_timeout_ms=ms("drainTimeoutMs"),
        shutdown_process_timeout_ms=ms("shutdownProcessTimeoutMs"),
    )


@dataclass(frozen=True)
class Scenario:
    """The fields the Python agent uses; ``raw`` keeps the whole JSON object."""

    name: str
    wedge: Wedge
    close_on_disconnect: bool = True
    #: ``close.trigger``: "caller-hangup" or "agent-tool" (the agent's end-call tool awaits ``session.aclose()``).
    close_trigger: str = "caller-hangup"
    #: ``close.tool``: the end-call tool's name; set only for ``close_trigger == "agent-tool"``.
    close_tool: str | None = None
    #: ``close.toolAwaitsClose``: the end-call tool awaits ``session.aclose()`` (True) or starts it in a task (False).
    close_tool_awaits: bool = True
    #: ``close.toolDoes``: ``close`` the session, ``delete-room`` through the server API, or ``shutdown-job``.
    close_tool_does: str = "close"
    #: ``providers``: STT/TTS via LiveKit Inference or the Deepgram plugin (speech.py).
    providers: str = "inference"
    #: ``prewarmTts``: ``tts.prewarm()`` before the session starts (seed 000).
    prewarm_tts: bool = False
    #: ``lifecycle``: the worker's bounds and what holds the job process (seeds 001, 002).
    lifecycle: Lifecycle = field(default_factory=lambda: Lifecycle())
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def parse_scenario(obj: Any, source: str = "<scenario>") -> Scenario:
    """Validate a scenario object (the JSON form of spec.ts ``Scenario``).

    Raises:
        ScenarioError: naming ``source`` and the field path.
    """

    def bad(path: str, msg: str) -> ScenarioError:
        return ScenarioError(f"{source}: {path}: {msg}")

    if not isinstance(obj, dict):
        raise bad("(root)", "expected an object")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise bad("name", "expected a non-empty string")
    w = obj.get("wedge")
    if not isinstance(w, dict):
        raise bad("wedge", "expected an object")
    where = w.get("where")
    if where not in WEDGE_WHERE:
        raise bad("wedge.where", f"{where!r} is not one of {', '.join(WEDGE_WHERE)}")
    ignores = w.get("ignores", "cancellation")
    if ignores not in WEDGE_IGNORES:
        raise bad("wedge.ignores", f"{ignores!r} is not one of {', '.join(WEDGE_IGNORES)}")
    tool = w.get("tool")
    if where == "tool" and (not isinstance(tool, str) or not tool):
        raise bad("wedge.tool", 'wedge.where is "tool", so wedge.tool must name the function tool')
    close = obj.get("close", {})
    if not isinstance(close, dict):
        raise bad("close", "expected an object")
    cod = close.get("closeOnDisconnect", True)
    if not isinstance(cod, bool):
        raise bad("close.closeOnDisconnect", "expected true or false")
    trigger = close.get("trigger", "caller-hangup")
    if trigger not in CLOSE_TRIGGERS:
        raise bad("close.trigger", f"{trigger!r} is not one of {', '.join(CLOSE_TRIGGERS)}")
    close_tool = close.get("tool")
    awaits = close.get("toolAwaitsClose")
    does = close.get("toolDoes")
    if trigger == "agent-tool":
        if does is None:
            does = "close"
        if does not in CLOSE_TOOL_DOES:
            raise bad("close.toolDoes", f"{does!r} is not one of {', '.join(CLOSE_TOOL_DOES)}")
        if does == "shutdown-job" and awaits:
            raise bad(
                "close.toolAwaitsClose",
                'close.toolDoes is "shutdown-job": JobContext.shutdown() returns nothing to await (remove close.toolAwaitsClose)',
            )
        if awaits is None:
            awaits = does != "shutdown-job"
        if not isinstance(awaits, bool):
            raise bad("close.toolAwaitsClose", "expected true or false")
        if close_tool is None:
            close_tool = DEFAULT_CLOSE_TOOL
        if not isinstance(close_tool, str) or not close_tool.isidentifier():
            raise bad("close.tool", f"{close_tool!r} is not a function name")
        if where == "tool" and tool == close_tool:
            raise bad("wedge.tool", f"{tool!r} is also close.tool: the end-call tool cannot be the wedged tool")
    else:
        for key, value in (("tool", close_tool), ("toolAwaitsClose", awaits), ("toolDoes", does)):
            if value is not None:
                raise bad(f"close.{key}", f'is about the end-call tool of close.trigger "agent-tool"; close.trigger is {trigger!r}')
    providers = obj.get("providers", "inference")
    if providers not in PROVIDERS:
        raise bad("providers", f"{providers!r} is not one of {', '.join(PROVIDERS)}")
    prewarm_tts = obj.get("prewarmTts", False)
    if not isinstance(prewarm_tts, bool):
        raise bad("prewarmTts", "expected true or false")
    return Scenario(
        name=name,
        wedge=Wedge(where=where, ignores=ignores, tool=tool),
        close_on_disconnect=cod,
        close_trigger=trigger,
        close_tool=close_tool,
        close_tool_awaits=bool(awaits) if trigger == "agent-tool" else True,
        close_tool_does=does if trigger == "agent-tool" and isinstance(does, str) else "close",
        providers=providers,
        prewarm_tts=prewarm_tts,
        lifecycle=_parse_lifecycle(obj.get("lifecycle"), bad),
        raw=obj,
    )


def load_scenario(path: str) -> Scenario:
    """Read and validate the scenario JSON at ``path``.

    Raises:
        ScenarioError: unreadable file, invalid JSON, or an invalid field.
    """
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read scenario: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise ScenarioError(f"{path}: not JSON: {e}") from e
    return parse_scenario(obj, path)
