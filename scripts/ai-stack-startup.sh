#!/usr/bin/env bash
# ai-stack-startup.sh — start, inspect or stop the ai-stack (native processes or Podman containers).
#
# Usage: scripts/ai-stack-startup.sh [--status | --stop | --help]
#
# Environment:
#   AI_STACK_HOME            data directory (default ~/.local/share/ai-stack)
#   AI_STACK_LOG_DIR         log directory (default ~/.cache/ai-stack/logs)
#   AI_STACK_MODE            native, podman, or auto (default): the mode the stack was started in,
#                            else podman where Podman is installed and has the stack's image or its
#                            base image (a registry's base is pulled only when asked for), else
#                            native. Podman mode
#                            runs the compose file's containers (images, backing services and limits:
#                            AI_STACK_PODMAN_*; hosts without a registry: scripts/podman-base.sh)
#   AI_STACK_PG_PORT         PostgreSQL port (default 55432)
#   AI_STACK_REDIS_PORT      Redis port (default 56379)
#   AI_STACK_GATEWAY_HTTPS_PORT / AI_STACK_GATEWAY_HTTP_PORT   gateway ports (8443 / 8088)
#   AI_STACK_<SERVICE>_PORT  port of each Python service (AI_STACK_AUTH_PORT, AI_STACK_EMBEDDINGS_PORT, …);
#                            the services, their start order and default ports come from the service
#                            registry (ai-stack/src/ai_stack/registry.py): `.venv/bin/ai-stack services`
#   AI_STACK_STARTUP_TIMEOUT seconds to wait for each service to become ready (default 180)
#   AI_STACK_SKIP_INSTALL    1: never run apt-get or pip (fail if something is missing)
#   AI_STACK_JEMALLOC        0: embeddings and aidb keep glibc's allocator instead of jemalloc
#   AI_STACK_TLS_CERT / AI_STACK_TLS_KEY  use this certificate instead of a self-signed one
#   AI_STACK_SERVICE_USER    as root: the unprivileged user the services and Redis run as (ai-stack)
#   AI_STACK_RUN_AS_ROOT     1: as root, run them as root anyway
#   AI_STACK_OBSERVABILITY   1: also run Prometheus and its exporters on 127.0.0.1 (Debian's
#                            packages; ports and alert thresholds: AI_STACK_OBSERVABILITY_*,
#                            `.venv/bin/ai-stack observability daemons`)
#
# Exit codes:
#   0 all services healthy (or stopped, with --stop)
#   1 unexpected error
#   2 usage error, unsupported mode or an invalid AI_STACK_* setting
#   3 a required system package is missing and cannot be installed (not root)
#   4 a service did not become healthy (its name and log tail are printed)
#   5 --status: at least one service is not healthy
set -Eeuo pipefail
# Everything this script creates (secrets, data, logs, pid files) is its user's alone.
umask 077

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT
# shellcheck source=scripts/lib.sh
source "${SCRIPT_DIR}/lib.sh"
# shellcheck source=scripts/podman-mode.sh
source "${SCRIPT_DIR}/podman-mode.sh"

export AI_STACK_HOME="${AI_STACK_HOME:-${HOME}/.local/share/ai-stack}"
export AI_STACK_LOG_DIR="${AI_STACK_LOG_DIR:-${HOME}/.cache/ai-stack/logs}"
REQUESTED_MODE="${AI_STACK_MODE:-auto}"
readonly PG_PORT="${AI_STACK_PG_PORT:-55432}"
readonly REDIS_PORT="${AI_STACK_REDIS_PORT:-56379}"
readonly HTTPS_PORT="${AI_STACK_GATEWAY_HTTPS_PORT:-8443}"
readonly TIMEOUT="${AI_STACK_STARTUP_TIMEOUT:-180}"
readonly OBSERVABILITY="${AI_STACK_OBSERVABILITY:-0}"
readonly OBSERVABILITY_PACKAGES=(prometheus prometheus-node-exporter prometheus-postgres-exporter
  prometheus-redis-exporter prometheus-nginx-exporter prometheus-blackbox-exporter)
readonly RUN_DIR="${AI_STACK_HOME}/run"
readonly TLS_DIR="${AI_STACK_HOME}/tls"
readonly VENV="${REPO_ROOT}/.venv"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
readonly NGINX
readonly SERVICE_USER="${AI_STACK_SERVICE_USER:-ai-stack}"
# Set by prepare_service_user when root: the Python services and Redis then run as SERVICE_USER,
# with their own copies of what they read under SERVICE_HOME (root's home is not theirs).
RUN_AS=""
REDIS_AS=""
SERVICE_HOME=""
SERVICE_ENV=()
# The interpreter the Python services run on: the checkout's venv, or (as root, when the service
# user cannot run that one) a venv of the system's Python under /var/lib/ai-stack.
SERVICE_PYTHON="${VENV}/bin/python"

