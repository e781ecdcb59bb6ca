"""Real backing processes for tests: Redis, nginx and ai-stack services on free ports."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_stack.registry import SERVICES

REPO_ROOT = Path(__file__).resolve().parents[2]


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


_PICKED: set[int] = set()


def free_port() -> int:
    """A TCP port nothing listens on right now, below the kernel's ephemeral range: a port the
    kernel hands out (bind to 0) can be taken by any outgoing connection before the test binds
    it, which made tests fail with "address already in use"."""
    low, _ = _ephemeral_range()
    for _ in range(200):
        port = random.randrange(max(1024, low - 12_000), low)
        if port in _PICKED:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PICKED.add(port)
        return port
    raise RuntimeError("no free TCP port below the ephemeral range")


def wait_until(predicate: object, timeout_s: float, what: str) -> None:
    """Polls `predicate()` until it is true or raises TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout_s} s")


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def world_writable_dir(prefix: str) -> Path:
    """A directory outside pytest's 0700 tree, usable by nginx's unprivileged workers."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o1777)
    return path


@dataclass
class RedisServer:
    """A redis-server this test session owns; stop() and start() simulate an outage."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; run scripts/test.sh")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), 10, "redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@dataclass
class ServiceProcess:
    """`python -m ai_stack.<module>` with its env; its log goes to a file."""

    module: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, ready_timeout_s: float = 120) -> None:
        env = {**os.environ, **self.env}
        # The allocator the startup script would give it (jemalloc for embeddings, when installed).
        registered = [s for s in SERVICES if s.module == f"ai_stack.{self.module}"]
        preload = registered[0].preload() if registered else None
        if preload and "LD_PRELOAD" not in self.env:
            env["LD_PRELOAD"] = preload
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"ai_stack.{self.module}"], env=env, stdout=log, stderr=log
            )
        url = f"http://127.0.0.1:{self.port}/health/ready"
        wait_until(lambda: _http_ok(url) or self._died(), ready_timeout_s, self.module)
        if self._died():
            raise RuntimeError(f"{self.module} exited:\n{self.log_path.read_text()[-3000:]}")

    def _died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@dataclass
class NginxServer:
    """nginx with a configuration file rendered by the test."""

    conf: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, https_port: int) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        check = subprocess.run(
            [binary, "-t", "-q", "-c", str(self.conf), "-e", "/dev/stderr"], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t failed: {check.stderr}")
        self.process = subprocess.Popen(
            [binary, "-c", str(self.conf), "-e", "/dev/stderr", "-g", "daemon off;"],
            stderr=subprocess.PIPE,
        )
        wait_until(lambda: port_open(https_port), 10, "nginx")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster (trust auth on 127.0.0.1), run as `postgres` when root."""

    port: int = field(default_factory=free_port)
    datadir: Path | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)

    def start(self) -> None:
        if self.datadir is None:
            # pytest's tmp tree is 0700 root; the postgres user needs its own reachable dir.
            base = Path(tempfile.mkdtemp(prefix="ai-stack-pg-", dir="/tmp"))
            self.datadir = base / "data"
            if os.geteuid() == 0:
                shutil.chown(base, "postgres", "postgres")
            subprocess.run(
                self._as_postgres(
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ),
                check=True,
                capture_output=True,
            )
        subprocess.run(
            self._as_postgres(
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-w",
                "-l",
                str(self.datadir.parent / "pg.log"),
                "-o",
                f"-p {self.port} -k {self.datadir.parent} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c full_page_writes=off",
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        if self.datadir is not None:
            subprocess.run(
                self._as_postgres(
                    str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"
                ),
                capture_output=True,
            )

    def destroy(self) -> None:
        self.stop()
        if self.datadir is not None:
            shutil.rmtree(self.datadir.parent, ignore_errors=True)


async def close_within(server: Any, timeout_s: float = 60.0) -> None:
    """Closes an in-process test server, bounded: a shutdown that hangs is logged with its name
    instead of stalling the suite until pytest-timeout (the test's assertions already ran)."""
    try:
        await asyncio.wait_for(server.close(), timeout_s)
    except TimeoutError:
        logging.getLogger("tests.harness").error("%r did not close within %s s", server, timeout_s)
