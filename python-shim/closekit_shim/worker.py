"""Worker entry (mirrors ts/js-shim/worker.ts): ``python -m closekit_shim.worker start``.

Registers a livekit-agents worker with livekit-server (``LIVEKIT_URL``,
``LIVEKIT_API_KEY``, ``LIVEKIT_API_SECRET``) for explicit dispatch under
``CLOSEKIT_AGENT_NAME``, and emits ``worker.registered`` once the server acknowledged it.
"""

from __future__ import annotations

import os
import sys

from livekit.agents import AgentServer, cli

from .emit import default_emitter
from .entry import guarded_entry


def _no_load() -> float:
    # the kit runs one job at a time on small machines: never report the worker as full
    # (the default CPU-based load would mark a busy 2-core box unavailable)
    return 0.0


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
