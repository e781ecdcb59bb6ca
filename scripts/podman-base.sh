#!/usr/bin/env bash
# podman-base.sh — for hosts that reach no image registry: build a Debian 12 base image with
# debootstrap (`podman import`), and on it local PostgreSQL 15 and Redis images that stand in for
# the official ones. Then `ai-stack podman build --base-image <base>` builds the stack's images.
#
# Usage: scripts/podman-base.sh [--force]   (--force: rebuild images that exist)
#
# Environment:
#   AI_STACK_PODMAN_BASE_IMAGE      the base image's name (default localhost/ai-stack-base:bookworm)
#   AI_STACK_PODMAN_POSTGRES_IMAGE  the PostgreSQL image's name (default localhost/ai-stack-postgres:15)
#   AI_STACK_PODMAN_REDIS_IMAGE     the Redis image's name (default localhost/ai-stack-redis:7)
#   AI_STACK_DEBIAN_MIRROR          Debian mirror for debootstrap (default http://deb.debian.org/debian)
#   CONTAINERS_CONF                 Podman settings (default: ai-stack/deploy/podman/containers.conf)
#
# Exit codes: 0 built (or present), 1 a step failed, 2 usage, 3 not root or a package is missing.
set -Eeuo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT
# shellcheck source=scripts/lib.sh
source "${SCRIPT_DIR}/lib.sh"

readonly BASE_IMAGE="${AI_STACK_PODMAN_BASE_IMAGE:-localhost/ai-stack-base:bookworm}"
readonly POSTGRES_IMAGE="${AI_STACK_PODMAN_POSTGRES_IMAGE:-localhost/ai-stack-postgres:15}"
readonly REDIS_IMAGE="${AI_STACK_PODMAN_REDIS_IMAGE:-localhost/ai-stack-redis:7}"
readonly MIRROR="${AI_STACK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-${REPO_ROOT}/ai-stack/deploy/podman/containers.conf}"
ROOTFS=""

cleanup() {
  local status=$?
  [[ -n "${ROOTFS}" && -d "${ROOTFS}" ]] && rm -rf "${ROOTFS}"
  return "${status}"
}

image_missing() {
  [[ "${FORCE}" == "1" ]] || ! podman image exists "$1"
}

build_base() {
  image_missing "${BASE_IMAGE}" || { info "${BASE_IMAGE} exists"; return 0; }
  ROOTFS="$(mktemp -d /var/tmp/ai-stack-rootfs.XXXXXX)"
  info "debootstrap bookworm (minbase) from ${MIRROR}"
  debootstrap --variant=minbase --include=ca-certificates bookworm "${ROOTFS}" "${MIRROR}" >/dev/null
  rm -rf "${ROOTFS}/var/cache/apt/archives/"*.deb "${ROOTFS}/var/lib/apt/lists/"*
  info "importing it as ${BASE_IMAGE}"
  tar -C "${ROOTFS}" -c . | podman import --change 'CMD ["/bin/bash"]' - "${BASE_IMAGE}" >/dev/null
}

build_local() {
  local image="$1" containerfile="$2"
  image_missing "${image}" || { info "${image} exists"; return 0; }
  info "building ${image}"
  podman build --quiet --format docker --build-arg "BASE_IMAGE=${BASE_IMAGE}" --tag "${image}" \
    --file "${REPO_ROOT}/ai-stack/deploy/podman/local/${containerfile}" "${REPO_ROOT}/ai-stack/deploy/podman/local" >/dev/null
}

main() {
  FORCE=0
  case "${1:-}" in
    "") ;;
    --force) FORCE=1 ;;
    *) die_usage "unknown argument: $1 (expected --force or nothing)" ;;
  esac
  readonly FORCE
  [[ "${EUID}" -eq 0 ]] || die "debootstrap needs root" 3
  ensure_system_packages podman runc debootstrap
  trap cleanup EXIT
  build_base
  build_local "${POSTGRES_IMAGE}" Containerfile.postgres
  build_local "${REDIS_IMAGE}" Containerfile.redis
  info "done: AI_STACK_PODMAN_BASE_IMAGE=${BASE_IMAGE} AI_STACK_PODMAN_POSTGRES_IMAGE=${POSTGRES_IMAGE} AI_STACK_PODMAN_REDIS_IMAGE=${REDIS_IMAGE}"
}

main "$@"
