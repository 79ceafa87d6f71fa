#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with only Rust installed:
#   ./scripts/test.sh
# Installs the real servers the tests talk to (PowerDNS, BIND, Prometheus tools) from
# Debian's packages and octoDNS from PyPI (into target/, for the compatibility test), then
# runs formatting, lint and every test. Servers are started by the tests themselves, on
# loopback and high ports, and stopped when each test ends. Nothing here needs systemd.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }

# --- 1. Debian packages -----------------------------------------------------------------
packages=(pdns-server pdns-backend-sqlite3 sqlite3 bind9 bind9-utils bind9-dnsutils prometheus curl age)
need_install=0
for bin in pdns_server named named-checkzone nsupdate dig sqlite3 promtool prometheus curl age age-keygen; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need_install=1
done
python_ok=1
python3 -m venv --help >/dev/null 2>&1 || { python_ok=0; packages+=(python3 python3-venv); need_install=1; }
if [ "$need_install" = 1 ]; then
  say "installing Debian packages: ${packages[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"

# --- 2. octoDNS, for comparing zone files with the tool users migrate from ----------------
venv=target/octodns-venv
if [ ! -x "$venv/bin/octodns-sync" ]; then
  say "installing octoDNS 1.22.0 and octodns-bind 1.1.0 into $venv"
  python3 -m venv "$venv" && "$venv/bin/pip" install -q 'octodns==1.22.0' 'octodns-bind==1.1.0' \
    || echo "WARNING: could not install octoDNS from PyPI; the fresh-octoDNS comparison will be skipped (the golden-file comparison still runs)"
fi
if [ -x "$venv/bin/octodns-sync" ]; then
  export ZONEKEEPER_OCTODNS_SYNC="$PWD/$venv/bin/octodns-sync"
fi

# Tests that need a real server fail (instead of skipping) when it is missing.
export ZONEKEEPER_REQUIRE_SERVERS=1
export CARGO_TERM_COLOR=never

# --- 3. Checks and tests ---------------------------------------------------------------
say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy -D warnings"
cargo clippy --locked --all-targets -- -D warnings
say "cargo audit (RustSec advisories)"
if [ -d ../shared/advisory-db ]; then
  if ! command -v cargo-audit >/dev/null 2>&1; then
    echo "installing cargo-audit (cargo install --locked; several minutes on 2 cores)"
    cargo install --locked --quiet cargo-audit
  fi
  # The one ignored advisory (.cargo/audit.toml) is for a crate that must never be built.
  if [ -n "$(cargo tree --locked -i rsa 2>/dev/null)" ]; then
    echo "rsa is now built (cargo tree -i rsa): RUSTSEC-2023-0071 applies; remove the exception in .cargo/audit.toml and deal with it"
    exit 1
  fi
  cargo audit --db ../shared/advisory-db --no-fetch
else
  echo "SKIPPED: cargo audit: ../shared/advisory-db (the offline RustSec database) is not here"
fi

say "cargo test (full output: target/test-output.txt)"
set +e
cargo test --locked --no-fail-fast --all-targets -- --nocapture > target/test-output.txt 2>&1
status=$?
set -e
grep -E '^(test |SKIP|test result)' target/test-output.txt || true
if [ "$status" != 0 ]; then
  echo "TESTS FAILED (exit $status)"
  grep -B2 -A40 -E 'panicked at|^failures:|^error(\[|:)' target/test-output.txt | head -300
  exit 1
fi
for f in scripts/ci.d/*.sh; do
  [ -e "$f" ] || continue
  say "$f"
  bash "$f"
done
say "all green"
