#!/usr/bin/env bash
# The test command: real PostgreSQL and real Redis, started here on private ports and
# data directories when none is given (DATABASE_URL / REDIS_URL), then pytest.
# Arguments go to pytest, e.g. scripts/test.sh -m "not slow" sites/
set -euo pipefail
cd "$(dirname "$0")/.."
# The VM image takes a minute to build: keep it across runs.
export HEROCOOL_VM_IMAGE_CACHE=${HEROCOOL_VM_IMAGE_CACHE:-$HOME/.cache/herocool/vm-images}
HEROCOOL_SETUP_TEST=1 bash scripts/setup.sh

source scripts/services.sh herocool-test
if [ -z "${DATABASE_URL:-}" ]; then
  start_postgres -c fsync=off
fi
if [ -z "${REDIS_URL:-}" ]; then
  start_redis
fi
export HEROCOOL_DATA_DIR="$run_dir/data"
echo "test: PostgreSQL at ${DATABASE_URL%%@*}@…, Redis at ${REDIS_URL##*@}, data in $HEROCOOL_DATA_DIR"
.venv/bin/python -m pytest "$@"
