"""Runtime instrumentation of livekit-agents (mirrors ts/js-shim/instrument.ts).

Wraps methods on the installed classes (never edits the package, so the same code
observes the unpatched and the patched venv) and emits the timeline events of
docs/internals.md. The close path in livekit-agents 1.8.9 (voice/agent_session.py):

    _close_soon / aclose / job shutdown callback / _on_error
      -> _aclose_impl(reason, drain, error) -> _aclose_locked (session lock)
      -> _teardown_activity: await activity.interrupt(force=True)   (not drain)
                             await activity.drain()                  <- unbounded
                               (lock; await on_exit task; _pause_scheduling_task:
                                await asyncio.shield(self._scheduling_atask))
                             await activity.aclose()                 (lock; _ToolExecutor.drain;
                               _close_session = STT/TTS teardown)
      -> emit("close")

Each step gets a start/end pair; a step with a start and no end is where a wedged close
parks. Events:

- ``close.requested {reason, drain, error}``: ``AgentSession._aclose_impl``.
- ``interrupt.done {force, ms}``: the future of ``AgentActivity.interrupt(force=True)`` resolved.
- ``drain.start/end {step, agent, ms?, error?}``: ``AgentActivity.drain``.
- ``activity.close.start/end``: ``AgentActivity.aclose``.
- ``activity.step.start/end {step}``: ``activity.pause_scheduling_task``
  (``AgentActivity._pause_scheduling_task``), ``activity.close_session``
  (``AgentActivity._close_session``, the STT/TTS teardown), ``tool_executor.drain``
  (``voice.tool_executor._ToolExecutor.drain``, with the running tools).
- ``session.started``, ``session.closed {reason, error}`` (the "close" event),
  ``session.error {type, recoverable, code, message}`` (the "error" event).
- ``stt.connect {n, model}`` / ``stt.reconnect {n, model}``: inference
  ``SpeechStream._connect_ws`` calls, n counted per STT instance.
- ``stt.error {code, retryable, message}``: an error raised out of one
  ``inference.stt.SpeechStream._run`` attempt (``stt.SpeechStream._main_task`` retries or
  gives up after it), e.g. code 2007.
- ``parked {open, tasks}`` on SIGUSR2 (parked.py ``install_parked_capture``).
"""

from __future__ import annotations

import functools
import itertools
import time
import weakref
from collections.abc import Callable
from typing import Any

from .emit import Emit

_INSTALLED: list[str] = []
#: steps started and not yet ended in this process: id -> (step, since monotonic s)
_OPEN: dict[int, tuple[str, float]] = {}
_SEQ = itertools.count(1)


def _plain(value: Any) -> Any:
    """Enum -> its value; other non-JSON objects -> str."""
    v = getattr(value, "value", value)
    return v if v is None or isinstance(v, str | int | float | bool) else str(v)


def _err_text(err: Any) -> str | None:
    if err is None:
        return None
    inner = getattr(err, "error", None)
    return str(inner if inner is not None else err)[:300]


