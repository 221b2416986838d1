#!/usr/bin/env bash
# Deployment time on the postgres:// state backend against file:// (bench/backends.py):
# a private PostgreSQL (fsync on) and Redis on loopback, as bench/run.sh starts them.
#   bash bench/backends.sh [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
HEROCOOL_SETUP_TEST=1 bash scripts/setup.sh >&2
source scripts/services.sh herocool-bench-backends
start_postgres
start_redis
export HEROCOOL_DATA_DIR="$run_dir/data" TMPDIR="$run_dir/tmp"
export HEROCOOL_BENCH_PG_VERSION="$("$pg_bin/postgres" --version)"
mkdir -p "$HEROCOOL_DATA_DIR" "$TMPDIR"
.venv/bin/python manage.py migrate -v0
.venv/bin/python bench/backends.py "$@"
