#!/usr/bin/env bash
# One-time (and idempotent, fast the second time) set-up of a Herocool checkout:
# the virtualenv, the Pulumi CLI, front-end assets, and the system packages the
# embedded default needs. Run by `make run` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

apt_install() {
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "please install these Debian packages: ${missing[*]}"
    return 1
  fi
  log "installing ${missing[*]}"
  [ -n "$(find /var/lib/apt/lists -name '*Packages*' -print -quit 2>/dev/null)" ] \
    || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# command:package pairs; the embedded default runs Redis itself, and local VMs are
# QEMU guests booted from a Debian image built here with debootstrap.
apt_install redis-server:redis-server qemu-system-x86_64:qemu-system-x86 \
  qemu-img:qemu-utils debootstrap:debootstrap mkfs.ext4:e2fsprogs ssh-keygen:openssh-client \
  nft:nftables
if [ "${HEROCOOL_SETUP_TEST:-}" = 1 ]; then
  # The test suite runs on a real PostgreSQL, which Debian keeps off PATH.
  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || apt_install initdb-missing:postgresql
  # The browser tests (e2e/) drive Debian's Chromium.
  apt_install chromium:chromium
fi

# No umask 077 here: the code, .venv and static files must stay readable by the
# account the platform runs as; run.sh makes what the platform writes private.
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
reqs=requirements.txt
[ "${HEROCOOL_SETUP_TEST:-}" = 1 ] && reqs=requirements-dev.txt
stamp=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$reqs"
if [ ! -f "$stamp" ]; then
  log "installing Python packages from $reqs"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r "$reqs"
  touch "$stamp"
fi

pulumi_bin=$(PYTHON=.venv/bin/python bash scripts/setup_pulumi.sh)

service_python_for_herocool() {
  # The account must be able to run our Python. When .venv's interpreter lives where it
  # cannot go (a pyenv build under /root, say), it gets a venv of its own made from the
  # system's Python of the same version, reading the packages installed in .venv.
  local venv=/usr/local/lib/herocool/venv site
  if runuser -u herocool -- .venv/bin/python -c '' 2>/dev/null; then
    rm -rf "$venv"
    return 0
  fi
  local version system
  version=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  system=$(command -v "/usr/bin/python$version" || true)
  if [ -z "$system" ]; then
    log "the herocool account cannot run .venv/bin/python and there is no /usr/bin/python$version"
    return 1
  fi
  site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  if [ ! -x "$venv/bin/python" ]; then
    log "making $venv for the herocool account (system Python $version, .venv's packages)"
    "$system" -m venv --without-pip "$venv"
  fi
  printf 'import site; site.addsitedir(%s)\n' "'$site'" \
    >"$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/herocool.pth"
  chmod -R a+rX "$venv"
}

if [ "$(id -u)" = 0 ]; then
  # `make run` as root runs the platform as this unprivileged account (scripts/run.sh);
  # in group kvm so that its QEMU guests may use /dev/kvm.
  if ! id herocool >/dev/null 2>&1; then
    log "creating the system user herocool"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin herocool
  fi
  getent group kvm >/dev/null && usermod -a -G kvm herocool
  # The CLI lives under root's home, which herocool cannot enter: a root-owned copy
  # it can run but not change (run.sh points HEROCOOL_PULUMI_ROOT at it).
  service_python_for_herocool
  service_root=$(bash scripts/service_pulumi_root.sh)
  if ! cmp -s "$pulumi_bin/pulumi" "$service_root/bin/pulumi"; then
    log "copying the Pulumi CLI to $service_root for the herocool account"
    rm -rf "$service_root.new" && install -d -m 755 "$service_root.new/bin"
    cp -L "$pulumi_bin"/* "$service_root.new/bin/" && chmod -R a+rX "$service_root.new"
    rm -rf "$service_root" && mv "$service_root.new" "$service_root"
  fi
fi

# package.json pins them: Bootstrap's CSS (served from static/vendor) and, for the
# browser tests only, axe-core (loaded into pages by e2e/, never served by the app).
if [ ! -f node_modules/bootstrap/dist/css/bootstrap.min.css ] || [ ! -f node_modules/axe-core/axe.min.js ]; then
  log "installing front-end assets from the npm registry"
  npm ci --no-audit --no-fund --silent
fi
if [ ! -f static/vendor/bootstrap.min.css ]; then
  mkdir -p static/vendor
  cp node_modules/bootstrap/dist/css/bootstrap.min.css static/vendor/
fi

# The local VM image (Debian 12, about a minute the first time; cached after).
image_cache=${HEROCOOL_VM_IMAGE_CACHE:-${HEROCOOL_DATA_DIR:-$PWD/data}/vm-images}
if [ "$(id -u)" = 0 ]; then
  .venv/bin/python scripts/build_vm_image.py "$image_cache" >/dev/null
else
  log "not root: the local VM image (debootstrap) is not built; local VMs will fail"
fi
