"""closekit_shim: the Python worker of closekit.

A real livekit-agents worker (``python -m closekit_shim.worker start``) that mirrors the
TypeScript agent in ``ts/js-shim/`` name for name (docs/internals.md, "Agent names"):
``emit.create_emitter``, ``instrument.instrument``, ``agent.WedgeAgent``/``make_tools``,
``wedge.park_forever``, ``entry.entry`` and ``worker``. It reads the scenario the
orchestrator wrote (``CLOSEKIT_SCENARIO``) and appends timeline events to
``CLOSEKIT_EVENTS``.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
