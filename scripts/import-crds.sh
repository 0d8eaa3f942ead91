#!/usr/bin/env bash
# Regenerates imports/ from the upstream prometheus-operator (v0.93.0) and cert-manager CRDs kept in ../shared/crds.
# cdk8s import of local files works offline. The output is committed; builds never need to import.
# Only the kinds the library uses (ServiceMonitor, PrometheusRule; cert-manager's Certificate):
# everything in imports/ is compiled, shipped and part of the jsii API (the `prometheusOperator`
# and `certManager` submodules).
set -euo pipefail
cd "$(dirname "$0")/.."
crds=${CRDS_DIR:-../shared/crds}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One module for the group's CRDs: concatenate them into one multi-document file.
for f in servicemonitors prometheusrules; do
  cat "$crds/monitoring.coreos.com_$f.yaml"
  echo '---'
done > "$work/monitoring.coreos.com.yaml"
rm -rf imports
npx cdk8s import --no-check-upgrade --no-save --language typescript --output imports "$work/monitoring.coreos.com.yaml"
npx cdk8s import --no-check-upgrade --no-save --language typescript --output imports "$crds/cert-manager.io_certificates.yaml"
