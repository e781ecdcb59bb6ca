# shellcheck shell=bash
# lib.sh — helpers shared by the ai-stack scripts (sourced, never run).
#
# Exit codes used here: 2 usage, 3 missing system package, 4 service failed.

info() { printf '%s [info] %s\n' "$(date -u +%FT%TZ)" "$*"; }
warn() { printf '%s [warn] %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }
die() {
  printf '%s [error] %s\n' "$(date -u +%FT%TZ)" "$*" >&2
  exit "${2:-1}"
}
die_usage() { die "$1" 2; }

on_error() {
  local status=$? line="$1" command="$2"
  printf '%s [error] %s:%s: "%s" failed with status %s\n' \
    "$(date -u +%FT%TZ)" "${BASH_SOURCE[1]:-$0}" "${line}" "${command}" "${status}" >&2
}
trap 'on_error "${LINENO}" "${BASH_COMMAND}"' ERR

# Mirrors everything the script prints into a log file as well.
start_logging() {
  local log_file="$1"
  exec > >(tee -a "${log_file}") 2>&1
  info "logging to ${log_file}"
}

# Names the failing service, shows the tail of its log and exits 4.
die_service() {
  local name="$1" log_file="$2"
  warn "${name} did not become healthy; last lines of ${log_file}:"
  tail -n 30 "${log_file}" >&2 2>/dev/null || true
  exit 4
}

# pid_identity PID: "<start time in clock ticks since boot> <executable>", which together name
# one process for its whole life (a pid number alone is reused).
# proc_stat PID: /proc/PID/stat from field 3 (state) on; the command in field 2 may hold spaces
# and parentheses, so it is cut after its last ')'.
proc_stat() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  printf '%s' "${stat##*) }"
}

pid_identity() {
  local pid="$1" stat exe
  stat="$(proc_stat "${pid}")" || return 1
  exe="$(readlink "/proc/${pid}/exe" 2>/dev/null)" || exe="?"
  # shellcheck disable=SC2086
  set -- ${stat}
  # Field 22 (the start time) is the 20th from field 3.
  printf '%s %s' "${20}" "${exe}"
}

# record_pid_identity PID_FILE: remembers which process the pid file names (PID_FILE.id).
record_pid_identity() {
  local pid_file="$1" pid
  pid="$(cat "${pid_file}" 2>/dev/null)" || return 0
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 0
  pid_identity "${pid}" >"${pid_file}.id" 2>/dev/null || rm -f "${pid_file}.id"
}

# pid_alive PID_FILE PATTERN: the pid is running (not a zombie), its command line matches
# PATTERN, and it is the very process recorded when it started (start time and executable), so
# a stale pid file (after a reboot the number may belong to anything) is never trusted.
pid_alive() {
  local pid_file="$1" pattern="$2" pid state
  [[ -s "${pid_file}" ]] || return 1
  pid="$(cat "${pid_file}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  kill -0 "${pid}" 2>/dev/null || return 1
  state="$(proc_stat "${pid}")" || return 1
  [[ "${state:0:1}" != "Z" ]] || return 1
  tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -q -- "${pattern}" || return 1
  if [[ -s "${pid_file}.id" ]]; then
    [[ "$(pid_identity "${pid}")" == "$(cat "${pid_file}.id")" ]] || return 1
  fi
}

# port_owners PORT: the pids listening on TCP PORT, space-separated ("" when none; "?" for a
# listener whose process is not ours to see).
port_owners() {
  local port="$1" lines
  lines="$(ss -Htlnp "sport = :${port}" 2>/dev/null)"
  [[ -n "${lines}" ]] || return 0
  if [[ "${lines}" == *pid=* ]]; then
    grep -o 'pid=[0-9]*' <<<"${lines}" | cut -d= -f2 | sort -u | tr '\n' ' '
  else
    printf '?'
  fi
}

# describe_pid PID: "PID (command line)", or that it is not ours to see.
describe_pid() {
  printf '%s (%s)' "$1" "$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || echo 'not ours to see')"
}

# check_port_owner NAME PORT PID: dies unless PID itself listens on PORT. A health check
# answered by another process (one that bound the port first) must never be trusted.
check_port_owner() {
  local name="$1" port="$2" pid="$3" owners
  owners="$(port_owners "${port}")"
  [[ " ${owners} " == *" ${pid} "* ]] && return 0
  [[ -n "${owners}" ]] || die "${name}: nothing listens on port ${port}, although pid ${pid} runs" 4
  die "${name}: port ${port} belongs to pid $(describe_pid "${owners%% *}"), not to the ${name} process ${pid} this script started; stop that process or choose another port" 4
}

