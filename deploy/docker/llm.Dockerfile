# syntax=docker/dockerfile:1
# The local LLM: llama.cpp's llama-server, built portably by scripts/build_llama.sh with
# the flags of requirements/llama-cpp.cmake (a fixed x86-64 level, GGML_NATIVE=OFF: never
# a build for the CPU of the machine that builds the image; issue 13), run under the
# project's supervisor (models.llm.server.Supervisor: restarts on a crash or a hang, at a
# lower CPU priority) by deploy/docker/llm_serve.py. The weights (GGUF) are not in the
# image: they are read from the llm-weights volume, which `python -m apps.cli llm fetch`
# fills (deploy/compose.yml's `setup` job).
#
#   docker build -f deploy/docker/llm.Dockerfile -t ridgeline/llm .   (from the repository root)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- llama-server ----------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/build_llama.sh scripts/build_llama.sh
COPY requirements/llama-cpp.cmake requirements/llama-cpp.cmake
# the pinned llama-cpp-python sdist (SHA-256 checked) from PyPI, then the build;
# LLAMA_JOBS: parallel compile jobs (default: every core of the build machine)
# (the guard: the flags file still forbids a native build)
ARG LLAMA_JOBS=
RUN grep -qx -- '-DGGML_NATIVE=OFF' requirements/llama-cpp.cmake \
 && scripts/build_llama.sh python3 \
 && test -x var/llama.cpp/bin/llama-server

# --- the running image ---------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# libgomp1: llama.cpp's OpenMP threads
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /srv/ridgeline --no-create-home shop
# the supervisor needs httpx (health checks) and tqdm (assembling weights); their
# versions are the action server's (requirements/actions.lock.txt as constraints)
COPY requirements/actions.lock.txt /tmp/env/
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir -q -c /tmp/env/actions.lock.txt httpx tqdm \
 && rm -rf /tmp/env
COPY --from=build /src/var/llama.cpp/bin /opt/llama.cpp/bin
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/srv/ridgeline \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
WORKDIR /srv/ridgeline
# only the supervisor and the weights catalogue of models.llm (stdlib + httpx)
COPY models/__init__.py models/__init__.py
COPY models/llm/__init__.py models/llm/server.py models/llm/weights.py models/llm/
COPY deploy/docker/llm_serve.py deploy/docker/llm_serve.py
RUN mkdir -p var/llm && chown -R shop:shop var
USER shop
EXPOSE 5077
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5077/health', timeout=3)"]
ENTRYPOINT ["python", "deploy/docker/llm_serve.py", "--binary", "/opt/llama.cpp/bin/llama-server", "--weights-dir", "var/llm"]
CMD ["--host", "0.0.0.0", "--port", "5077"]
