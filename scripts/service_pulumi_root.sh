#!/usr/bin/env bash
# Where setup.sh (as root) keeps the Pulumi CLI for the herocool account: root-owned,
# readable by all, at the SDK's pinned version.
cd "$(dirname "$0")/.."
echo "/usr/local/lib/herocool/pulumi/$(sed -n 's/^pulumi==\([0-9.]*\).*/\1/p' requirements.txt)"