export AI_STACK_EMBEDDINGS_REDIS_URL_FILE="${AI_STACK_EMBEDDINGS_REDIS_URL_FILE:-${AI_STACK_HOME}/secrets/redis-url}"
export AI_STACK_AIDB_REDIS_URL_FILE="${AI_STACK_AIDB_REDIS_URL_FILE:-${AI_STACK_HOME}/secrets/redis-url}"
export AI_STACK_AIDB_POSTGRES_PORT="${PG_PORT}"
export AI_STACK_AIDB_POSTGRES_PASSWORD_FILE="${AI_STACK_AIDB_POSTGRES_PASSWORD_FILE:-${AI_STACK_HOME}/secrets/postgres-password}"
export AI_STACK_AIDB_EMBEDDINGS_URL="${AI_STACK_AIDB_EMBEDDINGS_URL:-http://127.0.0.1:${AI_STACK_EMBEDDINGS_PORT:-8081}}"
export AI_STACK_HYBRID_REDIS_URL_FILE="${AI_STACK_HYBRID_REDIS_URL_FILE:-${AI_STACK_HOME}/secrets/redis-url}"
export AI_STACK_HYBRID_AIDB_URL="${AI_STACK_HYBRID_AIDB_URL:-http://127.0.0.1:${AI_STACK_AIDB_PORT:-8091}}"
export AI_STACK_DOCS_REDIS_URL_FILE="${AI_STACK_DOCS_REDIS_URL_FILE:-${AI_STACK_HOME}/secrets/redis-url}"
# docs-search reads its declared sources from here when the operator has written the file.
if [[ -z "${AI_STACK_DOCS_SOURCES_FILE:-}" && -f "${AI_STACK_HOME}/docs-sources.toml" ]]; then
  export AI_STACK_DOCS_SOURCES_FILE="${AI_STACK_HOME}/docs-sources.toml"
fi
export AI_STACK_DOCS_AIDB_URL="${AI_STACK_DOCS_AIDB_URL:-http://127.0.0.1:${AI_STACK_AIDB_PORT:-8091}}"
export AI_STACK_MCP_AIDB_URL="${AI_STACK_MCP_AIDB_URL:-http://127.0.0.1:${AI_STACK_AIDB_PORT:-8091}}"
export AI_STACK_MCP_EMBEDDINGS_URL="${AI_STACK_MCP_EMBEDDINGS_URL:-http://127.0.0.1:${AI_STACK_EMBEDDINGS_PORT:-8081}}"
export AI_STACK_MCP_HYBRID_URL="${AI_STACK_MCP_HYBRID_URL:-http://127.0.0.1:${AI_STACK_HYBRID_PORT:-8092}}"
export AI_STACK_MCP_DOCS_URL="${AI_STACK_MCP_DOCS_URL:-http://127.0.0.1:${AI_STACK_DOCS_PORT:-8094}}"
export AI_STACK_AUTH_KEYS_FILE="${AI_STACK_AUTH_KEYS_FILE:-${AI_STACK_HOME}/api-keys.json}"
# nginx sends it to every service; the services refuse any other caller (no way around the gateway).
export AI_STACK_GATEWAY_SECRET_FILE="${AI_STACK_GATEWAY_SECRET_FILE:-${AI_STACK_HOME}/secrets/gateway-secret}"

# PostgreSQL refuses to run as root and its user cannot enter /root, so when we are root its
# data (and nginx's temp files, written by an unprivileged worker) live under a system dir
# keyed by AI_STACK_HOME; a symlink in AI_STACK_HOME points there.
system_dir() {
  local slug
  slug="$(printf '%s' "${AI_STACK_HOME}" | sha256sum | cut -c1-12)"
  printf '/var/lib/ai-stack/%s' "${slug}"
}

# The newest installed PostgreSQL major version (15 on Debian 12, 17 on Debian 13, …).
pg_bin() {
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "${dir}" ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql" 3
  printf '%s' "${dir}"
}

