#!/usr/bin/env bash
# Prometheus rules: syntax (promtool check rules), behaviour (promtool test rules: every alert
# firing and not firing), annotations (summary, description, runbook_url whose anchor is a
# section of docs/runbook.md), and a negative control proving the unit tests can fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/sbin:/sbin"
# shellcheck source=scripts/lib/k8s-venv.sh
. scripts/lib/k8s-venv.sh
k8s_venv

rules=deploy/prometheus/zonekeeper.rules.yml
echo "--- promtool check rules"
promtool check rules "$rules"

echo "--- promtool test rules"
promtool test rules deploy/prometheus/tests/*.yaml

echo "--- annotations, runbook sections, test coverage"
"$K8S_PY" - "$rules" docs/runbook.md deploy/prometheus/tests/*.yaml <<'PY'
import re, sys, yaml
rules_path, runbook_path, *tests = sys.argv[1:]
rules = yaml.safe_load(open(rules_path))
anchors = set()
for line in open(runbook_path):
    m = re.match(r"^#{2,3} (.+?)\s*$", line)
    if m:
        anchors.add(re.sub(r"[^a-z0-9 _-]", "", m.group(1).lower()).replace(" ", "-"))
fired, silent = set(), set()
for t in tests:
    for case in yaml.safe_load(open(t))["tests"]:
        for a in case.get("alert_rule_test", []):
            (fired if a.get("exp_alerts") else silent).add(a["alertname"])
problems = []
alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
for r in alerts:
    name, ann = r["alert"], r.get("annotations", {})
    for key in ("summary", "description", "runbook_url"):
        if not ann.get(key):
            problems.append(f"{name}: no {key} annotation")
    url = ann.get("runbook_url", "")
    if not url.startswith("docs/runbook.md#"):
        problems.append(f"{name}: runbook_url {url!r} is not docs/runbook.md#<section>")
    elif url.split("#", 1)[1] not in anchors:
        problems.append(f"{name}: docs/runbook.md has no section #{url.split('#', 1)[1]}")
    if r.get("labels", {}).get("severity") not in ("warning", "critical"):
        problems.append(f"{name}: severity label must be warning or critical")
    if name not in fired:
        problems.append(f"{name}: no unit test where it fires")
    if name not in silent:
        problems.append(f"{name}: no unit test where it stays silent")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"{len(alerts)} alerts: annotations complete, runbook sections present, each tested firing and silent")
PY

echo "--- negative control: a changed rule must fail the unit tests"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tests"
cp deploy/prometheus/tests/*.yaml "$tmp/tests/"
# Drift alerts after 30m; make it 60m: the test expecting it at 40m must fail.
sed 's/^\(        for: \)30m$/\160m/' "$rules" > "$tmp/zonekeeper.rules.yml"
if cmp -s "$rules" "$tmp/zonekeeper.rules.yml"; then
  echo "negative control: the sed did not change the rules (update this script)"; exit 1
fi
if promtool test rules "$tmp"/tests/*.yaml > "$tmp/out.txt" 2>&1; then
  cat "$tmp/out.txt"
  echo "negative control FAILED: promtool test rules passed on mutated rules"; exit 1
fi
grep -q 'FAILED' "$tmp/out.txt" || { cat "$tmp/out.txt"; echo "negative control: no FAILED in output"; exit 1; }
echo "negative control ok: promtool test rules exits non-zero when an alert's 'for' changes"
echo "promtool rules: ok"