def _wrap(cls: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    orig = getattr(cls, name, None)
    if not callable(orig):
        raise AttributeError(f"closekit instrument: {cls.__module__}.{cls.__name__}.{name} does not exist in this livekit-agents version")
    if getattr(orig, "__closekit__", False):
        return
    wrapped = functools.wraps(orig)(make(orig))
    wrapped.__closekit__ = True  # type: ignore[attr-defined]
    setattr(cls, name, wrapped)
    _INSTALLED.append(f"{cls.__name__}.{name}")


def _wrap_span(cls: type, name: str, emit: Emit, start: str, end: str, step: str, data: Callable[..., dict[str, Any]] = lambda self, *a, **k: {}) -> None:
    def make(orig: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            sid = next(_SEQ)
            t0 = time.monotonic()
            try:
                d = data(self, *args, **kwargs)
            except Exception:
                d = {}
            _OPEN[sid] = (step, t0)
            emit(start, {"step": step, **d})
            try:
                r = await orig(self, *args, **kwargs)
            except BaseException as e:
                # CancelledError included: a cancelled step is not a finished one, say so
                emit(end, {"step": step, "ms": round((time.monotonic() - t0) * 1000), "error": f"{type(e).__name__}: {e}"[:300], **d})
                raise
            else:
                emit(end, {"step": step, "ms": round((time.monotonic() - t0) * 1000), **d})
                return r
            finally:
                _OPEN.pop(sid, None)

        return wrapper

    _wrap(cls, name, make)


_TARGET: Emit | None = None


def _forward(ev: str, data: dict[str, Any] | None = None) -> None:
    if _TARGET is not None:
        _TARGET(ev, data)


def open_instrumented_steps() -> list[str]:
    """The instrumented steps still running in this process, oldest first, e.g.
    ``["drain", "activity.pause_scheduling_task"]``."""
    return [s for _, (s, _) in sorted(_OPEN.items())]


def _wrap_tool_drain(cls: type, emit: Emit) -> None:
    _wrap_span(
        cls,
        "drain",
        emit,
        "activity.step.start",
        "activity.step.end",
        "tool_executor.drain",
        lambda self, *a, **k: {
            "tools": [{"name": t.ctx.function_call.name, "cancellable": t.allow_cancellation} for t in list(getattr(self, "_running_tasks", {}).values())]
        },
    )


def instrument(emit: Emit) -> list[str]:
    """Install the wrappers once per process; later calls only retarget them to ``emit``.

    Args:
        emit: the timeline emitter the wrappers write to.

    Returns:
        The ``Class.method`` names wrapped so far in this process.

    Raises:
        AttributeError: a wrapped method is missing, i.e. the installed livekit-agents is
            not a version this shim knows (fail loudly rather than emit a timeline that
            silently lacks the close events).
    """
    global _TARGET
    _TARGET = emit
    if _INSTALLED:
        return list(_INSTALLED)
    # the wrappers are installed once; they write through _forward so a later call (a test
    # with its own events file) retargets them
    emit = _forward
    from livekit.agents.inference import stt as inference_stt
    from livekit.agents.voice.agent_activity import AgentActivity
    from livekit.agents.voice.agent_session import AgentSession

    def agent_of(self: Any, *a: Any, **k: Any) -> dict[str, Any]:
        return {"agent": type(getattr(self, "agent", None)).__name__}

    # AgentSession.start(agent, *, room=..., ...): listeners once per session, then session.started
    def make_start(orig: Callable[..., Any]) -> Callable[..., Any]:
        async def start(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not getattr(self, "_closekit_listeners", False):
                self._closekit_listeners = True
                self.on(
                    "close", lambda ev: emit("session.closed", {"reason": _plain(getattr(ev, "reason", None)), "error": _err_text(getattr(ev, "error", None))})
                )

                def on_error(ev: Any) -> None:
                    err = getattr(ev, "error", None)
                    inner = getattr(err, "error", None)
                    body = getattr(inner, "body", None)
                    emit(
                        "session.error",
                        {
                            "type": getattr(err, "type", None),
                            "recoverable": getattr(err, "recoverable", None),
                            "code": body.get("code") if isinstance(body, dict) else getattr(inner, "status_code", None),
                            "message": str(inner if inner is not None else err)[:300],
                        },
                    )

                self.on("error", on_error)
            r = await orig(self, *args, **kwargs)
            agent = kwargs.get("agent", args[0] if args else None)
            room = kwargs.get("room")
            emit("session.started", {"agent": type(agent).__name__ if agent is not None else None, "room": getattr(room, "name", None)})
            return r

        return start

    _wrap(AgentSession, "start", make_start)

    # AgentSession._aclose_impl(*, reason, drain=False, error=None): every close path
    def make_aclose_impl(orig: Callable[..., Any]) -> Callable[..., Any]:
        async def _aclose_impl(self: Any, *args: Any, **kwargs: Any) -> Any:
            emit(
                "close.requested", {"reason": _plain(kwargs.get("reason")), "drain": bool(kwargs.get("drain", False)), "error": _err_text(kwargs.get("error"))}
            )
            return await orig(self, *args, **kwargs)

        return _aclose_impl

    _wrap(AgentSession, "_aclose_impl", make_aclose_impl)

    # AgentActivity.interrupt(*, force=False, source=...) -> asyncio.Future[None]
    def make_interrupt(orig: Callable[..., Any]) -> Callable[..., Any]:
        def interrupt(self: Any, *args: Any, **kwargs: Any) -> Any:
            fut = orig(self, *args, **kwargs)
            # only the forced interrupt belongs to the close timeline; barge-ins are noise
            if kwargs.get("force"):
                t0 = time.monotonic()

                def done(f: Any) -> None:
                    emit("interrupt.done", {"force": True, "ms": round((time.monotonic() - t0) * 1000), **({"error": "cancelled"} if f.cancelled() else {})})

                # a future already done (nothing to interrupt) runs no callback before the
                # caller resumes; emit now so the timeline keeps the order of the close path
                if fut.done():
                    done(fut)
                else:
                    fut.add_done_callback(done)
            return fut

        return interrupt

    _wrap(AgentActivity, "interrupt", make_interrupt)

    _wrap_span(
        AgentActivity,
        "drain",
        emit,
        "drain.start",
        "drain.end",
        "drain",
        lambda self, *a, **k: {**agent_of(self), "handoff": k.get("new_activity") is not None},
    )
    _wrap_span(AgentActivity, "aclose", emit, "activity.close.start", "activity.close.end", "activity.close", agent_of)
    # The inner steps are evidence of where the close waits, not what the verdict rests on: a
    # release without one of them is still driven (the outer steps above are required).
    # Releases before the _ToolExecutor (livekit-agents < 1.6) run tools inside the activity.
    # Mirrors the `inner` spans of ts/js-shim/instrument.ts.
    try:
        from livekit.agents.voice import tool_executor
    except ImportError:
        tool_executor = None
    for name, step in (("_pause_scheduling_task", "activity.pause_scheduling_task"), ("_close_session", "activity.close_session")):
        if callable(getattr(AgentActivity, name, None)):
            _wrap_span(AgentActivity, name, emit, "activity.step.start", "activity.step.end", step)
    if tool_executor is not None:
        _wrap_tool_drain(tool_executor._ToolExecutor, emit)

    connects: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()

    def make_connect(orig: Callable[..., Any]) -> Callable[..., Any]:
        async def _connect_ws(self: Any, *args: Any, **kwargs: Any) -> Any:
            owner = getattr(self, "_stt", self)
            n = connects.get(owner, 0) + 1
            connects[owner] = n
            emit("stt.connect" if n == 1 else "stt.reconnect", {"n": n, "model": getattr(owner, "model", None)})
            return await orig(self, *args, **kwargs)

        return _connect_ws

    _wrap(inference_stt.SpeechStream, "_connect_ws", make_connect)

    def make_run(orig: Callable[..., Any]) -> Callable[..., Any]:
        async def _run(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return await orig(self, *args, **kwargs)
            except Exception as e:
                body = getattr(e, "body", None)
                code = body.get("code") if isinstance(body, dict) else getattr(e, "status_code", None)
                emit("stt.error", {"code": code, "retryable": getattr(e, "retryable", None), "message": str(e)[:300]})
                raise

        return _run

    _wrap(inference_stt.SpeechStream, "_run", make_run)
    return list(_INSTALLED)
