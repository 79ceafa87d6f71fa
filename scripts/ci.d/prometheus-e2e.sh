#!/usr/bin/env bash
# End to end with a real Prometheus: zonekeeper's metrics, as scraped, carry the documented
# names and labels, the alerting rules evaluate on them, drift made behind zonekeeper's back
# shows up, and the webhook signature recipe of deploy/ci and the Dockerfile's HEALTHCHECK
# work against the real daemon.
#
#  1. copy manifests-example, `zonekeeper apply` it once (zonefile target -> <copy>/live), then
#     set example.com. to `policy: warn` (drift is reported, never fixed, so it persists);
#  2. `zonekeeper run --dir <copy>` on a free loopback port, resync every 10 s;
#  3. Prometheus 2.x on loopback scraping it every 1 s with deploy/prometheus's rules;
#  4. query the HTTP API: build_info, reconcile_total{zone,result},
#     zone_drift_records{zone,target,kind} (all 0 before the edit: the baseline that makes the
#     next step meaningful), every rule evaluating without error;
#  5. change an A record in <copy>/live/example.com.zone; within 30 s the drift series must be
#     > 0, /status must agree, and ZonekeeperDriftPersistent must be pending.
# Everything listens on 127.0.0.1 and is stopped (by PID) on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/sbin:/sbin"
if ! command -v openssl >/dev/null 2>&1; then   # scripts/test.sh does not install it
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends openssl >/dev/null
fi
for tool in prometheus promtool curl openssl python3; do
  command -v "$tool" >/dev/null || { echo "ERROR: $tool is missing (scripts/test.sh installs it)"; exit 1; }
done

cargo build --locked -q --bin zonekeeper
zk="$PWD/target/debug/zonekeeper"
work="$(mktemp -d)"
pids=()
cleanup() {
  local status=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$status" != 0 ]; then
    echo "--- zonekeeper log (last 40 lines)"; tail -n 40 "$work/zonekeeper.log" 2>/dev/null || true
    echo "--- prometheus log (last 20 lines)"; tail -n 20 "$work/prometheus.log" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for: $what"
    sleep 0.5
  done
}

# --- 1. manifests ------------------------------------------------------------------------
cp -r manifests-example "$work/m"
rm -rf "$work/m/live"
"$zk" --config "$work/m/zonekeeper.yaml" apply > "$work/apply.txt"
python3 - "$work/m/zonekeeper.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
old = "  example.com.:\n    targets: [local]"
assert old in s, "manifests-example/zonekeeper.yaml changed: update prometheus-e2e.sh"
open(p, "w").write(s.replace(old, old.split("#")[0] + "\n    policy: warn", 1))
PY
"$zk" --config "$work/m/zonekeeper.yaml" plan --detailed-exitcode > "$work/plan.txt" \
  || fail "the example is not in sync after apply: $(cat "$work/plan.txt")"

# --- 2. zonekeeper run ---------------------------------------------------------------------
zk_port="$(free_port)"
ZK_E2E_WEBHOOK_SECRET="e2e-$(date +%s%N)"
export ZK_E2E_WEBHOOK_SECRET
"$zk" run --dir "$work/m" --state-dir "$work/state" --listen "127.0.0.1:$zk_port" \
  --interval 1s --resync-interval 10s --webhook-secret env:ZK_E2E_WEBHOOK_SECRET -v \
  > "$work/zonekeeper.log" 2>&1 &
pids+=($!)
zk_url="http://127.0.0.1:$zk_port"
wait_for 60 "zonekeeper /readyz" curl -fsS "$zk_url/readyz"
echo "zonekeeper ready on $zk_url"

