#!/usr/bin/env bash
# Benchmark: `zonekeeper plan` and octoDNS 1.22 (`octodns-sync`, a dry run) on the same
# generated zones, interleaved run by run, so both see the same machine load.
#
#   scripts/bench-compare-octodns.sh [SIZES] [RUNS]   (defaults: 10000,100000 and 3 runs)
#
# Zones come from `zonekeeper bench --generate-only` (mixed A/AAAA/CNAME/TXT/MX/SRV/CAA, one
# record per name, as octoDNS YAML). zonekeeper runs `plan --format json` against an empty
# `zonefile` target; octoDNS plans the same file (YamlProvider source, `enforce_order: false`)
# against an empty YamlProvider target. Each process is timed by GNU time: CPU s is user +
# system, wall s is elapsed, peak MiB is the maximum resident set. Prints a Markdown table
# with the median of RUNS runs and the ratios octoDNS / zonekeeper.
#
# Release build in ${CARGO_TARGET_DIR:-target}; octoDNS 1.22.0 is installed into
# ${OCTODNS_VENV:-<target dir>/octodns-venv} when missing (as scripts/test.sh does).
set -euo pipefail

SIZES=${1:-10000,100000}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
VENV=${OCTODNS_VENV:-$TARGET/octodns-venv}

[ -x /usr/bin/time ] || { echo "GNU time (/usr/bin/time, Debian package 'time') is needed" >&2; exit 1; }
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin zonekeeper
ZK="$TARGET/release/zonekeeper"
if [ ! -x "$VENV/bin/octodns-sync" ]; then
    echo "installing octoDNS 1.22.0 into $VENV" >&2
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q 'octodns==1.22.0' 'octodns-bind==1.1.0'
fi
SYNC="$VENV/bin/octodns-sync"

DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
"$ZK" bench --sizes "$SIZES" --workdir "$DIR" --generate-only

# measure LABEL SIZE CASE_DIR COMMAND...: one timed run, appended to $DIR/results.
measure() {
    local label=$1 size=$2 case=$3
    shift 3
    local rc=0
    (cd "$case" && /usr/bin/time -f '%U %S %e %M' -o "$DIR/time" "$@" >/dev/null 2>"$DIR/stderr") || rc=$?
    # zonekeeper plan exits 0 (or 2 with --detailed-exitcode); anything else is a failure.
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
        echo "$label failed (exit $rc):" >&2
        tail -5 "$DIR/stderr" >&2
        exit 1
    fi
    read -r user sys wall kb < <(tail -1 "$DIR/time")
    echo "$size $label $user $sys $wall $kb" >>"$DIR/results"
    echo "$size $label: cpu $(python3 -c "print(round($user + $sys, 2))") s, wall $wall s, peak $((kb / 1024)) MiB" >&2
}

for size in ${SIZES//,/ }; do
    case="$DIR/n$size"
    for _ in $(seq "$RUNS"); do
        measure zonekeeper "$size" "$case" "$ZK" --config zonekeeper.yaml plan --format json
        measure octodns "$size" "$case" "$SYNC" --config-file octodns.yaml
        # The dry run must have planned every record (octoDNS logs its summary).
        grep -q "Creates=$size" "$DIR/stderr" || grep -q "Creates=$((size + 1))" "$DIR/stderr" \
            || { echo "octoDNS did not plan the zone:" >&2; grep -m3 -i "creates\|error" "$DIR/stderr" >&2; exit 1; }
    done
done

python3 - "$DIR/results" "$("$ZK" --version)" "$("$SYNC" --version 2>&1 | head -1)" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    size, tool, user, sys_, wall, kb = line.split()
    rows.setdefault((int(size), tool), []).append((float(user) + float(sys_), float(wall), int(kb) / 1024))
print(f"{sys.argv[2]} vs {sys.argv[3]}, median of {len(next(iter(rows.values())))} interleaved runs\n")
print("| records | zonekeeper CPU s | wall s | peak MiB | octoDNS CPU s | wall s | peak MiB | ratio CPU | ratio wall | ratio peak |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for size in sorted({s for s, _ in rows}):
    zk = [statistics.median(c) for c in zip(*rows[(size, "zonekeeper")])]
    oc = [statistics.median(c) for c in zip(*rows[(size, "octodns")])]
    print(f"| {size} | {zk[0]:.2f} | {zk[1]:.2f} | {zk[2]:.0f} | {oc[0]:.1f} | {oc[1]:.1f} | {oc[2]:.0f} "
          f"| {oc[0] / zk[0]:.0f}x | {oc[1] / zk[1]:.0f}x | {oc[2] / zk[2]:.1f}x |")
EOF
