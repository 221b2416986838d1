#!/usr/bin/env bash
# The test command: real PostgreSQL and real Redis, started here on private ports and
# data directories when none is given (DATABASE_URL / REDIS_URL), then pytest.
# Arguments go to pytest, e.g. scripts/test.sh -m "not slow" sites/
set -euo pipefail
cd "$(dirname "$0")/.."
# The VM image takes a minute to build: keep it across runs.
export HEROCOOL_VM_IMAGE_CACHE=${HEROCOOL_VM_IMAGE_CACHE:-$HOME/.cache/herocool/vm-images}
HEROCOOL_SETUP_TEST=1 bash scripts/setup.sh

run_dir=$(mktemp -d /tmp/herocool-test.XXXXXX)
cleanup() {
  [ -n "${pg_bin:-}" ] && "$pg_bin/pg_ctl" -D "$run_dir/pg" -m immediate stop >/dev/null 2>&1 || true
  [ -f "$run_dir/redis.pid" ] && kill "$(cat "$run_dir/redis.pid")" 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [ -z "${DATABASE_URL:-}" ]; then
  pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")
  pg_port=$(free_port)
  # PostgreSQL refuses to run as root: the cluster belongs to an unprivileged user.
  pg_user=$(id -un); as=()
  if [ "$(id -u)" = 0 ]; then pg_user=postgres; as=(runuser -u postgres --); fi
  mkdir -p "$run_dir/pg" && chown "$pg_user" "$run_dir" "$run_dir/pg"
  "${as[@]}" "$pg_bin/initdb" -D "$run_dir/pg" -U herocool --auth=trust -E UTF8 >/dev/null
  "${as[@]}" "$pg_bin/pg_ctl" -D "$run_dir/pg" -w -l "$run_dir/pg.log" \
    -o "-p $pg_port -k $run_dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  export DATABASE_URL="postgres://herocool@127.0.0.1:$pg_port/herocool"
  "${as[@]}" "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U herocool herocool
fi
if [ -z "${REDIS_URL:-}" ]; then
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$run_dir/redis.pid" --dir "$run_dir" >/dev/null
  export REDIS_URL="redis://127.0.0.1:$redis_port/0"
  export HEROCOOL_TEST_REDIS_PORT=$redis_port
fi
export HEROCOOL_DATA_DIR="$run_dir/data"
echo "test: PostgreSQL at ${DATABASE_URL%%@*}@…, Redis at $REDIS_URL, data in $HEROCOOL_DATA_DIR"
.venv/bin/python -m pytest "$@"
