# The Python worker in a container. The kit builds and runs it with `--py-worker container`
# (ts/runtimes/py/container.ts: podman, a locally built Debian base where no registry is
# reachable); the same file builds with `docker build` for users with a Docker engine:
#
#   docker build -f docker/python-worker.Dockerfile --build-arg BASE_IMAGE=python:3.11-slim \
#     --build-arg AGENTS_VERSION=1.8.9 -t closekit-py-worker .
#
# It installs the pins the kit's venv installs, the same way (livekit-agents at a version,
# fully constrained where the repo has constraints), in a venv (Debian's own Python refuses
# system-wide pip installs), and runs the shim from PYTHONPATH, never installed. Run it on the
# run's network with the worker environment of docs/internals.md, the events file and the
# scenario JSON mounted at the paths that environment names.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ARG AGENTS_VERSION=1.8.9
# Known fix-ups (space-separated pins), e.g. httpx for releases that import it undeclared.
ARG EXTRA_PINS=
WORKDIR /closekit
COPY python-shim/constraints/ /closekit/constraints/
# Behind a TLS-intercepting proxy, the builder mounts the host's CA bundle at
# /etc/ssl/host-certs (the kit does: `podman build -v <bundle dir>:/etc/ssl/host-certs:ro`).
RUN if [ -f /etc/ssl/host-certs/ca-certificates.crt ]; then export PIP_CERT=/etc/ssl/host-certs/ca-certificates.crt; fi \
 && python3 -m venv /opt/closekit \
 && /opt/closekit/bin/python -m pip install --no-cache-dir --disable-pip-version-check -q "livekit-agents==${AGENTS_VERSION}" \
      $( [ -f "/closekit/constraints/livekit-agents-${AGENTS_VERSION}.txt" ] && echo "-c /closekit/constraints/livekit-agents-${AGENTS_VERSION}.txt" ) ${EXTRA_PINS} \
 && /opt/closekit/bin/python -c "import livekit.agents as a; assert a.__version__ == '${AGENTS_VERSION}', a.__version__"
COPY python-shim/ /closekit/python-shim/
ENV PATH=/opt/closekit/bin:$PATH PYTHONPATH=/closekit/python-shim PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
ENTRYPOINT ["/opt/closekit/bin/python", "-m", "closekit_shim.worker", "start"]
