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
#
# Then Pulumi's Python language host, pulumi-language-python (only the benchmark's
# bare-CLI comparison needs it: inline programs do not), beside the CLI when it can be
# had (never an error): the official archive ships it; else its own Go module from the
# Go module proxy; else a build of its main package from a git mirror of
# pulumi/pulumi ($HEROCOOL_PULUMI_SOURCE, a git directory), against Pulumi's sdk and pkg
# modules at the pinned version from the proxy. HEROCOOL_SKIP_LANGUAGE_HOST=1 (or the
# tests' HEROCOOL_SETUP_TEST=1) skips it.
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

# The language host's main package, with its exec shim, at the pinned sdk/pkg versions.
lh=pulumi-language-python
lh_module=github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3
lh_ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version"

have_language_host() {
  [ -x "$bindir/$lh" ] && [ -x "$bindir/$lh-exec" ]
}

exec_shim() {
  # pulumi-language-python-exec, which the host runs beside itself: in the sdk module.
  local sdk
  sdk=$(cd "$1" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3) \
    && install -m 0755 "$sdk/python/cmd/$lh-exec" "$bindir/$lh-exec"
}

build_language_host() {
  # In directory $1, build package $2 into the bin folder (under a temporary name
  # first: a failed build leaves nothing half made), with its shim; $3 says from what.
  (cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags "$lh_ldflags" -o "$bindir/.$lh.new" "$2") \
    && exec_shim "$1" && mv "$bindir/.$lh.new" "$bindir/$lh" && echo "$3" >"$bindir/$lh.source"
}

language_host_from_proxy() {
  local mod="$cache/$lh-proxy-$version"
  mkdir -p "$mod"
  (cd "$mod" && { [ -f go.mod ] || go mod init herocool.local/languagehost >/dev/null 2>&1; } \
     && printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$lh_module" >tools.go \
     && go get "$lh_module@v$version" >/dev/null 2>&1) || return 1
  log "building $lh v$version from its Go module"
  (cd "$mod" && go mod tidy >/dev/null 2>&1) || true
  build_language_host "$mod" "$lh_module" "go module $lh_module@v$version"
}

version_commit() {
  # The newest of the last 50 commits touching sdk/.version at which it reads $version.
  local c
  for c in $(git --git-dir="$1" log --format=%H -n 50 HEAD -- sdk/.version); do
    if [ "$(git --git-dir="$1" show "$c:sdk/.version" 2>/dev/null)" = "$version" ]; then
      # Newest commit after c that still has this version: HEAD when it does.
      if [ "$(git --git-dir="$1" show HEAD:sdk/.version 2>/dev/null)" = "$version" ]; then
        git --git-dir="$1" rev-parse HEAD
      else
        git --git-dir="$1" rev-list -n 1 "$(git --git-dir="$1" log --format=%H -n 1 --ancestry-path "$c..HEAD" -- sdk/.version | tail -1)^"
      fi
      return 0
    fi
  done
  return 1
}

language_host_from_mirror() {
  # Where this workplace keeps a mirror of pulumi/pulumi, when it has one.
  local git_dir=${HEROCOOL_PULUMI_SOURCE:-/work/.mirror/pulumi+pulumi/repo}
  local src="$cache/$lh-src-$version" commit
  [ -n "$git_dir" ] && [ -d "$git_dir" ] || return 1
  # The release's tag when the mirror has it, else the newest commit whose sdk/.version
  # names this version (the release's own source, or the last of its development when
  # the snapshot predates the tag), else its newest commit.
  commit=$(git --git-dir="$git_dir" rev-parse -q --verify "v$version^{commit}" \
           || version_commit "$git_dir" \
           || git --git-dir="$git_dir" rev-parse HEAD) || return 1
  log "building $lh from $git_dir at ${commit:0:12} against sdk/pkg v$version"
  rm -rf "$src" && mkdir -p "$src" \
    && git --git-dir="$git_dir" archive "$commit:sdk/python/cmd/$lh" | tar -x -C "$src" \
    && rm -rf "$src/testdata" "$src"/*_test.go \
    && (cd "$src" \
        && go mod edit -dropreplace github.com/pulumi/pulumi/sdk/v3 \
                       -dropreplace github.com/pulumi/pulumi/pkg/v3 \
                       -require "github.com/pulumi/pulumi/sdk/v3@v$version" \
                       -require "github.com/pulumi/pulumi/pkg/v3@v$version" \
        && go mod tidy >/dev/null) \
    && build_language_host "$src" . \
         "main package of $git_dir at $commit; sdk and pkg modules v$version"
}

setup_language_host() {
  # The test suite never needs it (bench/baselines.py asks for it when it does).
  [ "${HEROCOOL_SKIP_LANGUAGE_HOST:-}" = "1" ] || [ "${HEROCOOL_SETUP_TEST:-}" = "1" ] \
    && return 0
  if have_language_host; then
    log "$lh already at $bindir ($(cat "$bindir/$lh.source" 2>/dev/null || echo shipped))"
    return 0
  fi
  command -v go >/dev/null || { log "no Go toolchain: no $lh"; return 0; }
  language_host_from_proxy || language_host_from_mirror \
    || log "no $lh: the Go module proxy does not serve $lh_module@v$version and no" \
           "git mirror of pulumi/pulumi was given (HEROCOOL_PULUMI_SOURCE): the" \
           "benchmark's bare-CLI comparison will say it was skipped"
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
setup_language_host >&2
echo "$bindir"
