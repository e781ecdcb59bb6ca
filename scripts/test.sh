#!/usr/bin/env bash
# test.sh — install what the tests need (apt packages, the venv) and run them.
#
# Usage: scripts/test.sh [pytest arguments…]   (default: the whole suite)
#
# Environment:
#   AI_STACK_SKIP_INSTALL  1: do not install anything (fail when something is missing)
#   AI_STACK_SKIP_CHECK    1: skip ruff and mypy
#
# Exit codes: pytest's (0 all passed, 1 failures, …; 5 "no tests" is turned into 1),
#   3 a system package is missing and cannot be installed, 6 lint/type check failed.
set -Eeuo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT
# shellcheck source=scripts/lib.sh
source "${SCRIPT_DIR}/lib.sh"

main() {
  cd "${REPO_ROOT}"
  ensure_system_packages postgresql redis-server nginx libnginx-mod-http-js openssl curl iproute2 libjemalloc2 shellcheck postgresql-doc-15 \
    prometheus prometheus-node-exporter prometheus-postgres-exporter prometheus-redis-exporter \
    prometheus-nginx-exporter prometheus-blackbox-exporter nix-bin podman runc debootstrap
  ensure_venv "${REPO_ROOT}" "${REPO_ROOT}/.venv"
  if [[ "${AI_STACK_SKIP_CHECK:-0}" != "1" ]]; then
    "${SCRIPT_DIR}/check.sh" || exit 6
  fi
  local status=0
  HF_HUB_OFFLINE=1 "${REPO_ROOT}/.venv/bin/python" -m pytest "$@" || status=$?
  if ((status == 5)); then
    warn "pytest collected no tests"
    status=1
  fi
  return "${status}"
}

main "$@"
