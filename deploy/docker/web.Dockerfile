# syntax=docker/dockerfile:1
# The demo storefront (`python -m apps.cli web`, serves the chat widget) and the staff
# console (`python -m apps.cli console`): one image, two commands (deploy/compose.yml).
# The widget and the console's front end are built from web/ with the npm lockfile in a
# Node stage; the servers run in the action server's Python 3.11 environment.
#
#   docker build -f deploy/docker/web.Dockerfile -t ridgeline/web .   (from the repository root)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# --- web/dist: the widget (shop-assistant.js) and the console (console.js) -------------
FROM ${NODE_IMAGE} AS widget
WORKDIR /build/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run --silent build \
 && test -s dist/shop-assistant.js && test -s dist/console.js

# --- the environment: requirements/actions.lock.txt (same stage as actions.Dockerfile) --
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
COPY --from=widget /build/web/dist web/dist
# var/: the recommender volume's mount point (the console's suggestions read it)
RUN mkdir -p var/models var/log \
 && chown -R shop:shop var
USER shop
EXPOSE 8000 8001
# the storefront by default; the console: `python -m apps.cli console --host 0.0.0.0 --port 8001`
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('WEB_PORT', '8000'), timeout=3)"]
CMD ["python", "-m", "apps.cli", "web", "--host", "0.0.0.0", "--port", "8000"]
