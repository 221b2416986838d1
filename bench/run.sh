#!/usr/bin/env bash
# The benchmark: a private PostgreSQL and Redis on loopback (scripts/services.sh, as
# scripts/test.sh starts them), migrate, then bench/run.py, which prints the figures
# and writes BENCHMARKS.md (bench/results-quick.md with --quick).
#
#   bash bench/run.sh            # full run (about 7 minutes)
#   bash bench/run.sh --quick    # fast run (about 2 minutes)
#
# Arguments go to bench/run.py (see `bash bench/run.sh --help`). Everything listens on
# and talks to 127.0.0.1 only; all of it is stopped and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
# The VM image setup.sh builds (a minute of debootstrap): shared with scripts/test.sh's.
export HEROCOOL_VM_IMAGE_CACHE=${HEROCOOL_VM_IMAGE_CACHE:-$HOME/.cache/herocool/vm-images}
HEROCOOL_SETUP_TEST=1 bash scripts/setup.sh >&2

source scripts/services.sh herocool-bench
# fsync stays on, unlike the tests': the write requests measured here commit for real.
start_postgres -c max_connections=200
start_redis

export HEROCOOL_DATA_DIR="$run_dir/data"
# Temporary files (the engine's per-operation work directories, Pulumi's) go with the rest.
export TMPDIR="$run_dir/tmp"
# Measured as deployed: DEBUG off (no query log kept in memory, no debug pages).
# "testserver" is the host name of Django's in-process test client.
export DEBUG=False ALLOWED_HOSTS="127.0.0.1,localhost,testserver"
export HEROCOOL_BENCH_PG_VERSION="$("$pg_bin/postgres" --version)"
export HEROCOOL_BENCH_REDIS_VERSION="$(redis-server --version)"
mkdir -p "$HEROCOOL_DATA_DIR" "$TMPDIR"
echo "bench: PostgreSQL at ${DATABASE_URL%%@*}@…, Redis at ${REDIS_URL##*@}, data in $HEROCOOL_DATA_DIR" >&2
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py collectstatic --noinput -v0  # the hashed files pages name
.venv/bin/python bench/run.py "$@"
