"""Turning a successful interaction into a memory (pure): the deterministic extraction, the chat
prompt for an optional model, and tolerant parsing of what the model answers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

LearnedKind = Literal["pattern", "error_solution"]
QUESTION_CHARS = 200
ANSWER_CHARS = 600
ANSWER_SENTENCES = 3
_ERROR = re.compile(
    r"\b(?:\w+(?:Error|Exception)|error|exception|traceback|failed|failure|crash(?:es|ed)?|segfault)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)

SYSTEM_PROMPT = (
    "You extract one reusable piece of knowledge from a coding agent's successful interaction. "
    'Answer with one JSON object only: {"kind": "pattern" or "error_solution", "content": "..."}. '
    "content is one or two self-contained sentences a future agent can reuse without the conversation: "
    "for an error, name the error and the fix; otherwise state the approach that worked."
)


@dataclass(frozen=True)
class Extracted:
    kind: LearnedKind
    content: str
    method: Literal["chat", "deterministic"]


def kind_of(query: str, response: str) -> LearnedKind:
    """error_solution when the question is about an error, else pattern."""
    return "error_solution" if _ERROR.search(query) else "pattern"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def deterministic(query: str, response: str) -> Extracted:
    """The question and the first sentences of the answer that resolved it."""
    sentences = _SENTENCE_END.split(" ".join(response.split()))
    answer = _clip(" ".join(sentences[:ANSWER_SENTENCES]), ANSWER_CHARS)
    kind = kind_of(query, response)
    lead = "Problem" if kind == "error_solution" else "Task"
    return Extracted(kind, f"{lead}: {_clip(query, QUESTION_CHARS)}\nWhat worked: {answer}", "deterministic")


def chat_messages(query: str, response: str) -> list[dict[str, str]]:
    """The chat request that asks a model for the memory."""
    user = f"Question:\n{_clip(query, 2000)}\n\nAnswer that worked:\n{_clip(response, 6000)}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def parse_chat_answer(text: str, max_chars: int) -> Extracted | None:
    """The model's memory, or None when its answer is not usable (no JSON object, wrong kind,
    empty or oversized content): the caller then falls back to the deterministic extraction."""
    match = _JSON_OBJECT.search(text)
    if match is None:
        return None
    try:
        value = json.loads(match.group(0))
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    kind, content = value.get("kind"), value.get("content")
    if kind not in ("pattern", "error_solution") or not isinstance(content, str):
        return None
    content = " ".join(content.split())
    if not content or len(content) > max_chars or "\x00" in content:
        return None
    return Extracted(kind, content, "chat")
