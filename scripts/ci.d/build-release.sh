#!/usr/bin/env bash
# Runs scripts/build-release.sh, the build the Dockerfile uses, so its commands are proven in CI
# (no Docker engine here). By default with the dev profile: the same commands (cargo build
# --locked, ldd check, install a copy without debug info, --version and run --help of the
# installed copy) reusing the debug build cargo test already made, in seconds. A fresh release
# build takes about 5.5 minutes on CI's 2 cores on top of the debug build; set
# ZONEKEEPER_CI_RELEASE=1 to run it with the release profile (the Dockerfile's).
set -euo pipefail
cd "$(dirname "$0")/../.."
profile=dev
[ "${ZONEKEEPER_CI_RELEASE:-0}" = 1 ] && profile=release
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
ZONEKEEPER_PROFILE="$profile" ./scripts/build-release.sh "$out"
test -x "$out/zonekeeper"
echo "build-release ($profile profile): ok"
