"""A self-signed certificate for test gateways, made the way the startup script makes it."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_self_signed(directory: Path) -> tuple[Path, Path]:
    """(cert.pem, key.pem) valid for localhost, 127.0.0.1 and ::1."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext",
            "nameConstraints=critical,permitted;DNS:localhost,permitted;IP:127.0.0.1/255.255.255.255,"
            "permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o644)  # nginx's master reads it; the test directory is private anyway
    return cert, key