as_pg() {
  if [[ "${EUID}" -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_data_dir() {
  if [[ "${EUID}" -eq 0 ]]; then
    printf '%s/postgres' "$(system_dir)"
  else
    printf '%s/postgres' "${AI_STACK_HOME}"
  fi
}

# prepare_service_user: when root, the services and Redis run as an unprivileged user (created
# if needed) unless AI_STACK_RUN_AS_ROOT=1 or that user cannot read the checkout (a checkout
# under /root): then they run as root, with a warning.
prepare_service_user() {
  [[ "${EUID}" -eq 0 ]] || return 0
  if [[ "${AI_STACK_RUN_AS_ROOT:-0}" == "1" ]]; then
    warn "AI_STACK_RUN_AS_ROOT=1: the services and Redis run as root"
    return 0
  fi
  if ! id -u "${SERVICE_USER}" >/dev/null 2>&1; then
    info "creating the unprivileged user ${SERVICE_USER} for the services"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "${SERVICE_USER}"
  fi
  SERVICE_HOME="$(system_dir)/services"
  mkdir -p "${SERVICE_HOME}/secrets" "${SERVICE_HOME}/redis"
  chown "${SERVICE_USER}:${SERVICE_USER}" "${SERVICE_HOME}" "${SERVICE_HOME}/secrets" "${SERVICE_HOME}/redis"
  chmod 700 "${SERVICE_HOME}"
  REDIS_AS="${SERVICE_USER}"
  # The Python services need a venv and an interpreter that user can run (a pyenv one under
  # /root is out of reach): tried as that user before trusting it. When the checkout's venv is
  # out of reach, a venv of the system's Python 3.11 is built for them (once; it follows the
  # checkout through an editable install).
  if ! can_run_services "${SERVICE_PYTHON}"; then
    local system_python service_venv
    system_python="$(reachable_system_python)"
    service_venv="/var/lib/ai-stack/venv-$(printf '%s' "${REPO_ROOT}" | sha256sum | cut -c1-12)"
    if [[ -n "${system_python}" ]] && can_run_services "${system_python}" --bare; then
      (umask 022 && ensure_venv "${REPO_ROOT}" "${service_venv}" "${system_python}" "")
      chmod 755 "${service_venv}"
      can_run_services "${service_venv}/bin/python" && SERVICE_PYTHON="${service_venv}/bin/python"
    fi
    if [[ "${SERVICE_PYTHON}" == "${VENV}/bin/python" ]]; then
      warn "the services run as root: ${SERVICE_USER} cannot run ${VENV}'s interpreter, and no system Python 3.11 that it can run reads the checkout ${REPO_ROOT} (keep it out of /root)"
      return 0
    fi
    info "the services run on ${SERVICE_PYTHON} (${SERVICE_USER} cannot run ${VENV}'s interpreter)"
  fi
  # State the services own moves out of root's reach once (later starts find it there).
  if [[ -d "${AI_STACK_HOME}/aidb" && ! -L "${AI_STACK_HOME}/aidb" && ! -e "${SERVICE_HOME}/aidb" ]]; then
    mv "${AI_STACK_HOME}/aidb" "${SERVICE_HOME}/aidb"
  fi
  if [[ "${AI_STACK_AUTH_KEYS_FILE}" == "${AI_STACK_HOME}/api-keys.json" ]]; then
    if [[ -f "${AI_STACK_AUTH_KEYS_FILE}" && ! -L "${AI_STACK_AUTH_KEYS_FILE}" ]]; then
      mv "${AI_STACK_AUTH_KEYS_FILE}" "${SERVICE_HOME}/api-keys.json"
    fi
    [[ -f "${SERVICE_HOME}/api-keys.json" ]] || printf '{"keys": []}\n' >"${SERVICE_HOME}/api-keys.json"
    # `ai-stack keys` (as root) writes through this link; the verifier reads the file itself.
    ln -sfn "${SERVICE_HOME}/api-keys.json" "${AI_STACK_AUTH_KEYS_FILE}"
  fi
  chown -R "${SERVICE_USER}:${SERVICE_USER}" "${SERVICE_HOME}"
  RUN_AS="${SERVICE_USER}"
}

# can_run_services PYTHON [--bare]: whether the service user can run PYTHON and import every
# service's app with it (--bare: only that it can run PYTHON and read the checkout's sources).
can_run_services() {
  local python="$1" code
  code='import importlib
from ai_stack.registry import SERVICES
for service in SERVICES:
    importlib.import_module(service.module + ".app")'
  [[ "${2:-}" == "--bare" ]] && code="import os, sys; sys.exit(not os.access('${REPO_ROOT}/ai-stack/src/ai_stack/__init__.py', os.R_OK))"
  setpriv --reuid="${SERVICE_USER}" --regid="${SERVICE_USER}" --init-groups -- "${python}" -c "${code}" >/dev/null 2>&1
}

# reachable_system_python: a Python 3.11 outside any home directory (empty when there is none).
reachable_system_python() {
  local candidate
  for candidate in /usr/bin/python3.11 /usr/local/bin/python3.11; do
    [[ -x "${candidate}" ]] && { printf '%s' "${candidate}"; return 0; }
  done
  return 0
}

# share_service_files: the service user's copies of the secrets and sources file it reads, and
# the environment that points the services at them (only where the default path is in use).
share_service_files() {
  [[ -n "${RUN_AS}" ]] || return 0
  local name
  for name in redis-url postgres-password gateway-secret; do
    install -m 600 -o "${RUN_AS}" -g "${RUN_AS}" "${AI_STACK_HOME}/secrets/${name}" "${SERVICE_HOME}/secrets/${name}"
  done
  # HOME too: libraries that keep caches under ~ must not look in root's.
  SERVICE_ENV=(HOME="${SERVICE_HOME}" AI_STACK_HOME="${SERVICE_HOME}" AI_STACK_AUTH_KEYS_FILE="${SERVICE_HOME}/api-keys.json")
  local var
  for var in AI_STACK_EMBEDDINGS_REDIS_URL_FILE AI_STACK_AIDB_REDIS_URL_FILE AI_STACK_HYBRID_REDIS_URL_FILE \
    AI_STACK_DOCS_REDIS_URL_FILE; do
    [[ "${!var}" == "${AI_STACK_HOME}/secrets/redis-url" ]] && SERVICE_ENV+=("${var}=${SERVICE_HOME}/secrets/redis-url")
  done
  [[ "${AI_STACK_AIDB_POSTGRES_PASSWORD_FILE}" == "${AI_STACK_HOME}/secrets/postgres-password" ]] \
    && SERVICE_ENV+=("AI_STACK_AIDB_POSTGRES_PASSWORD_FILE=${SERVICE_HOME}/secrets/postgres-password")
  [[ "${AI_STACK_GATEWAY_SECRET_FILE}" == "${AI_STACK_HOME}/secrets/gateway-secret" ]] \
    && SERVICE_ENV+=("AI_STACK_GATEWAY_SECRET_FILE=${SERVICE_HOME}/secrets/gateway-secret")
  if [[ "${AI_STACK_DOCS_SOURCES_FILE:-}" == "${AI_STACK_HOME}/docs-sources.toml" ]]; then
    install -m 600 -o "${RUN_AS}" -g "${RUN_AS}" "${AI_STACK_DOCS_SOURCES_FILE}" "${SERVICE_HOME}/docs-sources.toml"
    SERVICE_ENV+=("AI_STACK_DOCS_SOURCES_FILE=${SERVICE_HOME}/docs-sources.toml")
  fi
  return 0
}

ensure_postgres() {
  local data socket_dir password_file PG_BIN
  PG_BIN="$(pg_bin)"
  data="$(pg_data_dir)"
  socket_dir="${data}/socket"
  password_file="${AI_STACK_HOME}/secrets/postgres-password"
  if [[ ! -f "${data}/PG_VERSION" ]]; then
    info "initialising PostgreSQL in ${data}"
    mkdir -p "${data}"
    [[ "${EUID}" -eq 0 ]] && chown postgres:postgres "${data}" && chmod 700 "${data}"
    as_pg "${PG_BIN}/initdb" -D "${data}" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >/dev/null
    as_pg mkdir -p "${socket_dir}"
  fi
  [[ "${EUID}" -eq 0 && ! -e "${AI_STACK_HOME}/postgres" ]] && ln -s "${data}" "${AI_STACK_HOME}/postgres"
  if as_pg "${PG_BIN}/pg_ctl" -D "${data}" status >/dev/null 2>&1; then
    info "PostgreSQL already running"
  else
    info "starting PostgreSQL on 127.0.0.1:${PG_PORT}"
    as_pg "${PG_BIN}/pg_ctl" -D "${data}" -l "${data}/postgresql.log" -w -t 60 \
      -o "-p ${PG_PORT} -k ${socket_dir} -c listen_addresses=127.0.0.1" start >/dev/null \
      || die_service postgres "${data}/postgresql.log"
  fi
  head -n 1 "${data}/postmaster.pid" >"${RUN_DIR}/postgres.pid"
  if [[ ! -s "${password_file}" ]]; then
    mkdir -p "$(dirname "${password_file}")"
    (umask 077 && openssl rand -hex 24 >"${password_file}")
  fi
  local password
  password="$(cat "${password_file}")"
  # The password travels on stdin (hex, so it needs no quoting), never on a command line.
  as_pg psql -h "${socket_dir}" -p "${PG_PORT}" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
    >/dev/null <<SQL
\\set pw '${password}'
SELECT format('CREATE ROLE ai_stack LOGIN PASSWORD %L', :'pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ai_stack') \\gexec
SELECT 'CREATE DATABASE ai_stack OWNER ai_stack'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'ai_stack') \\gexec
SQL
}

ensure_redis() {
  local secrets="${AI_STACK_HOME}/secrets" redis_dir="${AI_STACK_HOME}/redis"
  [[ -z "${REDIS_AS}" ]] || redis_dir="${SERVICE_HOME}/redis"
  local conf="${redis_dir}/redis.conf" pid_file="${RUN_DIR}/redis.pid" log_file="${AI_STACK_LOG_DIR}/redis.log"
  mkdir -p "${secrets}" "${redis_dir}"
  if [[ ! -s "${secrets}/redis-password" ]]; then
    (umask 077 && openssl rand -hex 24 >"${secrets}/redis-password")
  fi
  local password
  password="$(cat "${secrets}/redis-password")"
  # Services read the URL (with the password) from a 0600 file, never from argv or env.
  (umask 077 && printf 'redis://:%s@127.0.0.1:%s/0\n' "${password}" "${REDIS_PORT}" >"${secrets}/redis-url")
  if pid_alive "${pid_file}" redis-server; then
    info "Redis already running"
    return
  fi
  if [[ -n "${REDIS_AS}" ]]; then
    # Its files where its user may write; the pid file and log stay where --status looks.
    if [[ -d "${AI_STACK_HOME}/redis" && ! -e "${redis_dir}/appendonlydir" ]]; then
      cp -a "${AI_STACK_HOME}/redis/." "${redis_dir}/" 2>/dev/null || true
    fi
    chown -R "${REDIS_AS}:${REDIS_AS}" "${redis_dir}"
  fi
  info "starting Redis on 127.0.0.1:${REDIS_PORT}${REDIS_AS:+ as ${REDIS_AS}}"
  (umask 077 && cat >"${conf}" <<CONF
port ${REDIS_PORT}
bind 127.0.0.1
protected-mode yes
requirepass ${password}
dir ${redis_dir}
appendonly yes
daemonize no
CONF
)
  [[ -z "${REDIS_AS}" ]] || chown "${REDIS_AS}:${REDIS_AS}" "${conf}"
  check_port_free redis "${REDIS_PORT}"
  # In the foreground of a background job (not daemonized), so that $! is its pid and its log
  # goes to a file this script opened.
  local SETPRIV=()
  [[ -z "${REDIS_AS}" ]] || SETPRIV=(setpriv --reuid="${REDIS_AS}" --regid="${REDIS_AS}" --init-groups --)
  setsid nohup "${SETPRIV[@]}" redis-server "${conf}" >>"${log_file}" 2>&1 </dev/null &
  rm -f "${pid_file}.id"
  echo "$!" >"${pid_file}"
  local tries=0
  until REDISCLI_AUTH="${password}" redis-cli -p "${REDIS_PORT}" ping 2>/dev/null | grep -q PONG; do
    tries=$((tries + 1))
    ((tries > 50)) && die_service redis "${log_file}"
    sleep 0.2
  done
  check_port_owner redis "${REDIS_PORT}" "$(cat "${pid_file}")"
  record_pid_identity "${pid_file}"
}

ensure_gateway_secret() {
  if [[ ! -s "${AI_STACK_GATEWAY_SECRET_FILE}" ]]; then
    mkdir -p "$(dirname "${AI_STACK_GATEWAY_SECRET_FILE}")"
    (umask 077 && openssl rand -hex 32 >"${AI_STACK_GATEWAY_SECRET_FILE}")
  fi
}

ensure_tls() {
  mkdir -p "${TLS_DIR}"
  if [[ -n "${AI_STACK_TLS_CERT:-}" && -n "${AI_STACK_TLS_KEY:-}" ]]; then
    install -m 644 "${AI_STACK_TLS_CERT}" "${TLS_DIR}/cert.pem"
    install -m 600 "${AI_STACK_TLS_KEY}" "${TLS_DIR}/key.pem"
    return
  fi
  [[ -s "${TLS_DIR}/cert.pem" && -s "${TLS_DIR}/key.pem" ]] && return
  info "generating a self-signed certificate (${TLS_DIR}/cert.pem)"
  (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -days 825 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "nameConstraints=critical,permitted;DNS:localhost,permitted;IP:127.0.0.1/255.255.255.255,permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" \
    -keyout "${TLS_DIR}/key.pem" -out "${TLS_DIR}/cert.pem" 2>/dev/null)
  chmod 644 "${TLS_DIR}/cert.pem"
}

# list_services [--defaults]: the registry's Python services in start order, one
# "name module port health_path" a line (ports as their settings resolve them; --defaults: without
# reading the settings, for --stop). A bad setting ends the script here with ai-stack's exit 2.
list_services() {
  "${VENV}/bin/ai-stack" services --shell "$@"
}

start_python_service() {
  local name="$1" module="$2" port="$3" health_path="$4" preload="${5:--}" log_file pid_file
  log_file="${AI_STACK_LOG_DIR}/${name}.log"
  pid_file="${RUN_DIR}/${name}.pid"
  if pid_alive "${pid_file}" "${module}"; then
    info "${name} already running (pid $(cat "${pid_file}"))"
  else
    check_port_free "${name}" "${port}"
    info "starting ${name} on 127.0.0.1:${port}${RUN_AS:+ as ${RUN_AS}}"
    local SETPRIV=() ALLOCATOR_ENV=()
    [[ -z "${RUN_AS}" ]] || SETPRIV=(setpriv --reuid="${RUN_AS}" --regid="${RUN_AS}" --init-groups --)
    # The registry asks for jemalloc where it pays (embeddings, aidb); `-`: the system allocator.
    [[ "${preload}" == "-" ]] || ALLOCATOR_ENV=("LD_PRELOAD=${preload}")
    # The venv's interpreter (not the pyenv shim) so that $! is the service's own pid.
    setsid nohup env "${SERVICE_ENV[@]}" "${ALLOCATOR_ENV[@]}" "${SETPRIV[@]}" "${SERVICE_PYTHON}" -m "${module}" \
      >>"${log_file}" 2>&1 </dev/null &
    rm -f "${pid_file}.id"
    echo "$!" >"${pid_file}"
  fi
  wait_for_url "http://127.0.0.1:${port}${health_path}" "${TIMEOUT}" 1 "" "$(cat "${pid_file}")" \
    || die_service "${name}" "${log_file}"
  # The answer counts only if it came from the process started here.
  check_port_owner "${name}" "${port}" "$(cat "${pid_file}")"
  # Recorded once it serves: by then setsid and nohup have exec'd into the interpreter.
  [[ -s "${pid_file}.id" ]] || record_pid_identity "${pid_file}"
}

# Each service is started and gated on its health before the next, so a later one (aidb) finds
# the earlier ones (embeddings) ready.
start_python_services() {
  local listing line name module port health_path preload
  listing="$(list_services)"
  local -a lines
  mapfile -t lines <<<"${listing}"
  for line in "${lines[@]}"; do
    [[ -n "${line}" ]] || continue
    read -r name module port health_path preload <<<"${line}"
    start_python_service "${name}" "${module}" "${port}" "${health_path}" "${preload}"
  done
}

nginx_temp_dir() {
  if [[ "${EUID}" -eq 0 ]]; then
    printf '%s/nginx-temp' "$(system_dir)"
  else
    printf '%s/nginx/temp' "${AI_STACK_HOME}"
  fi
}

start_gateway() {
  local conf="${AI_STACK_HOME}/nginx/nginx.conf" temp_dir new_conf
  temp_dir="$(nginx_temp_dir)"
  mkdir -p "${temp_dir}" "$(dirname "${conf}")"
  local render_args=(--out "${conf}.new" --temp-dir "${temp_dir}" --listen 127.0.0.1)
  # ::1 only when the loopback really has it (the file exists but is empty with IPv6 disabled).
  grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null && render_args+=(--listen ::1)
  if [[ "${EUID}" -eq 0 ]]; then
    chown www-data "${temp_dir}"
    render_args+=(--user www-data)
  fi
  if observability_on; then
    render_args+=(--status-port "${AI_STACK_OBSERVABILITY_GATEWAY_STATUS_PORT:-8087}")
  fi
  "${VENV}/bin/ai-stack" gateway render "${render_args[@]}"
  new_conf="${conf}.new"
  "${NGINX}" -t -q -c "${new_conf}" -e "${AI_STACK_LOG_DIR}/nginx-error.log" \
    || die_service gateway "${AI_STACK_LOG_DIR}/nginx-error.log"
  if pid_alive "${RUN_DIR}/nginx.pid" nginx; then
    if cmp -s "${new_conf}" "${conf}"; then
      info "gateway already running, configuration unchanged"
      rm -f "${new_conf}"
    else
      info "gateway configuration changed: reloading"
      mv "${new_conf}" "${conf}"
      "${NGINX}" -c "${conf}" -e "${AI_STACK_LOG_DIR}/nginx-error.log" -s reload
    fi
  else
    mv "${new_conf}" "${conf}"
    check_port_free gateway "${HTTPS_PORT}"
    info "starting the gateway on https://127.0.0.1:${HTTPS_PORT}"
    "${NGINX}" -c "${conf}" -e "${AI_STACK_LOG_DIR}/nginx-error.log"
    rm -f "${RUN_DIR}/nginx.pid.id"
  fi
  wait_for_url "https://127.0.0.1:${HTTPS_PORT}/health" 30 1 "${TLS_DIR}/cert.pem" \
    || die_service gateway "${AI_STACK_LOG_DIR}/nginx-error.log"
  check_port_owner gateway "${HTTPS_PORT}" "$(cat "${RUN_DIR}/nginx.pid")"
  [[ -s "${RUN_DIR}/nginx.pid.id" ]] || record_pid_identity "${RUN_DIR}/nginx.pid"
}

observability_on() {
  [[ "${OBSERVABILITY}" == "1" || "${OBSERVABILITY,,}" == "true" ]]
}

# observability_dir: the monitoring files, where the user the exporters run as can read them.
observability_dir() {
  if [[ -n "${RUN_AS}" ]]; then
    printf '%s/observability' "${SERVICE_HOME}"
  else
    printf '%s/observability' "${AI_STACK_HOME}"
  fi
}

# daemon_command NAME PORT DIR: sets DAEMON_CMD (argv after the executable) and DAEMON_ENV for
# one of Prometheus's processes. Secrets come from 0600 files, never from argv.
daemon_command() {
  local name="$1" port="$2" dir="$3" listen="127.0.0.1:$2"
  DAEMON_ENV=()
  case "${name}" in
    node-exporter)
      # Only the file systems (the data volume's free space); overlay stays in, for containers.
      DAEMON_CMD=(--web.listen-address="${listen}" --collector.disable-defaults --collector.filesystem
        "--collector.filesystem.fs-types-exclude=^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$")
      ;;
    postgres-exporter)
      DAEMON_CMD=(--web.listen-address="${listen}" --disable-settings-metrics)
      DAEMON_ENV=("DATA_SOURCE_URI=127.0.0.1:${PG_PORT}/ai_stack?sslmode=disable" "DATA_SOURCE_USER=ai_stack"
        "DATA_SOURCE_PASS_FILE=${dir}/postgres-password")
      ;;
    redis-exporter)
      DAEMON_CMD=(-web.listen-address "${listen}" -redis.addr "redis://127.0.0.1:${REDIS_PORT}"
        -redis.password-file "${dir}/redis-passwords.json")
      ;;
    nginx-exporter)
      DAEMON_CMD=(-web.listen-address "${listen}"
        -nginx.scrape-uri "http://127.0.0.1:${AI_STACK_OBSERVABILITY_GATEWAY_STATUS_PORT:-8087}/stub_status")
      ;;
    blackbox-exporter)
      DAEMON_CMD=(--web.listen-address="${listen}" --config.file="${dir}/config/blackbox.yml")
      ;;
    prometheus)
      DAEMON_CMD=(--web.listen-address="${listen}" --config.file="${dir}/config/prometheus.yml"
        --storage.tsdb.path="${dir}/prometheus-data" --storage.tsdb.retention.time=15d
        --web.enable-lifecycle)
      ;;
    *) die "unknown observability daemon ${name}" ;;
  esac
}

