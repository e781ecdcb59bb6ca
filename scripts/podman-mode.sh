# shellcheck shell=bash
# podman-mode.sh — AI_STACK_MODE=podman for ai-stack-startup.sh (sourced, never run): the stack
# in containers, driven by `ai-stack podman` from the same service registry as native mode.
#
# Uses from the startup script: VENV, REPO_ROOT, TIMEOUT, ensure_tls, ensure_gateway_secret.

# The containers' settings of this checkout (runc, ulimits a sandbox allows) unless the operator
# has their own.
export CONTAINERS_CONF="${CONTAINERS_CONF:-${REPO_ROOT}/ai-stack/deploy/podman/containers.conf}"

# podman_ready: whether Podman can start the stack without reaching a registry: the service image
# or the base it builds on is here (the settings' defaults, read without the venv, which a first
# run has not built yet).
podman_ready() {
  podman image exists "${AI_STACK_PODMAN_IMAGE:-localhost/ai-stack:latest}" 2>/dev/null \
    || podman image exists "${AI_STACK_PODMAN_BASE_IMAGE:-docker.io/library/debian:bookworm-slim}" 2>/dev/null
}

podman_base_image() {
  "${VENV}/bin/python" -c 'from ai_stack.core.settings import load_settings
from ai_stack.deploy.settings import PodmanSettings
print(load_settings(PodmanSettings).base_image)'
}

start_podman_stack() {
  ensure_system_packages podman runc
  (umask 022 && ensure_venv "${REPO_ROOT}" "${VENV}")
  mkdir -p "${AI_STACK_HOME}/secrets"
  chmod 700 "${AI_STACK_HOME}" "${AI_STACK_HOME}/secrets"
  ensure_tls
  ensure_gateway_secret
  local base
  base="$(podman_base_image)"
  if [[ "${base}" == localhost/* ]] && ! podman image exists "${base}"; then
    die "the base image ${base} does not exist: build it with scripts/podman-base.sh" 3
  fi
  info "building the images if the checkout changed (the first build takes several minutes)"
  (cd "${REPO_ROOT}" && "${VENV}/bin/ai-stack" podman build --if-changed) \
    || die "the image build failed (above). If no image registry is reachable from here, build local images with scripts/podman-base.sh and set AI_STACK_PODMAN_BASE_IMAGE, …_POSTGRES_IMAGE, …_REDIS_IMAGE and AI_STACK_PODMAN_QDRANT=embedded (README, Podman)" 1
  local status=0
  "${VENV}/bin/ai-stack" podman up --timeout "${TIMEOUT}" || status=$?
  ((status == 0)) || exit "${status}"
  printf 'podman\n' >"${AI_STACK_HOME}/mode"
  info "create an API key with: podman exec $(podman_project)-auth ai-stack keys create --name NAME"
}

podman_project() {
  "${VENV}/bin/python" -c 'from ai_stack.core.settings import load_settings
from ai_stack.deploy.settings import PodmanSettings
print(load_settings(PodmanSettings).project)'
}

stop_podman_stack() {
  [[ -x "${VENV}/bin/ai-stack" ]] || { warn "no ${VENV}/bin/ai-stack: nothing was started from this checkout"; return 0; }
  "${VENV}/bin/ai-stack" podman down
  rm -f "${AI_STACK_HOME}/mode"
  info "stopped (volumes and secrets stay)"
}

show_podman_status() {
  [[ -x "${VENV}/bin/ai-stack" ]] || { warn "the stack was never installed (no ${VENV})"; return 5; }
  "${VENV}/bin/ai-stack" podman status || return 5
}
