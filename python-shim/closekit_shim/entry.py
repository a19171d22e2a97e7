"""Job entrypoint (mirrors ts/js-shim/entry.ts): one AgentSession per dispatched job.

Runs in the job process livekit-agents forks for each job. STT, LLM and TTS are
livekit-agents' own LiveKit Inference clients (``livekit.agents.inference``), which reach
the kit's gateway through ``LIVEKIT_INFERENCE_URL`` and authenticate with the worker's
``LIVEKIT_API_KEY``/``SECRET``. No VAD and no turn-detector model: ``vad=None`` and
``turn_detection="stt"`` (the gateway's final transcripts end the user's turn), so nothing
is downloaded or run locally.
"""

from __future__ import annotations

import atexit
import multiprocessing.util
import os
from typing import Any

from livekit import rtc
from livekit.agents import AgentSession, JobContext, inference, room_io

from .agent import WedgeAgent
from .emit import Emit, default_emitter
from .instrument import instrument
from .parked import install_parked_capture
from .spec import load_scenario
from .speech import LLM_MODEL, STT_MODEL, TTS_MODEL, Speech, make_speech

__all__ = ["LLM_MODEL", "STT_MODEL", "TTS_MODEL", "entry", "guarded_entry", "make_session"]


def make_session(speech: Speech) -> AgentSession:
    """The AgentSession under test: STT/TTS per ``providers`` (speech.py), inference LLM, no
    VAD, STT turn detection."""
    return AgentSession(
        stt=speech.stt,
        llm=inference.LLM(model=LLM_MODEL),
        tts=speech.tts,
        vad=None,
        turn_handling={"turn_detection": "stt"},
    )


_exit_registered = False


def _register_job_exit(emit: Emit) -> None:
    """``job.exit`` once, when the job process ends. livekit-agents runs jobs in
    multiprocessing children, which leave through ``os._exit`` after
    ``multiprocessing.util._exit_function``: atexit never runs there, a ``Finalize`` with an
    exit priority does. atexit covers the thread executor / a plain process."""
    global _exit_registered
    if _exit_registered:
        return
    _exit_registered = True
    done = []

    def once() -> None:
        if not done:
            done.append(True)
            emit("job.exit", {"code": None})

    multiprocessing.util.Finalize(None, once, exitpriority=100)
    atexit.register(once)


async def entry(ctx: JobContext) -> None:
    """Job entrypoint: ``job.started`` -> ``AgentSession`` with ``WedgeAgent`` in ``ctx.room``
    with ``RoomOptions(close_on_disconnect=<scenario>)`` -> ``session.started`` (instrument).

    Also: ``participant.disconnected {identity, kind, reason}`` and ``room.disconnected
    {reason}`` from the room (reason: the ``rtc.DisconnectReason`` name that room_io's
    ``_on_participant_disconnected`` checks against DEFAULT_CLOSE_ON_DISCONNECT_REASONS),
    ``shutdown.callback {reason}`` when the job's shutdown callbacks run
    (ipc/job_proc_lazy_main.py ``_shutdown_job``, after ``session.aclose()`` -- bounded there
    by ``_SESSION_ACLOSE_TIMEOUT`` = 60 s -- and ``room.disconnect()``), ``job.exit`` when the
    process ends, ``parked`` on SIGUSR2. Like the JS entry, it returns once the session has
    started and does not end the job when the session closes: the job lives until the room
    disconnects or the worker shuts it down.

    Raises:
        spec.ScenarioError: ``CLOSEKIT_SCENARIO`` missing or invalid (the job fails).
    """
    import livekit.agents as agents

    emit = default_emitter()
    path = os.environ.get("CLOSEKIT_SCENARIO")
    if not path:
        raise RuntimeError("CLOSEKIT_SCENARIO is not set (start the worker through startPyWorker)")
    scenario = load_scenario(path)
    # STT/TTS per scenario.providers, built (and the TTS prewarmed, prewarmTts) before the
    # room connects, as seed 000's agent does; speech.py.
    speech = make_speech(scenario)
    emit(
        "job.started",
        {
            "jobId": ctx.job.id,
            "room": ctx.job.room.name,
            "agentName": ctx.job.agent_name,
            "metadata": ctx.job.metadata or None,
            "agentsVersion": agents.__version__,
            "agentsRoot": os.path.dirname(agents.__file__),
            "speech": speech.info,
        },
    )
    _register_job_exit(emit)
    instrument(emit)
    install_parked_capture(emit)

    async def on_shutdown(reason: str) -> None:
        emit("shutdown.callback", {"reason": reason})
        # seed 002: the callback itself is done; what it leaves behind holds the process
        if scenario.lifecycle.hold:
            from .hold import hold_job_process_async

            await hold_job_process_async(scenario.lifecycle.hold, scenario.lifecycle.hold_ms, emit)

    ctx.add_shutdown_callback(on_shutdown)

    # registered before session.start, so it fires before room_io's own listener requests the close
    @ctx.room.on("participant_disconnected")
    def _on_left(p: rtc.RemoteParticipant) -> None:
        emit(
            "participant.disconnected",
            {
                "identity": p.identity,
                "kind": rtc.ParticipantKind.Name(p.kind),
                "reason": rtc.DisconnectReason.Name(p.disconnect_reason or 0),
                # the SIP call's state as livekit-sip published it; empty for a WebRTC caller
                "sip": {k: v for k, v in (p.attributes or {}).items() if k.startswith("sip.")},
            },
        )

    @ctx.room.on("disconnected")
    def _on_room_disconnected(reason: Any = None) -> None:
        emit("room.disconnected", {"reason": rtc.DisconnectReason.Name(reason) if isinstance(reason, int) else None})

    session = make_session(speech)
    await ctx.connect()
    await session.start(
        agent=WedgeAgent(scenario, emit),
        room=ctx.room,
        room_options=room_io.RoomOptions(close_on_disconnect=scenario.close_on_disconnect),
    )


async def guarded_entry(ctx: JobContext) -> None:
    """``entry``, emitting ``job.unsupported {error}`` when it raises: on another release the
    agent under test may need an API that release lacks, and the kit must say it cannot drive
    that version instead of calling the run a hang or an error. Re-raises (the job fails as it
    would). Mirrors ``guardedEntry`` in ts/js-shim/entry.ts."""
    try:
        await entry(ctx)
    except Exception as e:
        default_emitter()("job.unsupported", {"error": f"{type(e).__name__}: {e}"[:500]})
        raise
