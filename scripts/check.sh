#!/usr/bin/env bash
# check.sh — lint and type-check: ruff check, ruff format --check, mypy --strict on src/.
#
# Exit codes: 0 clean, 1 a check failed.
set -Eeuo pipefail

readonly SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "${SCRIPT_DIR}/lib.sh"

main() {
  local venv="${REPO_ROOT}/.venv"
  cd "${REPO_ROOT}"
  info "ruff check"
  "${venv}/bin/ruff" check --config ai-stack/pyproject.toml ai-stack/src tests bench
  info "ruff format --check"
  "${venv}/bin/ruff" format --check --config ai-stack/pyproject.toml ai-stack/src tests bench
  info "mypy --strict ai-stack/src"
  "${venv}/bin/mypy" --config-file ai-stack/pyproject.toml ai-stack/src
}

main "$@"