start_daemon() {
  local name="$1" executable="$2" port="$3" health_path="$4" dir="$5"
  local pid_file="${RUN_DIR}/${name}.pid" log_file="${AI_STACK_LOG_DIR}/${name}.log"
  if pid_alive "${pid_file}" "${executable}"; then
    info "${name} already running (pid $(cat "${pid_file}"))"
    # Prometheus and the blackbox exporter reread their configuration on SIGHUP.
    [[ "${name}" == prometheus || "${name}" == blackbox-exporter ]] && kill -HUP "$(cat "${pid_file}")"
  else
    check_port_free "${name}" "${port}"
    daemon_command "${name}" "${port}" "${dir}"
    info "starting ${name} on 127.0.0.1:${port}${RUN_AS:+ as ${RUN_AS}}"
    local SETPRIV=()
    [[ -z "${RUN_AS}" ]] || SETPRIV=(setpriv --reuid="${RUN_AS}" --regid="${RUN_AS}" --init-groups --)
    setsid nohup env "${DAEMON_ENV[@]}" "${SETPRIV[@]}" "$(command -v "${executable}")" "${DAEMON_CMD[@]}" \
      >>"${log_file}" 2>&1 </dev/null &
    rm -f "${pid_file}.id"
    echo "$!" >"${pid_file}"
  fi
  wait_for_url "http://127.0.0.1:${port}${health_path}" 60 1 "" "$(cat "${pid_file}")" \
    || die_service "${name}" "${log_file}"
  check_port_owner "${name}" "${port}" "$(cat "${pid_file}")"
  [[ -s "${pid_file}.id" ]] || record_pid_identity "${pid_file}"
}

