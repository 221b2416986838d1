# A private PostgreSQL and Redis on 127.0.0.1, each on a free port with its data in a
# new folder under /tmp, all stopped and removed when the calling script exits.
# Sourced from the repository root by scripts/test.sh and bench/run.sh:
#
#   source scripts/services.sh herocool-test   # run_dir=/tmp/herocool-test.XXXXXX
#   start_postgres -c fsync=off                # settings for the server; exports DATABASE_URL
#   start_redis                                # exports REDIS_URL (with its password), sets redis_port
run_dir=$(mktemp -d "/tmp/${1:?usage: source scripts/services.sh NAME}.XXXXXX")
pg_bin=
as=()
stop_services() {
  [ -n "$pg_bin" ] && "${as[@]}" "$pg_bin/pg_ctl" -D "$run_dir/pg" -m immediate stop >/dev/null 2>&1 || true
  [ -f "$run_dir/redis.pid" ] && kill "$(cat "$run_dir/redis.pid")" 2>/dev/null || true
  rm -rf "$run_dir"
}
trap stop_services EXIT

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_postgres() {
  pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")
  local port user
  port=$(free_port)
  # PostgreSQL refuses to run as root: the cluster belongs to an unprivileged user.
  user=$(id -un)
  if [ "$(id -u)" = 0 ]; then user=postgres; as=(runuser -u postgres --); fi
  mkdir -p "$run_dir/pg" && chown "$user" "$run_dir" "$run_dir/pg"
  "${as[@]}" "$pg_bin/initdb" -D "$run_dir/pg" -U herocool --auth=trust -E UTF8 >/dev/null
  "${as[@]}" "$pg_bin/pg_ctl" -D "$run_dir/pg" -w -l "$run_dir/pg.log" \
    -o "-p $port -k $run_dir -c listen_addresses=127.0.0.1 $*" start >/dev/null
  export DATABASE_URL="postgres://herocool@127.0.0.1:$port/herocool"
  "${as[@]}" "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U herocool herocool
}

start_redis() {
  # Password-protected like the Redis `make run` starts: the password is in a 0600
  # config file and in REDIS_URL, never on a command line (`ps` shows those).
  redis_port=$(free_port)
  local password
  password=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')
  (umask 077; printf 'port %s\nbind 127.0.0.1\nrequirepass "%s"\nsave ""\nappendonly no\ndaemonize yes\npidfile "%s"\ndir "%s"\n' \
    "$redis_port" "$password" "$run_dir/redis.pid" "$run_dir" >"$run_dir/redis.conf")
  redis-server "$run_dir/redis.conf" >/dev/null
  export REDIS_URL="redis://:$password@127.0.0.1:$redis_port/0"
}