# check_port_free NAME PORT: dies when something already listens on PORT (before starting).
check_port_free() {
  local name="$1" port="$2" owners
  owners="$(port_owners "${port}")"
  [[ -z "${owners}" ]] && return 0
  die "${name}: port ${port} is already taken by pid $(describe_pid "${owners%% *}"); stop it or set another port" 4
}

# wait_for_url URL TIMEOUT_S DELAY_S [CAFILE] [PID]: polls until URL answers 2xx; each try has a
# 2 s timeout, the pause between tries doubles from DELAY_S up to 5 s, and a dead PID ends it.
wait_for_url() {
  local url="$1" timeout_s="$2" delay="$3" cafile="${4:-}" pid="${5:-}" deadline
  deadline=$((SECONDS + timeout_s))
  local curl_args=(-fsS -o /dev/null --max-time 2)
  [[ -n "${cafile}" ]] && curl_args+=(--cacert "${cafile}")
  until curl "${curl_args[@]}" "${url}" 2>/dev/null; do
    ((SECONDS >= deadline)) && return 1
    if [[ -n "${pid}" ]] && ! kill -0 "${pid}" 2>/dev/null; then
      return 1
    fi
    sleep "${delay}"
    delay=$((delay * 2 > 5 ? 5 : delay * 2))
  done
}

# Installs missing Debian packages when root with apt, otherwise prints the command (exit 3).
ensure_system_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q "install ok installed" || missing+=("${pkg}")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ "${AI_STACK_SKIP_INSTALL:-0}" == "1" ]]; then
    die "missing packages: ${missing[*]} (AI_STACK_SKIP_INSTALL=1)" 3
  fi
  if [[ "${EUID}" -ne 0 ]] || ! command -v apt-get >/dev/null; then
    die "missing packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" 3
  fi
  info "installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts some services on install; the stack runs its own instances on its own ports.
  local unit
  for unit in postgresql redis-server nginx prometheus; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "${unit}" 2>/dev/null; then
      info "note: the system ${unit} service is running too; ai-stack uses its own instance"
    fi
  done
}

# ensure_venv REPO_ROOT VENV [PYTHON [EXTRAS]]: creates the venv (from PYTHON, default the
# python3.11 on PATH) and installs the project (with EXTRAS, default "[test]") when it changed.
ensure_venv() {
  local repo="$1" venv="$2" python="${3:-}" extras="${4-[test]}" stamp wanted
  stamp="${venv}/.ai-stack-installed"
  wanted="$(sha256sum <"${repo}/ai-stack/pyproject.toml" | cut -c1-64)"
  [[ "${extras}" == "[test]" ]] || wanted+=" ${extras:-no extras}"
  if [[ -x "${venv}/bin/python" && -f "${stamp}" && "$(cat "${stamp}")" == "${wanted}" ]]; then
    return 0
  fi
  [[ "${AI_STACK_SKIP_INSTALL:-0}" == "1" ]] && die "the venv ${venv} is missing or stale" 3
  if [[ ! -x "${venv}/bin/python" ]]; then
    [[ -n "${python}" ]] || python="$(command -v python3.11 || command -v python3)"
    "${python}" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
      || die "ai-stack needs Python 3.11 (the torch 2.13.0 wheel); found $("${python}" --version)" 3
    info "creating the virtualenv ${venv}"
    "${python}" -c 'import ensurepip' 2>/dev/null || ensure_system_packages python3-venv
    "${python}" -m venv "${venv}" || die "python -m venv failed (on Debian: apt-get install python3-venv)" 3
    "${venv}/bin/pip" install -q --progress-bar off --upgrade pip
  fi
  info "installing ai-stack into ${venv} (first run takes a few minutes)"
  # torch first and pinned, so nothing can pull a multi-GB CUDA build instead.
  "${venv}/bin/pip" install -q --progress-bar off torch==2.13.0
  "${venv}/bin/pip" install -q --progress-bar off -e "${repo}/ai-stack${extras}"
  printf '%s' "${wanted}" >"${stamp}"
}