# The Dockerfile's HEALTHCHECK, run as Docker would run it (and refused on a closed port).
health_cmd="$(python3 - <<'PY'
import json, re
text = open("Dockerfile").read().replace("\\\n", " ")
m = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])\s*$", text, re.M)
print(json.loads(m.group(1))[2])
PY
)"
ZONEKEEPER_HEALTH_PORT="$zk_port" bash -c "$health_cmd" || fail "the Dockerfile HEALTHCHECK failed on a live daemon"
closed_port="$(free_port)"
if ZONEKEEPER_HEALTH_PORT="$closed_port" timeout 5 bash -c "$health_cmd" 2>/dev/null; then
  fail "the Dockerfile HEALTHCHECK passed against a closed port"
fi
echo "Dockerfile HEALTHCHECK: passes on the daemon, fails on a closed port"

# The webhook call of deploy/ci/github and deploy/ci/gitlab: HMAC-SHA256 with openssl.
body='{"ref":"refs/heads/main","after":"0123456789abcdef"}'
sig="$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$ZK_E2E_WEBHOOK_SECRET" | sed 's/^.*= //')"
code="$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -H "X-Signature: sha256=$sig" --data-binary "$body" "$zk_url/hooks/git")"
[ "$code" = 202 ] || fail "signed webhook call: HTTP $code, expected 202"
code="$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -H "X-Gitlab-Token: $ZK_E2E_WEBHOOK_SECRET" --data-binary "$body" "$zk_url/hooks/git")"
[ "$code" = 202 ] || fail "GitLab token webhook call: HTTP $code, expected 202"
code="$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H "X-Signature: sha256=$sig" \
  --data-binary "${body} " "$zk_url/hooks/git")"
[ "$code" = 401 ] || fail "webhook call with a signature over another body: HTTP $code, expected 401"
echo "webhook: openssl HMAC and X-Gitlab-Token accepted (202), a wrong signature refused (401)"

# --- 3. Prometheus -------------------------------------------------------------------------
prom_port="$(free_port)"
cat > "$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/deploy/prometheus/zonekeeper.rules.yml
scrape_configs:
  - job_name: zonekeeper
    static_configs:
      - targets: ["127.0.0.1:$zk_port"]
YAML
promtool check config "$work/prometheus.yml" > /dev/null
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom-data" \
  --web.listen-address="127.0.0.1:$prom_port" > "$work/prometheus.log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$prom_port"
wait_for 60 "prometheus /-/ready" curl -fsS "$prom/-/ready"

# query EXPR -> the API's JSON result list on stdout
query() { curl -fsS --get --data-urlencode "query=$1" "$prom/api/v1/query"; }
# check EXPR PYTHON: runs PYTHON with `r` = the result list; it must print nothing and exit 0
check() {
  local json
  json="$(query "$1")" || return 1
  printf '%s' "$json" | python3 -c "
import json, sys
r = json.load(sys.stdin)['data']['result']
$2
"
}
has_series() { check "$1" 'sys.exit(0 if r else 1)'; }
wait_for 60 'up{job="zonekeeper"} == 1' has_series 'up{job="zonekeeper"} == 1'
wait_for 30 'zonekeeper_zone_drift_records scraped' has_series 'zonekeeper_zone_drift_records{zone="example.com."}'
echo "prometheus on $prom is scraping zonekeeper"

# --- 4. the documented series --------------------------------------------------------------
version="$("$zk" --version | awk '{print $2}')"
check "zonekeeper_build_info{version=\"$version\"} == 1" 'assert len(r) == 1, r' \
  || fail "zonekeeper_build_info{version=\"$version\"} is not 1"
check 'zonekeeper_reconcile_total' '
zones = {"example.com.", "example.org.", "2.0.192.in-addr.arpa."}
for s in r:
    assert set(s["metric"]) == {"__name__", "job", "instance", "zone", "result"}, s["metric"]
    assert s["metric"]["result"] in {"success", "drift", "unsafe", "failed"}, s["metric"]
assert zones <= {s["metric"]["zone"] for s in r}, r
assert any(s["metric"]["result"] == "success" for s in r), r
' || fail "zonekeeper_reconcile_total{zone,result} is not as documented"
check 'zonekeeper_zone_drift_records' '
for s in r:
    assert set(s["metric"]) == {"__name__", "job", "instance", "zone", "target", "kind"}, s["metric"]
