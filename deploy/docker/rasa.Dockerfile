# syntax=docker/dockerfile:1
# The Rasa server (Rasa 3.6.21 on Python 3.10, requirements/rasa.lock.txt) with the
# shop's channels and NLU components (bot/, protocol/). The trained model is not in the
# image: it is read from the rasa-models volume (var/rasa-models/shop.tar.gz), which
# `rasa train` fills (deploy/compose.yml's `rasa-train` job runs this image with the
# training data below).
#
#   docker build -f deploy/docker/rasa.Dockerfile -t ridgeline/rasa .   (from the repository root)
ARG PYTHON_IMAGE=python:3.10-slim-bookworm

FROM ${PYTHON_IMAGE} AS env
COPY requirements/rasa.lock.txt /tmp/env/
# the lock is complete (`make setup` installs it the same way); every package has a wheel
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir -q --upgrade pip wheel \
 && /opt/venv/bin/pip install --no-cache-dir -q --no-deps -r /tmp/env/rasa.lock.txt

FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --user-group --home-dir /srv/ridgeline --no-create-home shop
COPY --from=env /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/srv/ridgeline \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    HF_HUB_OFFLINE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    RASA_CACHE_DIRECTORY=/tmp/rasa-cache \
    HOME=/tmp
WORKDIR /srv/ridgeline
# bot/ imports only protocol/ (the import contracts); config.yml and data/ are what
# `rasa train` reads
COPY protocol protocol
COPY bot bot
COPY config.yml config.yml
COPY data data
RUN mkdir -p var/rasa-models var/log \
 && chown -R shop:shop var
USER shop
EXPOSE 5005
HEALTHCHECK --interval=10s --timeout=3s --start-period=300s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/', timeout=3)"]
# The production endpoints (PostgreSQL tracker store, Redis lock store, RabbitMQ
# broker; SHOP_DEPLOYMENT=production) and CORS for the widget's origins
# (SHOP_WIDGET_ORIGINS, comma-separated: one --cors argument each; `set -f`: a `*` is
# passed as is, never globbed). One Sanic worker per
# container: scale with more containers behind the proxy (docs/production.md#workers).
CMD ["sh", "-c", "set -f; exec rasa run --model var/rasa-models/shop.tar.gz --endpoints bot/endpoints.production.yml --credentials bot/credentials.yml --interface 0.0.0.0 --port 5005 --cors $(printf '%s' \"$SHOP_WIDGET_ORIGINS\" | tr ',' ' ')"]
