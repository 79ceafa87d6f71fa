#!/usr/bin/env bash
# Checks deploy/systemd/zonekeeper.service with systemd's own tools (no running systemd needed):
#   - `systemd-analyze verify` on a temporary copy whose ExecStart points at the binary just
#     built (verify insists the executable exists; the shipped unit says /usr/local/bin). Any
#     output at all counts as a failure: verify only warns (exit 0) on unknown or misspelt keys;
#   - `systemd-analyze security --offline=yes --threshold=20`: the sandboxing exposure score
#     must stay at or under 2.0 (--threshold takes tenths: 20; "OK"; 1.2 when written);
#   - the example /etc/zonekeeper/zonekeeper.yaml against `zonekeeper schema config`;
#   - a negative control: a misspelt key must be reported.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/sbin:/sbin"
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "installing Debian's systemd package (for systemd-analyze)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi
systemd-analyze --version | head -1

unit=deploy/systemd/zonekeeper.service
cargo build --locked -q --bin zonekeeper
bin="$PWD/target/debug/zonekeeper"
grep -q '^ExecStart=/usr/local/bin/zonekeeper run --config /etc/zonekeeper/zonekeeper.yaml$' "$unit" \
  || { echo "ERROR: $unit: ExecStart must run /usr/local/bin/zonekeeper run --config /etc/zonekeeper/zonekeeper.yaml"; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/good" "$tmp/bad"
sed "s#^ExecStart=/usr/local/bin/zonekeeper #ExecStart=$bin #" "$unit" > "$tmp/good/zonekeeper.service"

verify() { # prints verify's output; fails if there is any
  local out
  out="$(systemd-analyze verify "$1" 2>&1)" || { echo "$out"; return 1; }
  [ -z "$out" ] || { echo "$out"; return 1; }
}

echo "--- systemd-analyze verify"
verify "$tmp/good/zonekeeper.service"
echo "ok: no warnings"

echo "--- systemd-analyze security --offline=yes --threshold=20"
systemd-analyze security --offline=yes --threshold=20 --no-pager "$tmp/good/zonekeeper.service" > "$tmp/security.txt" 2>&1 \
  || { cat "$tmp/security.txt"; echo "ERROR: exposure above 2.0"; exit 1; }
grep -- '→ Overall exposure level' "$tmp/security.txt"

echo "--- deploy/systemd/zonekeeper.yaml against zonekeeper's own schema"
# shellcheck source=scripts/lib/k8s-venv.sh
. scripts/lib/k8s-venv.sh
k8s_venv
"$bin" schema config > "$tmp/config.schema.json"
"$K8S_PY" scripts/lib/k8s_check.py configfile "$tmp/config.schema.json" deploy/systemd/zonekeeper.yaml

echo "--- negative control: a misspelt key must be reported"
sed 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$tmp/good/zonekeeper.service" > "$tmp/bad/zonekeeper.service"
cmp -s "$tmp/good/zonekeeper.service" "$tmp/bad/zonekeeper.service" && { echo "negative control: sed changed nothing"; exit 1; }
if verify "$tmp/bad/zonekeeper.service" > "$tmp/bad.txt" 2>&1; then
  echo "negative control FAILED: systemd-analyze verify did not report NoNewPrivilege="; exit 1
fi
sed 's/^/    /' "$tmp/bad.txt"
echo "systemd unit: ok"
