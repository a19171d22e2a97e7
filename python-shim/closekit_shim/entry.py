"""Job entrypoint (mirrors ts/runtimes/js/entry.ts): one AgentSession per dispatched job.

Runs in the job process livekit-agents forks for each job. STT, LLM and TTS are
livekit-agents' own LiveKit Inference clients (``livekit.agents.inference``), which reach
the kit's gateway through ``LIVEKIT_INFERENCE_URL`` and authenticate with the worker's
``LIVEKIT_API_KEY``/``SECRET``. No VAD and no turn-detector model: ``vad=None`` and
``turn_detection="stt"`` (the gateway's final transcripts end the user's turn), so nothing
is downloaded or run locally.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

from livekit import rtc
from livekit.agents import AgentSession, JobContext, inference, room_io

from .agent import WedgeAgent
from .emit import default_emitter
from .instrument import install_stack_dump, instrument
from .spec import load_scenario

#: Model ids sent to the gateway (it scripts every model the same way); overridable per env.
STT_MODEL = os.environ.get("CLOSEKIT_STT_MODEL", "deepgram/nova-3")
LLM_MODEL = os.environ.get("CLOSEKIT_LLM_MODEL", "openai/gpt-4.1-mini")
TTS_MODEL = os.environ.get("CLOSEKIT_TTS_MODEL", "cartesia/sonic-2")


def make_session() -> AgentSession:
    """The AgentSession under test: inference STT/LLM/TTS, no VAD, STT turn detection."""
    return AgentSession(
        stt=inference.STT(model=STT_MODEL, language="en"),
        llm=inference.LLM(model=LLM_MODEL),
        tts=inference.TTS(model=TTS_MODEL),
        vad=None,
        turn_handling={"turn_detection": "stt"},
    )


async def entry(ctx: JobContext) -> None:
    """Job entrypoint: ``job.started`` -> session with ``WedgeAgent`` in ``ctx.room`` with
    ``RoomOptions(close_on_disconnect=<scenario>)`` -> ``session.started``.

    Also: ``participant.disconnected {identity, reason}`` from the room,
    ``shutdown.callback {reason}`` from a job shutdown callback, ``job.exit`` at process
    exit (atexit), SIGUSR2 -> ``parked``. When the session closes, the job is shut down
    (``ctx.shutdown``), as a phone agent does after the caller hangs up.

    Raises:
        spec.ScenarioError: ``CLOSEKIT_SCENARIO`` missing or invalid (the job fails).
    """
    emit = default_emitter()
    emit("job.started", {"job": ctx.job.id, "room": ctx.job.room.name, "agent_name": ctx.job.agent_name})
    atexit.register(lambda: emit("job.exit", {"code": None}))
    path = os.environ.get("CLOSEKIT_SCENARIO")
    if not path:
        raise RuntimeError("CLOSEKIT_SCENARIO is not set (start the worker through startPyWorker)")
    scenario = load_scenario(path)
    instrument(emit)
    install_stack_dump(emit)

    async def on_shutdown(reason: str) -> None:
        emit("shutdown.callback", {"reason": reason})

    ctx.add_shutdown_callback(on_shutdown)

    @ctx.room.on("participant_disconnected")
    def _on_left(p: rtc.RemoteParticipant) -> None:
        emit("participant.disconnected", {"identity": p.identity, "reason": rtc.DisconnectReason.Name(p.disconnect_reason or 0)})

    session = make_session()

    def _on_close(ev: Any) -> None:
        # the close finished (session.closed is emitted by instrument): end the job, as a
        # phone agent does once the caller is gone
        ctx.shutdown(reason=f"session closed: {getattr(getattr(ev, 'reason', None), 'value', ev)}")

    session.on("close", _on_close)
    await ctx.connect()
    await session.start(
        agent=WedgeAgent(scenario, emit),
        room=ctx.room,
        room_options=room_io.RoomOptions(close_on_disconnect=scenario.close_on_disconnect),
    )
