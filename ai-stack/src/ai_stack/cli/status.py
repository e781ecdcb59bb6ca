"""`ai-stack status`: a table of the stack's processes and their health."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ai_stack.cli.stack import ServiceEntry, StackSettings, service_entries


def _pid(run_dir: Path, pid_file: str, command: str) -> int | None:
    """The pid in `pid_file` if that process runs and is what we started (pids get reused)."""
    try:
        pid = int((run_dir / pid_file).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if command in cmdline else None


def _health(url: str, cafile: Path) -> str:
    if not url:
        return "-"
    context = ssl.create_default_context(cafile=str(cafile)) if cafile.exists() else None
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return "healthy" if response.status == 200 else f"http {response.status}"
    except urllib.error.HTTPError as exc:
        return "loading" if exc.code == 503 else f"http {exc.code}"
    except (urllib.error.URLError, OSError):
        return "unreachable"


def collect(stack: StackSettings) -> list[tuple[ServiceEntry, int | None, str]]:
    """(entry, pid or None, state) for every managed process."""
    rows = []
    for entry in service_entries(stack):
        pid = _pid(stack.run_dir, entry.pid_file, entry.command)
        state = _health(entry.health_url, stack.tls_dir / "cert.pem") if pid else "stopped"
        if pid and not entry.health_url:
            state = "running"
        rows.append((entry, pid, state))
    return rows


def print_status(stack: StackSettings) -> int:
    """Prints the table; returns 0 when every process is up and healthy, else 1."""
    rows = collect(stack)
    table = Table(title="ai-stack")
    for column in ("service", "url", "state", "pid"):
        table.add_column(column)
    for entry, pid, state in rows:
        colour = "green" if state in {"healthy", "running"} else "red"
        table.add_row(entry.name, entry.health_url or "-", f"[{colour}]{state}[/]", str(pid or "-"))
    Console(width=120).print(table)
    return 0 if all(state in {"healthy", "running"} for _, _, state in rows) else 1