# start_observability: renders the monitoring configuration from the service registry and starts
# the exporters, then Prometheus, each gated on its health like the services.
start_observability() {
  observability_on || return 0
  ensure_system_packages "${OBSERVABILITY_PACKAGES[@]}"
  local dir secret_file
  dir="$(observability_dir)"
  secret_file="${AI_STACK_GATEWAY_SECRET_FILE}"
  [[ -z "${RUN_AS}" ]] || secret_file="${SERVICE_HOME}/secrets/gateway-secret"
  mkdir -p "${dir}/prometheus-data"
  install -m 644 "${TLS_DIR}/cert.pem" "${dir}/gateway-cert.pem"
  install -m 600 "${AI_STACK_HOME}/secrets/postgres-password" "${dir}/postgres-password"
  (umask 077 && printf '{"redis://127.0.0.1:%s": "%s"}\n' "${REDIS_PORT}" \
    "$(cat "${AI_STACK_HOME}/secrets/redis-password")" >"${dir}/redis-passwords.json")
  "${VENV}/bin/ai-stack" observability render --out "${dir}/config" \
    --gateway-secret-file "${secret_file}" --tls-cert "${dir}/gateway-cert.pem" >/dev/null
  promtool check config "${dir}/config/prometheus.yml" >/dev/null \
    || die "the rendered Prometheus configuration does not pass promtool"
  [[ -z "${RUN_AS}" ]] || chown -R "${RUN_AS}:${RUN_AS}" "${dir}"
  local listing line name executable port health_path
  listing="$("${VENV}/bin/ai-stack" observability daemons --shell)"
  local -a lines
  mapfile -t lines <<<"${listing}"
  for line in "${lines[@]}"; do
    [[ -n "${line}" ]] || continue
    read -r name executable port health_path <<<"${line}"
    start_daemon "${name}" "${executable}" "${port}" "${health_path}" "${dir}"
  done
}

