#!/usr/bin/env bash
# Run Herocool on this machine the way production runs it, only without TLS: set-up,
# the Procfile's `release` (migrate, collectstatic), then its processes under honcho:
# web (gunicorn, port ${PORT:-8000}), worker, scheduler, sites (port 8001) and, unless
# REDIS_URL names one, a Redis of our own behind a generated password. Ctrl-C stops all.
#
# Started as root, everything after set-up runs as the unprivileged system user
# `herocool` (QEMU guests included: the worker starts them), which owns the data dir.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# From here on, whatever we and our processes write is private to the service account.
umask 077
export HEROCOOL_DATA_DIR=${HEROCOOL_DATA_DIR:-$PWD/data}
mkdir -p "$HEROCOOL_DATA_DIR"
chmod -R go-rwx "$HEROCOOL_DATA_DIR"  # a data dir made before files were kept private
# The Procfile's `python` is .venv's (or, as root, the herocool account's twin of it).
venv_bin=$PWD/.venv/bin
as_service=()
if [ "$(id -u)" = 0 ]; then
  [ -x /usr/local/lib/herocool/venv/bin/python ] && venv_bin=/usr/local/lib/herocool/venv/bin
  chown -R herocool: "$HEROCOOL_DATA_DIR"
  export HEROCOOL_PULUMI_ROOT=${HEROCOOL_PULUMI_ROOT:-$(bash scripts/service_pulumi_root.sh)}
  if ! runuser -u herocool -- test -x "$HEROCOOL_DATA_DIR"; then
    echo "run.sh: the herocool account cannot reach $HEROCOOL_DATA_DIR (a parent folder is closed)" >&2
    exit 1
  fi
  # The guests' way out (vms/localvm/guestnet.py): the account cannot drop QEMU to a uid
  # of its own, so its guests' QEMU runs with this group as its gid (through sg, as a
  # member), and this table refuses that gid connections to this host. Without the
  # table the worker's probe fails and guests get no network out at all.
  guest_group=${HEROCOOL_VM_GUEST_GROUP-herocool-guests}
  if [ -n "$guest_group" ]; then
    getent group "$guest_group" >/dev/null || groupadd --system "$guest_group"
    usermod -a -G "$guest_group" herocool
    .venv/bin/python -m vms.localvm.guestnet install-group "$guest_group" \
      || echo "run.sh: no nftables table for $guest_group: guests get no network out" >&2
  fi
  export HEROCOOL_VM_GUEST_GROUP=$guest_group
  # HOME in the data dir: anything a tool caches under ~ stays private too.
  # setpriv, not runuser: it becomes the account in place, leaving no root parent.
  as_service=(setpriv --reuid=herocool --regid=herocool --init-groups --
              env HOME="$HEROCOOL_DATA_DIR" USER=herocool LOGNAME=herocool)
fi
as_service+=(env PATH="$venv_bin:$PATH")

processes=(web worker sweeper scheduler sites)
if [ -z "${REDIS_URL:-}" ]; then
  "${as_service[@]}" python -m herocool_project.env redis-config "$HEROCOOL_DATA_DIR" >/dev/null
  processes+=(redis)
fi

"${as_service[@]}" python -m honcho run bash -c "$(sed -n 's/^release: //p' Procfile)"
echo "Herocool: http://127.0.0.1:${PORT:-8000}/  (sites are served on port ${HEROCOOL_SITES_PORT:-8001})"
# honcho numbers ports from -p in the Procfile's order: web, listed first, gets PORT.
exec "${as_service[@]}" python -m honcho start -p "${PORT:-8000}" "${processes[@]}"
