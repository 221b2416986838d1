#!/usr/bin/env bash
# The deployment-log benchmark (bench/logs.py) on a private PostgreSQL with fsync on, as
# bench/run.sh starts it, then on a fresh SQLite file (the default installation).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh herocool-bench-logs
start_postgres
export HEROCOOL_DATA_DIR="$run_dir/data" DEBUG=False
mkdir -p "$HEROCOOL_DATA_DIR"
.venv/bin/python manage.py migrate -v0
.venv/bin/python bench/logs.py "$@"
unset DATABASE_URL
.venv/bin/python manage.py migrate -v0
.venv/bin/python bench/logs.py "$@"