stop_observability() {
  [[ -x "${VENV}/bin/ai-stack" ]] || return 0
  local listing name executable i
  listing="$("${VENV}/bin/ai-stack" observability daemons --shell)"
  local -a lines
  mapfile -t lines <<<"${listing}"
  for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
    [[ -n "${lines[i]}" ]] || continue
    read -r name executable _ <<<"${lines[i]}"
    stop_pid_file "${name}" "${executable}"
  done
}

stop_pid_file() {
  local name="$1" pattern="$2" pid_file="${RUN_DIR}/$1.pid" pid
  pid_alive "${pid_file}" "${pattern}" || { rm -f "${pid_file}" "${pid_file}.id"; return 0; }
  pid="$(cat "${pid_file}")"
  info "stopping ${name} (pid ${pid})"
  kill -TERM "${pid}" 2>/dev/null || true
  local tries=0 state
  # Done when it is gone or a zombie (it has exited; PID 1 here may reap it only later).
  while kill -0 "${pid}" 2>/dev/null && state="$(proc_stat "${pid}")" && [[ "${state:0:1}" != "Z" ]]; do
    tries=$((tries + 1))
    if ((tries > 150)); then
      warn "${name} did not stop in 15 s; killing it"
      kill -KILL "${pid}" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  rm -f "${pid_file}" "${pid_file}.id"
}

