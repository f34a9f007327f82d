#!/usr/bin/env bash
# The Kubernetes manifests (deploy/kubernetes/, docs/cluster.md
# "Kubernetes"): every file parses; the fields the docs rely on hold
# (probe paths are routes, ports are the configuration's listeners, the
# ConfigMap passes coapgw --check-config with the Deployment's environment,
# Secret keys referenced exist, selectors match labels). No cluster needed:
# python3 with PyYAML (python3-yaml, which the build needs anyway).
# usage: tests/lint/test_kubernetes.sh COAPGW_BINARY
set -euo pipefail
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml not installed"; exit 77; }
exec python3 "$(dirname "$0")/check_kubernetes.py" "$1"
