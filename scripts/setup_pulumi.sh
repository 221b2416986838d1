#!/usr/bin/env bash
# Make a `pulumi` CLI of exactly the pinned version available, with no internet needed.
#
# Order: (1) one already installed for the pinned version; (2) Pulumi's official
# installer (PulumiCommand.install, for machines with internet); (3) a build from the
# Go module with this machine's Go and the Go module proxy.
#
# The binary lands in $PULUMI_ROOT/versions/<version>/bin (the layout that
# PulumiCommand.install looks in first), together with our own
# pulumi-resource-pulumi-python, the plugin Python dynamic providers need: the official
# archive ships one, a Go build does not.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
version=${PULUMI_VERSION:-$(sed -n 's/^pulumi==\([0-9.]*\).*/\1/p' "$here/requirements.txt")}
root=${PULUMI_ROOT:-$HOME/.pulumi}
bindir="$root/versions/$version/bin"
cache=${HEROCOOL_CACHE:-$HOME/.cache/herocool}

log() { printf 'setup_pulumi: %s\n' "$*" >&2; }

cli_version() { "$1" version 2>/dev/null | tr -d 'v\r\n'; }

write_python_plugin() {
  # Dynamic providers are served by `pulumi-resource-pulumi-python`, found beside the CLI.
  local interp
  interp=$("$python" -c 'import sys; print(sys.executable)')
  cat >"$bindir/pulumi-resource-pulumi-python" <<SH
#!/bin/sh
exec "\${PULUMI_PYTHON_CMD:-$interp}" -u -m pulumi.dynamic "\$@"
SH
  chmod +x "$bindir/pulumi-resource-pulumi-python"
}

have_pinned() {
  [ -x "$bindir/pulumi" ] && [ "$(cli_version "$bindir/pulumi")" = "$version" ]
}

try_official_installer() {
  [ "${HEROCOOL_PULUMI_NO_DOWNLOAD:-}" = "1" ] && return 1
  log "trying Pulumi's official installer for $version"
  timeout 60 "$python" - "$root" "$version" <<'PY' >/dev/null 2>&1
import sys
from pulumi.automation import PulumiCommand
from semver import VersionInfo
PulumiCommand.install(root=sys.argv[1] + "/versions/" + sys.argv[2], version=VersionInfo.parse(sys.argv[2]))
PY
}

build_from_go_module() {
  command -v go >/dev/null || { log "no Go toolchain: cannot build the CLI"; return 1; }
  local mod="$cache/pulumi-build-$version" fork
  log "building pulumi v$version from its Go module (first time: several minutes)"
  mkdir -p "$mod" "$bindir"
  # pkg/go.mod has `replace` directives, so `go install pkg@v` refuses; a wrapper
  # module of ours requires pkg and sdk at the same version and repeats the fork replace.
  local proxy
  proxy=$(go env GOPROXY); proxy=${proxy%%,*}
  fork=$(curl -fsS "$proxy/github.com/pulumi/pulumi/pkg/v3/@v/v$version.mod" 2>/dev/null \
         | sed -n 's/^replace github.com\/atotto\/clipboard => \(.*\)$/\1/p' || true)
  (
    cd "$mod"
    [ -f go.mod ] || go mod init herocool.local/pulumibuild >/dev/null 2>&1
    [ -n "$fork" ] && go mod edit -replace "github.com/atotto/clipboard=${fork// /@}"
    cat >tools.go <<GO
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
GO
    go get "github.com/pulumi/pulumi/pkg/v3@v$version" "github.com/pulumi/pulumi/sdk/v3@v$version"
    go mod tidy >/dev/null 2>&1 || true
    CGO_ENABLED=0 go build -trimpath -tags osusergo,grpcnotrace \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
      -o "$bindir/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  )
}

mkdir -p "$bindir"
if have_pinned; then
  log "pulumi $version already installed at $bindir/pulumi"
elif [ -n "$(command -v pulumi || true)" ] && [ "$(cli_version "$(command -v pulumi)")" = "$version" ]; then
  log "using pulumi $version found on PATH"
  ln -sf "$(command -v pulumi)" "$bindir/pulumi"
elif try_official_installer && have_pinned; then
  log "installed pulumi $version with the official installer"
else
  build_from_go_module
fi

got=$(cli_version "$bindir/pulumi")
if [ "$got" != "$version" ]; then
  log "pulumi at $bindir/pulumi reports '$got', expected '$version'"
  exit 1
fi
write_python_plugin
echo "$bindir"
