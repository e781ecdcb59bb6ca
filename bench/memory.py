"""Resident memory of a process, sampled from /proc while a benchmark runs."""

from __future__ import annotations

import threading
from pathlib import Path

from ai_stack.core.metrics import memory_bytes

MIB = 1024 * 1024


def _memory_mib(pid: int) -> tuple[float, float]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0, 0.0
    resident, anonymous = memory_bytes(status)
    return resident / MIB, anonymous / MIB


def rss_mib(pid: int) -> float:
    """Resident set size of `pid` in MiB (0 once the process is gone)."""
    return _memory_mib(pid)[0]


def anon_rss_mib(pid: int) -> float:
    """The anonymous part of `pid`'s RSS in MiB: its heap, not the pages of files it maps (a
    vector engine maps its segment files, which the kernel can drop and read again)."""
    return _memory_mib(pid)[1]


class RssSampler:
    """Samples a process's RSS every `interval_s` in a thread; use as a context manager."""

    def __init__(self, pid: int, interval_s: float = 0.1) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(rss_mib(self.pid))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(rss_mib(self.pid))

    @property
    def peak(self) -> float:
        return max(self.samples, default=0.0)

    @property
    def last(self) -> float:
        return self.samples[-1] if self.samples else 0.0
