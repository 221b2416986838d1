#!/usr/bin/env bash
# Deployments per minute with 1, 2 and 4 workers over two hosts (bench/hosts.py): a
# private PostgreSQL (fsync on; the Pulumi state in it) and Redis on loopback.
#   bash bench/hosts.sh [--jobs N] [--workers 1 2 4]
set -euo pipefail
cd "$(dirname "$0")/.."
# No VM boots here, but set-up checks the image: the tests' cache, built once.
export HEROCOOL_VM_IMAGE_CACHE=${HEROCOOL_VM_IMAGE_CACHE:-$HOME/.cache/herocool/vm-images}
HEROCOOL_SETUP_TEST=1 bash scripts/setup.sh >&2
source scripts/services.sh herocool-bench-hosts
start_postgres
start_redis
export HEROCOOL_DATA_DIR="$run_dir/data" TMPDIR="$run_dir/tmp"
mkdir -p "$HEROCOOL_DATA_DIR" "$TMPDIR"
.venv/bin/python manage.py migrate -v0
.venv/bin/python bench/hosts.py "$@"
