#!/usr/bin/env bash
# Regenerates imports/ from the upstream prometheus-operator CRDs (v0.93.0) kept in ../shared/crds.
# cdk8s import of local files works offline. The output is committed; builds never need to import.
set -euo pipefail
cd "$(dirname "$0")/.."
crds=${CRDS_DIR:-../shared/crds}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One module for the three CRDs of the group: concatenate them into one multi-document file.
for f in servicemonitors podmonitors prometheusrules; do
  cat "$crds/monitoring.coreos.com_$f.yaml"
  echo '---'
done > "$work/monitoring.coreos.com.yaml"
rm -rf imports
npx cdk8s import --no-check-upgrade --no-save --language typescript --output imports "$work/monitoring.coreos.com.yaml"
