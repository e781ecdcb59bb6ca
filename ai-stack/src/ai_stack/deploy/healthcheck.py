"""A container's health check: exit 0 when its service answers ready, 1 otherwise.

Standard library only, and no settings import: it runs every few seconds in every container, so it
must start fast and cannot fail on a setting the service itself would read.

    python -m ai_stack.deploy.healthcheck [URL]

URL defaults to AI_STACK_HEALTHCHECK_URL. An https URL (the gateway) is checked without verifying
the certificate: the check asks whether this container serves, not whether a client trusts it.
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 4.0


def healthy(url: str, timeout_s: float = TIMEOUT_S) -> bool:
    """Whether `url` answers 2xx within `timeout_s`."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout_s, context=context) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else os.environ.get("AI_STACK_HEALTHCHECK_URL", "")
    if not url.startswith(("http://", "https://")):
        print(
            "usage: python -m ai_stack.deploy.healthcheck URL (or AI_STACK_HEALTHCHECK_URL)", file=sys.stderr
        )
        return 2
    return 0 if healthy(url) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
