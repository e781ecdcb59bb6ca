"""An optional OpenAI-compatible chat endpoint (llama.cpp server, Ollama, vLLM) for extraction."""

from __future__ import annotations

from typing import Any

from ai_stack.core.http_client import ServiceClient


class ChatFailed(Exception):
    """The endpoint did not answer with a completion."""


class ChatClient:
    """`POST /v1/chat/completions` through a ServiceClient (pooled, traced, breaker-wrapped)."""

    def __init__(self, http: ServiceClient, model: str, *, max_tokens: int, timeout_s: float) -> None:
        self._http = http
        self._model = model
        self._max_tokens = max_tokens
        self._timeout_s = timeout_s

    async def complete(self, messages: list[dict[str, str]]) -> str:
        """The first choice's text; ChatFailed for anything else (the caller falls back)."""
        body: dict[str, Any] = {
            "model": self._model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": self._max_tokens,
        }
        try:
            status, answer = await self._http.request_json(
                "POST", "/v1/chat/completions", json=body, timeout_s=self._timeout_s
            )
        except Exception as exc:  # unavailable, breaker open: the deterministic extraction answers
            raise ChatFailed(f"chat endpoint unavailable ({type(exc).__name__})") from exc
        try:
            return str(answer["choices"][0]["message"]["content"]) if status == 200 else _refused(status)
        except (KeyError, IndexError, TypeError):
            raise ChatFailed("chat endpoint answered without a choice") from None


def _refused(status: int) -> str:
    raise ChatFailed(f"chat endpoint answered {status}")