stop_python_services() {
  if [[ ! -x "${VENV}/bin/ai-stack" ]]; then
    warn "no ${VENV}/bin/ai-stack: no Python service was started from this checkout"
    return 0
  fi
  local listing name module _ i
  listing="$(list_services --defaults)"
  local -a lines
  mapfile -t lines <<<"${listing}"
  for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
    [[ -n "${lines[i]}" ]] || continue
    read -r name module _ <<<"${lines[i]}"
    stop_pid_file "${name}" "${module}"
  done
}

stop_stack() {
  stop_observability
  stop_pid_file nginx nginx
  stop_python_services
  stop_pid_file redis redis-server
  local data PG_BIN
  PG_BIN="$(pg_bin)"
  data="$(pg_data_dir)"
  if [[ -f "${data}/PG_VERSION" ]] && as_pg "${PG_BIN}/pg_ctl" -D "${data}" status >/dev/null 2>&1; then
    info "stopping PostgreSQL"
    as_pg "${PG_BIN}/pg_ctl" -D "${data}" -m fast -w stop >/dev/null
  fi
  rm -f "${AI_STACK_HOME}/mode"
  info "stopped"
}

show_status() {
  if [[ ! -x "${VENV}/bin/ai-stack" ]]; then
    warn "the stack was never installed (no ${VENV})"
    return 5
  fi
  "${VENV}/bin/ai-stack" status || return 5
}

