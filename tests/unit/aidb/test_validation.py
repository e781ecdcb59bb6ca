"""The secret detectors refuse real key material, never documentation that shows its shape."""

from __future__ import annotations

import base64
import random
import string
import textwrap

import pytest
from ai_stack.aidb.validation import ContentRejected, check_content, find_secret

RNG = random.Random(42)
KEY_BODY = "\n".join(textwrap.wrap(base64.b64encode(RNG.randbytes(1190)).decode(), 64))
TOKEN = "".join(RNG.choices(string.ascii_letters + string.digits, k=36))

# The layout of a PEM file as a manual shows it (e.g. OpenSSL's and PostgreSQL's documentation).
MANUAL_PAGE = """The key file has this layout:

    -----BEGIN RSA PRIVATE KEY-----
    ... (private key in base64 encoding) ...
    -----END RSA PRIVATE KEY-----

Keep it readable by the server's user only.
"""


@pytest.mark.parametrize(
    "text",
    [
        MANUAL_PAGE,
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC...\n-----END PRIVATE KEY-----",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n<your key here>\n-----END OPENSSH PRIVATE KEY-----",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",  # AWS's own documentation example
        "export GITHUB_TOKEN=ghp_" + "x" * 36,
        "SLACK_TOKEN=xoxb-your-token-here",
        "OPENAI_API_KEY=sk-" + "0" * 40,
    ],
)
def test_documentation_showing_the_shape_of_secrets_is_kept(text: str) -> None:
    assert find_secret(text) is None
    check_content(text, "content")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n-----END RSA PRIVATE KEY-----\n", "PEM private key"),
        (f"-----BEGIN PRIVATE KEY-----\n{KEY_BODY[:64]}\n-----END PRIVATE KEY-----", "PEM private key"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89"
            f"\n\n{KEY_BODY}\n-----END RSA PRIVATE KEY-----",
            "PEM private key",
        ),
        ("key AKIA2E0A8F3B244C9986 here", "AWS access key"),
        (f"token ghp_{TOKEN}", "GitHub token"),
        ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "Slack token"),
        ("AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "Google API key"),
        (f"sk-{TOKEN}abcd", "OpenAI-style secret key"),
    ],
)
def test_real_key_material_is_refused_with_its_kind(text: str, kind: str) -> None:
    assert kind in (find_secret(text) or "")
    with pytest.raises(ContentRejected, match=kind):
        check_content(text, "content")
