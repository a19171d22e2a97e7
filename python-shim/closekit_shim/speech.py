"""The session's STT and TTS for the scenario's ``providers`` (mirrors ts/js-shim/speech.ts).

``inference``: livekit-agents' own LiveKit Inference clients (``LIVEKIT_INFERENCE_URL``).
``deepgram``: the Deepgram plugin (``livekit-plugins-deepgram``, same version as the agents)
pointed at the gateway's Deepgram endpoints through ``base_url``. The LLM stays on inference
either way (entry.py). With ``prewarmTts`` the TTS is prewarmed as seed 000's agent does
(``tts.prewarm()``: both TTS classes open a pooled websocket ahead of the first synthesis).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from livekit.agents import inference

from .spec import Scenario

try:  # imported at module load: livekit plugins register themselves on the main thread
    from livekit.plugins import deepgram
except ImportError:  # a venv built without the plugin can still run providers: inference
    deepgram = None  # type: ignore[assignment]

#: Model ids sent to the gateway (it scripts every model the same way); overridable per env.
STT_MODEL = os.environ.get("CLOSEKIT_STT_MODEL", "deepgram/nova-3")
LLM_MODEL = os.environ.get("CLOSEKIT_LLM_MODEL", "openai/gpt-4.1-mini")
TTS_MODEL = os.environ.get("CLOSEKIT_TTS_MODEL", "cartesia/sonic-2")
#: Deepgram models the plugin is constructed with (seed 000's TTS model; the STT default).
DEEPGRAM_MODELS = {"stt": "nova-3", "tts": "aura-2-andromeda-en"}


@dataclass
class Speech:
    stt: Any
    tts: Any
    #: what ``job.started {speech}`` says: providers, stt, tts, ttsPrewarm ("called" | "unavailable" | "off")
    info: dict[str, str]


def gateway_inference_url() -> str:
    """``LIVEKIT_INFERENCE_URL``: ``http://<host>:<port>/v1`` (providers/gateway.ts ``gatewayInferenceUrl``)."""
    url = os.environ.get("LIVEKIT_INFERENCE_URL")
    if not url:
        raise RuntimeError("LIVEKIT_INFERENCE_URL is not set (start the worker through startPyWorker)")
    return url.rstrip("/")


def make_speech(scenario: Scenario) -> Speech:
    """STT and TTS for ``scenario.providers``; prewarms the TTS when ``scenario.prewarm_tts``.

    The Deepgram plugin takes full endpoint URLs (``base_url`` of STT is ``.../v1/listen``,
    of TTS ``.../v1/speak``; ``_to_deepgram_url`` turns http into ws), so both are the
    gateway's ``/v1`` base plus the route. The Deepgram API key is the worker's
    ``LIVEKIT_API_KEY``: the gateway names the worker by it.

    Raises:
        RuntimeError: ``providers: deepgram`` on a venv without livekit-plugins-deepgram.
    """
    if scenario.providers == "deepgram":
        if deepgram is None:
            raise RuntimeError("providers: deepgram needs livekit-plugins-deepgram in the venv (run kit setup)")
        base = gateway_inference_url()
        api_key = os.environ.get("LIVEKIT_API_KEY", "")
        stt: Any = deepgram.STT(model=DEEPGRAM_MODELS["stt"], language="en-US", base_url=f"{base}/listen", api_key=api_key)
        tts: Any = deepgram.TTS(model=DEEPGRAM_MODELS["tts"], base_url=f"{base}/speak", api_key=api_key)
    else:
        stt = inference.STT(model=STT_MODEL, language="en")
        tts = inference.TTS(model=TTS_MODEL)
    prewarm = "off"
    if scenario.prewarm_tts:
        if callable(getattr(tts, "prewarm", None)):
            tts.prewarm()
            prewarm = "called"
        else:
            prewarm = "unavailable"
    info = {
        "providers": scenario.providers,
        "stt": f"{type(stt).__module__.split('.')[-2]}.{type(stt).__name__}",
        "tts": f"{type(tts).__module__.split('.')[-2]}.{type(tts).__name__}",
        "ttsPrewarm": prewarm,
    }
    return Speech(stt=stt, tts=tts, info=info)
