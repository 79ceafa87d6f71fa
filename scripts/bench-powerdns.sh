#!/usr/bin/env bash
# Benchmark: `zonekeeper apply` of a 10,000-RRset plan against a real PowerDNS, versus one raw
# `curl -X PATCH` of the same JSON body (the least any client can pay).
#
# Starts pdns_server on loopback (throw-away directory, free high ports, killed on exit),
# then for each run empties the zone and times both. Release build only.
#
#   scripts/bench-powerdns.sh [RUNS] [RRSETS]      (defaults: 5 runs, 10000 RRsets)
#
# Prints a Markdown table for BENCHMARKS.md.
set -euo pipefail

RUNS=${1:-5}
COUNT=${2:-10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ZONE=bench.test.

command -v pdns_server >/dev/null || PATH=$PATH:/usr/sbin
command -v pdns_server >/dev/null || { echo "pdns_server not installed" >&2; exit 1; }
SCHEMA=/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql

cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin zonekeeper
ZK="$ROOT/target/release/zonekeeper"

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

# The manifest, the zonekeeper config, and the PATCH body zonekeeper sends for them
# (same elements, same order, same compact JSON).
python3 - "$DIR" "$COUNT" "$ZONE" <<'EOF'
import json, sys
d, count, zone = sys.argv[1], int(sys.argv[2]), sys.argv[3]
names = [f"host{i:05d}" for i in range(count)]
ip = lambda i: f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}"
with open(f"{d}/zones/{zone[:-1]}.yaml", "w") as f:
    f.write("---\n")
    for i, n in enumerate(names):
        f.write(f"{n}:\n  type: A\n  ttl: 300\n  value: {ip(i)}\n")
rrsets = [{"name": f"{n}.{zone}", "type": "A", "ttl": 300, "changetype": "REPLACE",
           "records": [{"content": ip(i), "disabled": False}]} for i, n in enumerate(names)]
rrsets.sort(key=lambda r: r["name"])
with open(f"{d}/body.json", "w") as f:
    f.write(json.dumps({"rrsets": rrsets}, separators=(",", ":")))
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

reset_zone() {
    curl -s -o /dev/null -X DELETE -H "X-API-Key: $KEY" "$API/zones/$ZONE"
    curl -sf -o /dev/null -X POST -H "X-API-Key: $KEY" "$API/zones" \
        -d "{\"name\":\"$ZONE\",\"kind\":\"Native\",\"soa_edit_api\":\"DEFAULT\",\"nameservers\":[]}"
}
now() { date +%s.%N; }
count_rrsets() {
    curl -sf -H "X-API-Key: $KEY" "$API/zones/$ZONE" |
        python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["rrsets"] if r["type"]=="A"))'
}

BYTES=$(stat -c %s "$DIR/body.json")
echo "PowerDNS $(pdns_server --version 2>&1 | grep -o 'Server [0-9.]*' | head -1); $COUNT RRsets; PATCH body $BYTES bytes; $(nproc) cores" >&2
echo
echo "| run | zonekeeper apply (s) | its PATCH (s) | curl PATCH (s) | ratio apply/curl | ratio PATCH/curl | zonekeeper plan (s) | curl GET of the 10k zone (s) |"
echo "|---|---|---|---|---|---|---|---|"
zk_all=(); curl_all=(); patch_all=()
for run in $(seq "$RUNS"); do
    reset_zone
    t0=$(now)
    # "Expect:" off: for bodies over 1 MB curl otherwise waits up to 1 s for a
    # "100 Continue" that PowerDNS never sends, which would flatter zonekeeper.
    curl -sf -o /dev/null -X PATCH -H "Expect:" -H "X-API-Key: $KEY" -H "Content-Type: application/json" \
        --data-binary "@$DIR/body.json" "$API/zones/$ZONE"
    t1=$(now)
    [ "$(count_rrsets)" = "$COUNT" ] || { echo "curl PATCH did not create $COUNT RRsets" >&2; exit 1; }
    reset_zone
    # The whole command: config + manifest, GET, plan, one PATCH, GET again to verify.
    t2=$(now)
    RUST_LOG=zonekeeper::provider::powerdns=debug "$ZK" --config "$DIR/zonekeeper.yaml" apply > "$DIR/apply.out" 2> "$DIR/apply.err"
    t3=$(now)
    # The provider logs each PATCH's own round trip (patch_ms).
    p=$(grep -o 'patch_ms=[0-9.]*' "$DIR/apply.err" | head -1 | cut -d= -f2)
    p=$(python3 -c "print(f'{$p/1000:.3f}')")
    [ "$(count_rrsets)" = "$COUNT" ] || { echo "zonekeeper apply did not create $COUNT RRsets" >&2; cat "$DIR/apply.err" >&2; exit 1; }
    # The verifying re-read zonekeeper does after its PATCH, as curl pays it.
    t4=$(now)
    curl -sf -o /dev/null -H "X-API-Key: $KEY" "$API/zones/$ZONE"
    t5=$(now)
    # Reading the manifest and the (empty) live zone and planning, without writing.
    reset_zone
    t6=$(now)
    "$ZK" --config "$DIR/zonekeeper.yaml" plan > /dev/null 2>&1 || true
    t7=$(now)
    pl=$(python3 -c "print(f'{$t7-$t6:.3f}')")
    rp=$(python3 -c "print(f'{$p/($t1-$t0):.2f}')")
    c=$(python3 -c "print(f'{$t1-$t0:.3f}')")
    z=$(python3 -c "print(f'{$t3-$t2:.3f}')")
    r=$(python3 -c "print(f'{($t3-$t2)/($t1-$t0):.2f}')")
    g=$(python3 -c "print(f'{$t5-$t4:.3f}')")
    zk_all+=("$z"); curl_all+=("$c"); patch_all+=("$p")
    echo "| $run | $z | $p | $c | $r | $rp | $pl | $g |"
done
python3 - "${zk_all[*]}" "${curl_all[*]}" "${patch_all[*]}" <<'PY'
import statistics, sys
z, c, p = ([float(x) for x in a.split()] for a in sys.argv[1:4])
mz, mc, mp = statistics.median(z), statistics.median(c), statistics.median(p)
print(f"| median | {mz:.3f} | {mp:.3f} | {mc:.3f} | {mz/mc:.2f} | {mp/mc:.2f} | | |")
PY
