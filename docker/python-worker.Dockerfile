# The Python worker in a container, for users with a Docker engine (or podman). The kit's
# default is a venv (ts/runtimes/py/install.ts); this image installs the same pins the same way:
# livekit-agents at a version, fully constrained, and the shim on PYTHONPATH, never installed.
#
#   docker build -f docker/python-worker.Dockerfile --build-arg BASE_IMAGE=python:3.11-slim \
#     --build-arg AGENTS_VERSION=1.8.9 -t closekit-py-worker .
#
# Run it on the run's network with the worker environment of docs/internals.md
# (CLOSEKIT_EVENTS, CLOSEKIT_SCENARIO, CLOSEKIT_AGENT_NAME, LIVEKIT_URL, LIVEKIT_API_KEY,
# LIVEKIT_API_SECRET, LIVEKIT_INFERENCE_URL), with the events file and the scenario JSON
# mounted at those paths.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ARG AGENTS_VERSION=1.8.9
WORKDIR /closekit
COPY python-shim/constraints/ /closekit/constraints/
RUN python -m pip install --no-cache-dir "livekit-agents==${AGENTS_VERSION}" \
      $( [ -f "/closekit/constraints/livekit-agents-${AGENTS_VERSION}.txt" ] && echo "-c /closekit/constraints/livekit-agents-${AGENTS_VERSION}.txt" )
COPY python-shim/ /closekit/python-shim/
ENV PYTHONPATH=/closekit/python-shim PYTHONUNBUFFERED=1
ENTRYPOINT ["python", "-m", "closekit_shim.worker", "start"]
