"""Checks for deploy/kubernetes that kubernetes-validate cannot do (run by scripts/ci.d/k8s-validate.sh).

  k8s_check.py promrule RULES OUT            write the PrometheusRule wrapping RULES to OUT
  k8s_check.py same A B                      exit 1 unless YAML files A and B hold equal data
  k8s_check.py crd FILE...                   validate ServiceMonitor/PrometheusRule objects against
                                             the Prometheus Operator CRD schemas (cloudcoil models,
                                             generated from the operator's CRDs), rejecting unknown
                                             fields too
  k8s_check.py config SCHEMA CONFIGMAP KEY   validate a ConfigMap's zonekeeper.yaml against the
                                             JSON Schema of `zonekeeper schema config`
  k8s_check.py configfile SCHEMA FILE        the same for a plain zonekeeper.yaml
  k8s_check.py kustomization DIR             every resource exists; every manifest is listed
"""
import json
import os
import sys

import yaml

HEADER = """\
# GENERATED from deploy/prometheus/zonekeeper.rules.yml - do not edit by hand.
# Regenerate: scripts/ci.d/k8s-validate.sh --write (CI fails when the two differ).
"""


def promrule(rules_path, out_path):
    groups = yaml.safe_load(open(rules_path))["groups"]
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "zonekeeper",
            "labels": {"app.kubernetes.io/name": "zonekeeper"},
        },
        "spec": {"groups": groups},
    }

    class Dumper(yaml.SafeDumper):
        pass

    def str_presenter(dumper, data):
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Dumper.add_representer(str, str_presenter)
    with open(out_path, "w") as f:
        f.write(HEADER)
        f.write("# Add the labels your Prometheus's ruleSelector wants (e.g. release: kube-prometheus-stack).\n")
        yaml.dump(doc, f, Dumper=Dumper, sort_keys=False, width=100, allow_unicode=True)


def same(a, b):
    if yaml.safe_load(open(a)) != yaml.safe_load(open(b)):
        print(f"{b} differs from what {a} gives: run scripts/ci.d/k8s-validate.sh --write")
        sys.exit(1)


def unknown_fields(given, dumped, path=""):
    """Keys present in the input that the model dropped (pydantic ignores extras)."""
    out = []
    if isinstance(given, dict) and isinstance(dumped, dict):
        for k, v in given.items():
            if k not in dumped:
                out.append(f"{path}.{k}".lstrip("."))
            else:
                out += unknown_fields(v, dumped[k], f"{path}.{k}")
    elif isinstance(given, list) and isinstance(dumped, list):
        for i, (g, d) in enumerate(zip(given, dumped)):
            out += unknown_fields(g, d, f"{path}[{i}]")
    return out


def crd(files):
    from cloudcoil.models.prometheus_operator import v1

    kinds = {"ServiceMonitor": v1.ServiceMonitor, "PrometheusRule": v1.PrometheusRule}
    bad = 0
    for path in files:
        for doc in yaml.safe_load_all(open(path)):
            if not doc:
                continue
            kind = doc.get("kind")
            if doc.get("apiVersion") != "monitoring.coreos.com/v1" or kind not in kinds:
                print(f"ERROR {path}: not a monitoring.coreos.com/v1 ServiceMonitor/PrometheusRule")
                bad += 1
                continue
            try:
                model = kinds[kind].model_validate(doc)
            except Exception as e:  # pydantic.ValidationError
                print(f"ERROR {path}: {kind} does not match the CRD schema:\n{e}")
                bad += 1
                continue
            dumped = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
            extra = unknown_fields(doc, dumped)
            if extra:
                print(f"ERROR {path}: {kind} has fields the CRD does not define: {', '.join(extra)}")
                bad += 1
                continue
            print(f"INFO {path} passed for {kind}/{doc['metadata']['name']} against the Prometheus Operator CRD schema")
    sys.exit(1 if bad else 0)


def check_config(schema_path, text, what):
    import jsonschema

    schema = json.load(open(schema_path))
    data = yaml.safe_load(text)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=str)
    for e in errors:
        print(f"ERROR {what}: {'/'.join(map(str, e.path))}: {e.message}")
    if not errors and not (data or {}).get("controller"):
        print(f"ERROR {what}: no controller: section")
        sys.exit(1)
    if errors:
        sys.exit(1)
    print(f"INFO {what} passed against `zonekeeper schema config`")


def config(schema_path, cm_path, key):
    cm = yaml.safe_load(open(cm_path))
    check_config(schema_path, cm["data"][key], f"{cm_path} data.{key}")


def configfile(schema_path, path):
    check_config(schema_path, open(path).read(), path)


def kustomization(d):
    k = yaml.safe_load(open(os.path.join(d, "kustomization.yaml")))
    listed = set(k.get("resources", []))
    problems = [f"{r}: listed in kustomization.yaml but missing" for r in listed if not os.path.exists(os.path.join(d, r))]
    for f in sorted(os.listdir(d)):
        if f.endswith(".yaml") and f != "kustomization.yaml" and ".example." not in f and f not in listed:
            problems.append(f"{f}: not listed in kustomization.yaml resources")
    if problems:
        print("\n".join("ERROR " + p for p in problems))
        sys.exit(1)
    print(f"INFO kustomization.yaml: {len(listed)} resources, all present, none forgotten")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"promrule": promrule, "same": same, "crd": lambda *f: crd(f), "config": config,
     "configfile": configfile, "kustomization": kustomization}[cmd](*args)
