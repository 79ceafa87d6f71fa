#!/usr/bin/env bash
# Validates deploy/kubernetes offline:
#   - core objects (Namespace, ServiceAccount, ConfigMap, Deployment, Service, the example
#     Secret) against the Kubernetes OpenAPI schemas bundled in PyPI's kubernetes-validate,
#     in strict mode (unknown fields are errors), for the newest and an older Kubernetes;
#   - the Prometheus Operator objects (ServiceMonitor, PrometheusRule), which
#     kubernetes-validate has no schema for, against the operator's CRD schemas as generated
#     into PyPI's cloudcoil prometheus-operator models (v0.80), unknown fields also errors;
#   - prometheusrule.yaml holds exactly deploy/prometheus/zonekeeper.rules.yml (itself
#     checked by promtool in promtool-rules.sh);
#   - the ConfigMap's zonekeeper.yaml against `zonekeeper schema config`;
#   - kustomization.yaml lists every manifest and nothing missing;
#   - negative controls: a misspelt field must fail each validator.
# The venv is installed from PyPI once (target/k8s-venv); the validators themselves run with
# no network (inside `unshare -n` where the kernel allows it, to prove it).
#   scripts/ci.d/k8s-validate.sh --write   regenerates deploy/kubernetes/prometheusrule.yaml
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib/k8s-venv.sh
. scripts/lib/k8s-venv.sh
k8s_venv
check() { "$K8S_PY" scripts/lib/k8s_check.py "$@"; }
dir=deploy/kubernetes

if [ "${1:-}" = "--write" ]; then
  check promrule deploy/prometheus/zonekeeper.rules.yml "$dir/prometheusrule.yaml"
  echo "wrote $dir/prometheusrule.yaml"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

offline=()
if unshare -n true 2>/dev/null; then
  offline=(unshare -n)
  echo "(validators run without network: unshare -n)"
else
  echo "(unshare -n not permitted here: validators run with the network, which they do not use)"
fi

core=("$dir/namespace.yaml" "$dir/serviceaccount.yaml" "$dir/configmap.yaml" "$dir/deployment.yaml"
      "$dir/service.yaml" "$dir/secret.example.yaml")
for k in 1.37.0 1.29.0; do
  echo "--- kubernetes-validate --strict (Kubernetes $k)"
  "${offline[@]}" target/k8s-venv/bin/kubernetes-validate --strict -k "$k" "${core[@]}"
done

echo "--- Prometheus Operator CRDs"
"${offline[@]}" "$K8S_PY" scripts/lib/k8s_check.py crd "$dir/servicemonitor.yaml" "$dir/prometheusrule.yaml"
check promrule deploy/prometheus/zonekeeper.rules.yml "$tmp/prometheusrule.yaml"
check same "$tmp/prometheusrule.yaml" "$dir/prometheusrule.yaml"
echo "INFO $dir/prometheusrule.yaml holds exactly deploy/prometheus/zonekeeper.rules.yml"

echo "--- the ConfigMap's zonekeeper.yaml against zonekeeper's own schema"
cargo build --locked -q --bin zonekeeper
./target/debug/zonekeeper schema config > "$tmp/config.schema.json"
check config "$tmp/config.schema.json" "$dir/configmap.yaml" zonekeeper.yaml
grep -q 'listen: 0.0.0.0:9353' "$dir/configmap.yaml" || { echo "ERROR configmap: listen must be 0.0.0.0:9353 in a pod"; exit 1; }

echo "--- kustomization.yaml"
check kustomization "$dir"

echo "--- negative controls (each must be refused)"
sed 's/imagePullPolicy:/imagePullPolicyy:/' "$dir/deployment.yaml" > "$tmp/bad-deployment.yaml"
if target/k8s-venv/bin/kubernetes-validate --strict --quiet "$tmp/bad-deployment.yaml" >/dev/null 2>&1; then
  echo "negative control FAILED: kubernetes-validate accepted a misspelt Deployment field"; exit 1
fi
sed 's/interval: 30s/intervall: 30s/' "$dir/servicemonitor.yaml" > "$tmp/bad-servicemonitor.yaml"
if check crd "$tmp/bad-servicemonitor.yaml" >/dev/null 2>&1; then
  echo "negative control FAILED: the CRD check accepted a misspelt ServiceMonitor field"; exit 1
fi
"$K8S_PY" - "$dir/configmap.yaml" "$tmp/bad-configmap.yaml" <<'PY'
import sys
s = open(sys.argv[1]).read().replace("resync_interval:", "resync_intervall:")
open(sys.argv[2], "w").write(s)
PY
if check config "$tmp/config.schema.json" "$tmp/bad-configmap.yaml" zonekeeper.yaml >/dev/null 2>&1; then
  echo "negative control FAILED: the config schema accepted a misspelt controller key"; exit 1
fi
echo "negative controls ok: misspelt Deployment, ServiceMonitor and controller fields are refused"
echo "k8s manifests: ok"
