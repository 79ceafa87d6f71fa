#!/usr/bin/env bash
# The CI templates under deploy/ci/ (they run in the DNS repository, not here):
#   - schema-valid: GitHub's workflow schema and GitLab's CI schema, as vendored in PyPI's
#     check-jsonschema (offline), with a negative control;
#   - the sticky-comment marker they search for is the first line `zonekeeper plan --format
#     markdown` really prints;
#   - they give validate and plan the operator's configuration (ZONEKEEPER_OPERATOR_CONFIG);
#   - they sign the webhook with the openssl recipe that prometheus-e2e.sh proves against the
#     real daemon.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib/k8s-venv.sh
. scripts/lib/k8s-venv.sh
k8s_venv
cj=target/k8s-venv/bin/check-jsonschema
gh=deploy/ci/github/zonekeeper.yml
gl=deploy/ci/gitlab/.gitlab-ci.yml
offline=()
unshare -n true 2>/dev/null && offline=(unshare -n)

echo "--- schemas"
"${offline[@]}" "$cj" --builtin-schema vendor.github-workflows "$gh"
"${offline[@]}" "$cj" --builtin-schema vendor.gitlab-ci "$gl"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed 's/runs-on: ubuntu-latest/runs_on: ubuntu-latest/' "$gh" > "$tmp/bad.yml"
if "${offline[@]}" "$cj" --builtin-schema vendor.github-workflows "$tmp/bad.yml" >/dev/null 2>&1; then
  echo "negative control FAILED: a workflow with runs_on passed the schema"; exit 1
fi
echo "negative control ok: a misspelt workflow key is refused"

echo "--- the plan comment marker"
cargo build --locked -q --bin zonekeeper
cp -r manifests-example "$tmp/m"
rm -rf "$tmp/m/live"
./target/debug/zonekeeper --config "$tmp/m/zonekeeper.yaml" plan --format markdown --max-bytes 60000 > "$tmp/plan.md"
marker="$(head -n 1 "$tmp/plan.md")"
[ "$marker" = '<!-- zonekeeper-plan -->' ] || { echo "ERROR: plan --format markdown starts with $marker"; exit 1; }
for f in "$gh" "$gl"; do
  grep -qF "$marker" "$f" || { echo "ERROR: $f does not look for $marker"; exit 1; }
  grep -qF "plan --format markdown --max-bytes 60000" "$f" || { echo "ERROR: $f: no plan --format markdown --max-bytes 60000"; exit 1; }
  grep -qF "openssl dgst -sha256 -hmac \"\$ZONEKEEPER_WEBHOOK_SECRET\" | sed 's/^.*= //'" "$f" \
    || { echo "ERROR: $f does not sign the webhook with the recipe prometheus-e2e.sh tests"; exit 1; }
  # Plans take providers from the operator's file, never from the pull request.
  grep -qF "ZONEKEEPER_OPERATOR_CONFIG" "$f" || { echo "ERROR: $f: plan without the operator's configuration"; exit 1; }
done
echo "ok: both templates use the real marker ($marker), --max-bytes 60000 and the tested HMAC recipe"
echo "ci templates: ok"