start_stack() {
  ensure_system_packages postgresql redis-server nginx libnginx-mod-http-js openssl curl iproute2 libjemalloc2
  # The venv holds no secret, and the services' user must read it: not under this script's umask.
  (umask 022 && ensure_venv "${REPO_ROOT}" "${VENV}")
  mkdir -p "${RUN_DIR}" "${AI_STACK_LOG_DIR}" "${AI_STACK_HOME}/secrets"
  chmod 700 "${AI_STACK_HOME}" "${RUN_DIR}" "${AI_STACK_LOG_DIR}" "${AI_STACK_HOME}/secrets"
  if [[ "${EUID}" -eq 0 ]]; then
    # Traversable (not listable) by postgres and nginx's worker, which own their subdirectories.
    mkdir -p "$(system_dir)"
    chmod 711 /var/lib/ai-stack "$(system_dir)"
  fi
  ensure_postgres
  prepare_service_user
  ensure_redis
  ensure_tls
  ensure_gateway_secret
  [[ -f "${AI_STACK_AUTH_KEYS_FILE}" ]] || (umask 077 && printf '{"keys": []}\n' >"${AI_STACK_AUTH_KEYS_FILE}")
  share_service_files
  start_python_services
  start_gateway
  start_observability
  printf 'native\n' >"${AI_STACK_HOME}/mode"
  "${VENV}/bin/ai-stack" status
  info "create an API key with: ${VENV}/bin/ai-stack keys create --name NAME"
}

# resolve_mode REQUESTED: native or podman. auto keeps the mode a running stack was started in
# (AI_STACK_HOME/mode), so installing Podman later never strands a native stack.
resolve_mode() {
  case "$1" in
    native | podman) printf '%s' "$1" ;;
    auto)
      if [[ -f "${AI_STACK_HOME}/mode" ]]; then
        cat "${AI_STACK_HOME}/mode"
      elif command -v podman >/dev/null 2>&1 && podman_ready; then
        printf 'podman'
      else
        printf 'native'
      fi
      ;;
    *) die_usage "AI_STACK_MODE=$1: expected native, podman or auto" ;;
  esac
}

main() {
  local action="start"
  case "${1:-}" in
    "") ;;
    --status) action="status" ;;
    --stop) action="stop" ;;
    -h | --help) sed -n '2,/^set -E/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; return 0 ;;
    *) die_usage "unknown argument: $1 (expected --status, --stop or nothing)" ;;
  esac
  local mode
  mode="$(resolve_mode "${REQUESTED_MODE}")"
  mkdir -p "${AI_STACK_LOG_DIR}"
  start_logging "${AI_STACK_LOG_DIR}/ai-stack-startup-$(date +%Y%m%d-%H%M%S).log"
  case "${mode}:${action}" in
    native:start) start_stack ;;
    native:status) show_status ;;
    native:stop) stop_stack ;;
    podman:start) start_podman_stack ;;
    podman:status) show_podman_status ;;
    podman:stop) stop_podman_stack ;;
  esac
}

main "$@"