kinds = {s["metric"]["kind"] for s in r if s["metric"]["zone"] == "example.com."}
assert kinds == {"missing", "extra", "changed"}, kinds
bad = [s for s in r if float(s["value"][1]) != 0]
assert not bad, "drift before any edit: %s" % bad
' || fail "zonekeeper_zone_drift_records{zone,target,kind} is not as documented, or not 0 before the edit"
check 'zonekeeper_last_successful_reconcile_timestamp_seconds' '
assert {s["metric"]["zone"] for s in r} >= {"example.com.", "example.org."}, r
' || fail "zonekeeper_last_successful_reconcile_timestamp_seconds{zone} missing"
check 'zonekeeper_git_fetch_total{result="success"}' 'assert r and float(r[0]["value"][1]) >= 1, r' \
  || fail 'zonekeeper_git_fetch_total{result="success"} missing'
check 'zonekeeper_manifest_errors' 'assert r and float(r[0]["value"][1]) == 0, r' \
  || fail "zonekeeper_manifest_errors is not 0"
echo "series as documented: build_info, reconcile_total{zone,result}, zone_drift_records{zone,target,kind} (all 0), last_successful_reconcile_timestamp_seconds{zone}, git_fetch_total{result}, manifest_errors"

# Every rule evaluates on the real series without error.
rules_ok() {
  curl -fsS "$prom/api/v1/rules" | python3 -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
bad = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
assert len(rules) == 20 and not bad, (len(rules), bad)
'
}
wait_for 45 "all 20 rules evaluated with health ok" rules_ok
echo "all 20 recording and alerting rules evaluate with health ok"

# --- 5. drift behind zonekeeper's back -----------------------------------------------------
live="$work/m/live/example.com.zone"
grep -q '^@ 3600 IN A 192.0.2.10$' "$live" || fail "$live has no '@ 3600 IN A 192.0.2.10' line to change"
sed -i 's/^@ 3600 IN A 192.0.2.10$/@ 3600 IN A 198.51.100.66/' "$live"
echo "changed example.com. A 192.0.2.10 -> 198.51.100.66 in $live"
wait_for 30 'zonekeeper_zone_drift_records{zone="example.com.",kind="changed"} > 0' \
  has_series 'zonekeeper_zone_drift_records{zone="example.com.",target="local",kind="changed"} > 0'
check 'sum by (zone) (zonekeeper_zone_drift_records) > 0' 'assert [s["metric"]["zone"] for s in r] == ["example.com."], r' \
  || fail "drift shows on zones that were not touched"
wait_for 15 'zonekeeper_reconcile_total{zone="example.com.",result="drift"}' \
  has_series 'zonekeeper_reconcile_total{zone="example.com.",result="drift"} > 0'
curl -fsS "$zk_url/status" | python3 -c '
import json, sys
z = json.load(sys.stdin)["zones"]["example.com."]
assert z["drift"]["local"]["changed"] >= 1 and z["last_outcome"] == "drift", z
' || fail "/status does not show the drift"
alert_pending() {
  curl -fsS "$prom/api/v1/alerts" | python3 -c '
import json, sys
a = [x for x in json.load(sys.stdin)["data"]["alerts"] if x["labels"]["alertname"] == "ZonekeeperDriftPersistent"]
assert [(x["labels"]["zone"], x["labels"]["target"], x["state"]) for x in a] == [("example.com.", "local", "pending")], a
'
}
wait_for 15 "ZonekeeperDriftPersistent pending for example.com./local" alert_pending
grep -q '198.51.100.66' "$live" || fail "zonekeeper rewrote the live zone although its policy is warn"
echo "drift detected: zonekeeper_zone_drift_records{zone=\"example.com.\",target=\"local\",kind=\"changed\"} > 0, /status agrees, ZonekeeperDriftPersistent pending, live zone left alone (policy warn)"
echo "prometheus e2e: ok"
