# shellcheck shell=bash
# Sourced by scripts/ci.d/*.sh: a Python virtualenv in target/k8s-venv with the offline
# validators (kubernetes-validate bundles the Kubernetes OpenAPI schemas; the cloudcoil
# prometheus-operator models are generated from the Prometheus Operator's CRD schemas) and
# PyYAML. Installed from PyPI once; validation itself needs no network.
# Sets K8S_PY to the venv's python.
k8s_venv() {
  local venv=target/k8s-venv
  local req="kubernetes-validate==1.37.0 cloudcoil.models.prometheus_operator==0.80.1.0 cloudcoil==0.6.0 check-jsonschema==0.39.0 PyYAML"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$req" ]; then
    echo "installing $req into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install -q $req
    echo "$req" > "$venv/.requirements"
  fi
  # shellcheck disable=SC2034  # used by the scripts that source this file
  K8S_PY="$PWD/$venv/bin/python"
}
