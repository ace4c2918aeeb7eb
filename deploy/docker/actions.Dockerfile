# syntax=docker/dockerfile:1
# The action server (`python -m actions`, rasa-sdk 3.21 on Python 3.11) and the shop's
# command line (`python -m apps.cli ...`, `python -m tools ...`: the compose file's
# `setup` job runs schema migrations, the LLM weights, the search index and the
# recommender with this image).
#
#   docker build -f deploy/docker/actions.Dockerfile -t ridgeline/actions .   (from the repository root)
#
# Nothing secret is in the image: settings and secrets come from the environment at run
# time (env/.env through deploy/compose.yml), state from volumes under /srv/ridgeline/var
# (search index, preference models, LLM weights). See docs/production.md.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- the environment: requirements/actions.lock.txt ----------------------------------
# (the same stage as web.Dockerfile's, so the two images share its cached layers)
FROM ${PYTHON_IMAGE} AS env
# a C++ compiler: implicit (the recommender's ALS) is built from its sdist
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
# torch's CPU build: see install_actions_env.sh
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
COPY requirements/actions.lock.txt deploy/docker/install_actions_env.sh /tmp/env/
RUN /tmp/env/install_actions_env.sh /opt/venv /tmp/env/actions.lock.txt "$TORCH_INDEX"

# --- the running image ---------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# libgomp1: OpenMP of the locally built implicit
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /srv/ridgeline --no-create-home shop
COPY --from=env /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/srv/ridgeline \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    HOME=/tmp
WORKDIR /srv/ridgeline
COPY protocol protocol
COPY shop shop
COPY models models
COPY retrieval retrieval
COPY apps apps
COPY actions actions
COPY tools tools
COPY data data
# rasa-sdk reads its tracing settings from the Rasa server's endpoints file
COPY bot/endpoints.yml bot/
# the compose file's set-up job, and its analytics consumer's health check
COPY deploy/docker/setup.sh deploy/docker/analytics_health.py deploy/docker/
# var/: the volumes' mount points (index, models, llm), owned by the service user
RUN mkdir -p var/index var/models var/llm var/log \
 && chown -R shop:shop var
USER shop
EXPOSE 5055
HEALTHCHECK --interval=10s --timeout=3s --start-period=180s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5055/health', timeout=3)"]
# SHOP_ACTION_HOST=0.0.0.0 (set by deploy/compose.yml) to be reachable on the private
# network; ACTION_SERVER_SANIC_WORKERS worker processes (rasa-sdk's own variable)
CMD ["python", "-m", "actions", "--port", "5055"]
