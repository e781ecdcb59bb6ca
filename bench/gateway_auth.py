"""The gateway's authentication toll: a trivial authenticated route direct vs through nginx.

Run: .venv/bin/python -m bench.gateway_auth [--rounds 4] [--seconds 8] [--connections 16]

Starts Redis, the key verifier, the embeddings service and nginx (the same configuration the
startup script renders, gateway secret included) and measures `GET /info` of the embeddings
service with wrk, in alternating rounds:

- direct:   http://127.0.0.1:<embeddings>/info, with the gateway secret (as nginx calls it);
- gateway:  https://127.0.0.1:<gateway>/embeddings/info with an API key: TLS, the key check and
            its scopes, the proxy hop.

Prints requests/s and mean latency per round, the median ratio gateway/direct (target >= 0.9)
and the added mean latency (target <= 0.5 ms). Needs wrk (`apt-get install wrk`). Run it on an
otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import subprocess
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.embeddings_throughput import start_stack

_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_LATENCY = re.compile(r"Latency\s+([\d.]+)(us|ms|s)\b")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_PERCENTILE = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)


def wrk(url: str, header: str, seconds: int, connections: int) -> tuple[float, float, float, float]:
    """(requests/s, mean, p50 and p99 latency in ms) of one wrk run."""
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", header, url],
        capture_output=True,
        text=True,
        check=True,
    )
    rate = _RATE.search(result.stdout)
    latency = _LATENCY.search(result.stdout)
    if rate is None or latency is None or "Non-2xx" in result.stdout:
        raise RuntimeError(f"wrk did not measure successful requests:\n{result.stdout}")
    percentiles = {
        m.group(1): float(m.group(2)) * _UNIT_MS[m.group(3)] for m in _PERCENTILE.finditer(result.stdout)
    }
    mean = float(latency.group(1)) * _UNIT_MS[latency.group(2)]
    return float(rate.group(1)), mean, percentiles["50"], percentiles["99"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--auth-cache-s",
        type=int,
        default=1,
        help="seconds nginx reuses the verifier's answer (0: ask it on every request, as before the cache)",
    )
    parser.add_argument(
        "--keyless",
        action="store_true",
        help="measure the key-free /health route instead (TLS and the proxy hop without any key check)",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    console = Console(width=120)
    secret = secrets.token_hex(32)
    with tempfile.TemporaryDirectory(prefix="ai-stack-bench-") as tmp:
        processes, base, direct_base, key, _ = start_stack(
            Path(tmp), gateway_secret=secret, auth_cache_s=args.auth_cache_s
        )
        try:
            path = "health" if args.keyless else "info"
            direct = (f"{direct_base}/{path}", f"X-AI-Gateway-Secret: {secret}")
            gateway = (f"{base}/embeddings/{path}", f"X-API-Key: {key}")
            for url, header in (direct, gateway):
                wrk(url, header, 2, args.connections)  # warm-up
            rows = []
            for round_no in range(args.rounds):
                rows.append(
                    (
                        round_no + 1,
                        *wrk(*direct, args.seconds, args.connections),
                        *wrk(*gateway, args.seconds, args.connections),
                    )
                )
        finally:
            for process in processes:
                process.stop()  # type: ignore[attr-defined]
    route = "/health (no key)" if args.keyless else "/info"
    shape = f"wrk -t2 -c{args.connections} -d{args.seconds}s"
    table = Table(title=f"GET {route}, auth cache {args.auth_cache_s} s, {shape}, alternating rounds")
    columns = (
        "round",
        "direct req/s",
        "mean / p50 / p99 ms",
        "gateway req/s",
        "mean / p50 / p99 ms",
        "ratio",
        "added p50 ms",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for round_no, d_rate, d_mean, d_p50, d_p99, g_rate, g_mean, g_p50, g_p99 in rows:
        table.add_row(
            str(round_no),
            f"{d_rate:.0f}",
            f"{d_mean:.2f} / {d_p50:.2f} / {d_p99:.2f}",
            f"{g_rate:.0f}",
            f"{g_mean:.2f} / {g_p50:.2f} / {g_p99:.2f}",
            f"{g_rate / d_rate:.3f}",
            f"{g_p50 - d_p50:+.2f}",
        )
    console.print(table)
    ratio = statistics.median(r[5] / r[1] for r in rows)
    added_p50 = statistics.median(r[7] - r[3] for r in rows)
    added_mean = statistics.median(r[6] - r[2] for r in rows)
    console.print(
        f"median gateway/direct {ratio:.3f} (target >= 0.9); median added latency: p50 {added_p50:+.2f} ms,"
        f" mean {added_mean:+.2f} ms (target <= 0.5)"
    )


if __name__ == "__main__":
    main()
