#!/usr/bin/env bash
# Run Herocool on this machine with the embedded defaults: SQLite and the Pulumi state
# under ./data, a Redis started here (unless REDIS_URL names one), one RQ worker, the
# sites origin (port 8001) and the web app (port 8000). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HEROCOOL_DATA_DIR=${HEROCOOL_DATA_DIR:-$PWD/data}
mkdir -p "$HEROCOOL_DATA_DIR"
py=.venv/bin/python
pids=()
stop() { trap - EXIT INT TERM; kill "${pids[@]}" 2>/dev/null || true; wait || true; }
trap stop EXIT INT TERM

if [ -z "${REDIS_URL:-}" ]; then
  port=${HEROCOOL_REDIS_PORT:-6379}
  export REDIS_URL="redis://127.0.0.1:$port/0"
  if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
    mkdir -p "$HEROCOOL_DATA_DIR/redis"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$HEROCOOL_DATA_DIR/redis" \
      --save 60 1 --appendonly yes >"$HEROCOOL_DATA_DIR/redis.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
fi

$py manage.py migrate --noinput
$py manage.py requeue_deployments
$py manage.py rqworker default &
pids+=($!)
$py manage.py serve_sites &
pids+=($!)
echo "Herocool: http://127.0.0.1:${PORT:-8000}/  (sites are served on port ${HEROCOOL_SITES_PORT:-8001})"
$py manage.py runserver "127.0.0.1:${PORT:-8000}" &
pids+=($!)
wait -n
