#!/usr/bin/env bash
# Benchmark (issue 12): `zonekeeper apply` reconciling 1% of a 100k-RRset zone on a real
# PowerDNS, against its floor: one curl GET of the zone plus one curl PATCH of the same body
# zonekeeper sends (the least any client that reads before it writes can pay).
#
# Starts pdns_server (sqlite) on loopback (throw-away directory, free high ports, killed on
# exit), seeds the zone once, then per run times, interleaved: zonekeeper apply changing 1% of
# the hosts (read, plan, PATCH, verify), then curl GET + curl PATCH changing them back. Wall and CPU (user+sys of the client) per run; medians at the end.
#
#   scripts/bench-powerdns-reconcile.sh [RUNS] [RRSETS] [PERCENT]   (defaults 5, 100000, 1)
#
# CARGO_TARGET_DIR is honoured; ZONEKEEPER_BIN=path times that binary instead of building. Prints a Markdown table for BENCHMARKS.md.
set -euo pipefail

RUNS=${1:-5}
COUNT=${2:-100000}
PCT=${3:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ZONE=bench.test.

command -v pdns_server >/dev/null || PATH=$PATH:/usr/sbin
command -v pdns_server >/dev/null || { echo "pdns_server not installed" >&2; exit 1; }
SCHEMA=/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql

if [ -n "${ZONEKEEPER_BIN:-}" ]; then
    ZK=$ZONEKEEPER_BIN     # another build (e.g. the commit before a change), as given
else
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin zonekeeper
    ZK="${CARGO_TARGET_DIR:-$ROOT/target}/release/zonekeeper"
fi

DIR=$(mktemp -d)
PDNS_PID=
cleanup() {
    [ -n "$PDNS_PID" ] && kill "$PDNS_PID" 2>/dev/null && wait "$PDNS_PID" 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API_PORT=$(free_port)
DNS_PORT=$(free_port)
KEY=bench-$RANDOM-$RANDOM
mkdir -p "$DIR/conf" "$DIR/run" "$DIR/zones"
sqlite3 "$DIR/pdns.sqlite3" < "$SCHEMA"
cat > "$DIR/conf/pdns.conf" <<EOF
launch=gsqlite3
gsqlite3-database=$DIR/pdns.sqlite3
gsqlite3-dnssec=yes
local-address=127.0.0.1
local-port=$DNS_PORT
api=yes
api-key=$KEY
webserver=yes
webserver-address=127.0.0.1
webserver-port=$API_PORT
webserver-allow-from=127.0.0.1,::1
webserver-max-bodysize=64
daemon=no
guardian=no
disable-syslog=yes
socket-dir=$DIR/run
security-poll-suffix=
default-soa-content=ns1.@ hostmaster.@ 0 10800 3600 604800 3600
loglevel=3
EOF
pdns_server --config-dir="$DIR/conf" > "$DIR/pdns.log" 2>&1 &
PDNS_PID=$!
API="http://127.0.0.1:$API_PORT/api/v1/servers/localhost"
for _ in $(seq 100); do
    curl -sf -H "X-API-Key: $KEY" "$API" >/dev/null && break
    sleep 0.1
done

# Two manifests: base.yaml (every host .1) and flip.yaml (the first PERCENT% of hosts .2);
# the seed body (base), and unflip.json, the PATCH body that takes flip back to base (the
# same RRsets, same order, same compact JSON zonekeeper sends for base -> flip).
python3 - "$DIR" "$COUNT" "$ZONE" "$PCT" <<'EOF'
import json, sys
d, count, zone, pct = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
n = max(1, int(count * pct / 100))
ip = lambda i, v: f"10.{i // 65536}.{(i // 256) % 256}.{(i % 250) + v}"
def rr(i, v):
    return {"name": f"host{i:06d}.{zone}", "type": "A", "ttl": 300, "changetype": "REPLACE",
            "records": [{"content": ip(i, v), "disabled": False}]}
with open(f"{d}/seed.json", "w") as f:
    f.write(json.dumps({"rrsets": [rr(i, 1) for i in range(count)]}, separators=(",", ":")))
for name, flipped in (("base", 0), ("flip", n)):
    with open(f"{d}/{name}.yaml", "w") as f:
        f.write("---\n")
        for i in range(count):
            f.write(f"host{i:06d}:\n  type: A\n  ttl: 300\n  value: {ip(i, 2 if i < flipped else 1)}\n")
with open(f"{d}/unflip.json", "w") as f:
    f.write(json.dumps({"rrsets": [rr(i, 1) for i in range(n)]}, separators=(",", ":")))
EOF
cat > "$DIR/zonekeeper.yaml" <<EOF
providers:
  pdns:
    type: powerdns
    url: http://127.0.0.1:$API_PORT
    api_key: env:BENCH_PDNS_KEY
zones:
  $ZONE:
    targets: [pdns]
EOF
export BENCH_PDNS_KEY=$KEY
curl -sf -o /dev/null -X POST -H "X-API-Key: $KEY" "$API/zones" \
    -d "{\"name\":\"$ZONE\",\"kind\":\"Native\",\"soa_edit_api\":\"DEFAULT\",\"nameservers\":[]}"
curl -sf -o /dev/null -X PATCH -H "Expect:" -H "X-API-Key: $KEY" --data-binary "@$DIR/seed.json" "$API/zones/$ZONE"

# Runs a command; prints "wall cpu" (seconds; cpu = the client's user+sys).
timed() {
    /usr/bin/time -f "%e %U %S" -o "$DIR/time" "$@" > "$DIR/out" 2> "$DIR/err" || { cat "$DIR/err" >&2; return 1; }
    awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$DIR/time"
}
floor() {
    curl -sf -o "$DIR/zone.json" -H "X-API-Key: $KEY" "$API/zones/$ZONE"
    curl -sf -o /dev/null -X PATCH -H "Expect:" -H "X-API-Key: $KEY" -H "Content-Type: application/json" \
        --data-binary "@$1" "$API/zones/$ZONE"
}
export -f floor; export API KEY ZONE DIR

N=$(python3 -c "print(max(1, int($COUNT * $PCT / 100)))")
echo "PowerDNS $(pdns_server --version 2>&1 | grep -o 'Server [0-9.]*' | head -1) (sqlite); $COUNT RRsets, $N changed per run; $(nproc) cores" >&2
echo
echo "| run | zonekeeper apply wall (s) | its CPU (s) | floor: curl GET + PATCH wall (s) | curl CPU (s) | ratio wall |"
echo "|---|---|---|---|---|---|"
zk=(); fl=()
for run in $(seq "$RUNS"); do
    # base -> flip by zonekeeper (read, plan, PATCH, verify) ...
    cp "$DIR/flip.yaml" "$DIR/zones/${ZONE%?}.yaml"
    read -r zw zc < <(timed "$ZK" --config "$DIR/zonekeeper.yaml" apply)
    # ... flip -> base by the floor: curl GET of the zone, curl PATCH of the same RRsets.
    read -r fw fc < <(timed bash -c "floor $DIR/unflip.json")
    cp "$DIR/base.yaml" "$DIR/zones/${ZONE%?}.yaml"
    "$ZK" --config "$DIR/zonekeeper.yaml" plan --detailed-exitcode > /dev/null 2>&1 ||
        { echo "run $run: the zone is not back at base" >&2; exit 1; }
    zk+=("$zw"); fl+=("$fw")
    echo "| $run | $zw | $zc | $fw | $fc | $(python3 -c "print(f'{$zw/$fw:.2f}')") |"
done
python3 - "${zk[*]}" "${fl[*]}" <<'PY'
import statistics, sys
z, f = ([float(x) for x in a.split()] for a in sys.argv[1:3])
print(f"| median | {statistics.median(z):.3f} | | {statistics.median(f):.3f} | | {statistics.median(z)/statistics.median(f):.2f} |")
PY
