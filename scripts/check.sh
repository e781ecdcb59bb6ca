#!/usr/bin/env bash
# check.sh — lint and type-check: ruff check, ruff format --check, shellcheck, mypy --strict.
#
# Exit codes: 0 clean, 1 a check failed.
set -Eeuo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT
# shellcheck source=scripts/lib.sh
source "${SCRIPT_DIR}/lib.sh"

main() {
  local venv="${REPO_ROOT}/.venv"
  cd "${REPO_ROOT}"
  info "ruff check"
  "${venv}/bin/ruff" check --no-cache --config ai-stack/pyproject.toml ai-stack/src tests bench
  info "ruff format --check"
  "${venv}/bin/ruff" format --no-cache --check --config ai-stack/pyproject.toml ai-stack/src tests bench
  info "shellcheck"
  shellcheck -x scripts/*.sh .ci/run
  info "mypy --strict ai-stack/src"
  "${venv}/bin/mypy" --config-file ai-stack/pyproject.toml ai-stack/src
}

main "$@"
