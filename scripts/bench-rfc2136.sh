#!/usr/bin/env bash
# Benchmarks the rfc2136 provider against a real BIND 9 on 127.0.0.1 (release build):
# apply of N creates and then N updates (UPDATE messages sent, provider calls, wall time),
# against nsupdate sending the same N additions in one message.
#
#   scripts/bench-rfc2136.sh            # N = 1000 and 10000
#   ZK_BENCH_CHANGES=500 scripts/bench-rfc2136.sh
#
# Needs named, tsig-keygen, dig and nsupdate (Debian: bind9 bind9-utils bind9-dnsutils).
# The test harness starts and stops its own named (tests/support/bind.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

export ZK_BENCH_CHANGES="${ZK_BENCH_CHANGES:-1000,10000}"
export ZONEKEEPER_REQUIRE_SERVERS=1
out=$(cargo test --release --test rfc2136 bench_apply -- --ignored --nocapture --test-threads=1 2>&1) || {
    echo "$out" >&2
    exit 1
}
echo "$out" | grep -o 'BENCH.*' >&2

echo "| client | operation | changes | UPDATE messages | provider calls | wall time |"
echo "|---|---|---:|---:|---:|---:|"
echo "$out" | grep -o 'BENCH.*' | awk '
{
    delete kv
    for (i = 4; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
    calls = ("calls" in kv) ? kv["calls"] : "-"
    note = ""
    if ($2 == "nsupdate" && kv["ok"] != "true") note = " (failed: " kv["applied"] " applied)"
    printf "| %s | %s | %s | %s | %s | %.2f s%s |\n", $2, $3, kv["changes"], kv["messages"], calls, kv["wall_ms"] / 1000, note
}'
