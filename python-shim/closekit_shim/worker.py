"""Worker entry (mirrors ts/js-shim/worker.ts): ``python -m closekit_shim.worker start``.

Registers a livekit-agents worker with livekit-server (``LIVEKIT_URL``,
``LIVEKIT_API_KEY``, ``LIVEKIT_API_SECRET``) for explicit dispatch under
``CLOSEKIT_AGENT_NAME``, and emits ``worker.registered`` once the server acknowledged it.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from livekit.agents import AgentServer, cli

from .emit import default_emitter
from .entry import guarded_entry
from .spec import load_scenario


def _no_load() -> float:
    # the kit runs one job at a time on small machines: never report the worker as full
    # (the default CPU-based load would mark a busy 2-core box unavailable)
    return 0.0


#: The pong timeout livekit-agents 1.8.9 hard-codes for job processes (ipc/proc_pool.py ``ping_timeout=60``), s.
SHIPPED_PING_TIMEOUT_S = 60


def compress_pong_timeout(ms: int) -> None:
    """Make the supervisor's pong timeout ``ms`` (scenario ``lifecycle.pingTimeoutMs``):
    ipc/proc_pool.py passes ``ping_timeout=60`` to ``job_proc_executor.ProcJobExecutor``,
    which it looks up on the module at each spawn, so wrapping that class's ``__init__``
    replaces the value for every job process the worker starts."""
    from livekit.agents.ipc import job_proc_executor

    cls = job_proc_executor.ProcJobExecutor
    if getattr(cls.__init__, "_closekit_ping", None) is not None:
        cls.__init__._closekit_ping = ms  # type: ignore[attr-defined]
        return
    orig = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if "ping_timeout" in kwargs:
            kwargs["ping_timeout"] = __init__._closekit_ping / 1000  # type: ignore[attr-defined]
        orig(self, *args, **kwargs)

    __init__._closekit_ping = ms  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[method-assign]


def lifecycle_server_options() -> dict[str, Any]:
    """AgentServer kwargs from the scenario's ``lifecycle`` block (``CLOSEKIT_SCENARIO``):
    ``drain_timeout`` and ``shutdown_process_timeout`` in s (as shipped when unset); also
    compresses the pong timeout when ``pingTimeoutMs`` is set."""
    path = os.environ.get("CLOSEKIT_SCENARIO")
    if not path:
        return {}
    lc = load_scenario(path).lifecycle
    if lc.ping_timeout_ms is not None:
        compress_pong_timeout(lc.ping_timeout_ms)
    out: dict[str, Any] = {}
    if lc.drain_timeout_ms is not None:
        out["drain_timeout"] = lc.drain_timeout_ms / 1000
    if lc.shutdown_process_timeout_ms is not None:
        out["shutdown_process_timeout"] = lc.shutdown_process_timeout_ms / 1000
    return out


def make_server(agent_name: str) -> AgentServer:
    """The AgentServer for ``agent_name``: process executor, one idle process, the
    entrypoint ``entry.entry``, ``worker.registered {worker_id, agent_name}`` on registration."""
    emit = default_emitter()
    server = AgentServer(
        load_fnc=_no_load,
        num_idle_processes=1,
        # job processes import livekit-agents + numpy/av; on 2 busy cores 10 s is too short
        initialize_process_timeout=60.0,
        port=0,
        # seeds 001/002: the worker's own bounds, explicit and compressed per scenario
        **lifecycle_server_options(),
    )
    server.rtc_session(guarded_entry, agent_name=agent_name)

    @server.on("worker_registered")
    def _registered(worker_id: str, server_info: object) -> None:
        import livekit.agents as agents

        emit(
            "worker.registered",
            {"workerId": worker_id, "agentName": agent_name, "agentsVersion": agents.__version__, "agentsDir": os.path.dirname(agents.__file__)},
        )

    return server


def main() -> None:
    """CLI: livekit-agents' own ``cli.run_app`` (``start``, ``dev``, ...)."""
    agent_name = os.environ.get("CLOSEKIT_AGENT_NAME")
    if not agent_name:
        print("closekit_shim.worker: CLOSEKIT_AGENT_NAME is not set", file=sys.stderr)
        sys.exit(2)
    cli.run_app(make_server(agent_name))


if __name__ == "__main__":
    main()
