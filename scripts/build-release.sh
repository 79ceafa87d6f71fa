#!/usr/bin/env bash
# Builds the zonekeeper binary the way the container image does (the Dockerfile's build stage
# runs exactly this script), then proves the binary runs and that every shared library it
# needs is present.
#
#   ./scripts/build-release.sh                 # release build -> target/release/zonekeeper
#   ./scripts/build-release.sh /out            # ... and install a copy without debug info as /out/zonekeeper
#   ZONEKEEPER_PROFILE=dev ./scripts/build-release.sh   # same steps, debug profile (fast; CI's default)
#
# Build-time needs (Debian): a Rust toolchain, pkg-config, libssl-dev, zlib1g-dev (git2 with the
# https and ssh features links OpenSSL and zlib dynamically; libgit2 and libssh2 are built in).
# Run-time needs: libssl3, zlib1g, ca-certificates (see the Dockerfile's runtime stage).
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${ZONEKEEPER_PROFILE:-release}"
case "$profile" in
  release) dir=release ;;
  dev) dir=debug ;;
  *) echo "ZONEKEEPER_PROFILE must be release or dev, not $profile" >&2; exit 2 ;;
esac
dest="${1:-}"

echo "==> cargo build --locked --profile $profile --bin zonekeeper"
cargo build --locked --profile "$profile" --bin zonekeeper
bin="${CARGO_TARGET_DIR:-target}/$dir/zonekeeper"

echo "==> shared libraries"
ldd "$bin" | sed 's/^/    /'
if ldd "$bin" | grep -q 'not found'; then
  echo "ERROR: $bin needs a shared library this system does not have" >&2
  exit 1
fi

if [ -n "$dest" ]; then
  mkdir -p "$dest"
  # The release profile keeps line tables (debug = 1) for backtraces on developer machines;
  # the installed copy drops them (about 5x smaller).
  objcopy --strip-debug "$bin" "$dest/zonekeeper.tmp"
  chmod 0755 "$dest/zonekeeper.tmp"
  mv -f "$dest/zonekeeper.tmp" "$dest/zonekeeper"
  bin="$dest/zonekeeper"
fi

echo "==> $bin --version"
version="$("$bin" --version)"
echo "    $version"
case "$version" in
  "zonekeeper "[0-9]*) ;;
  *) echo "ERROR: unexpected --version output: $version" >&2; exit 1 ;;
esac
"$bin" run --help >/dev/null
echo "==> ok: $bin ($(du -h "$bin" | cut -f1))"
