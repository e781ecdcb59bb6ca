"""Outbound calls inside an unsampled trace skip the client instrumentation's span work."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp
from ai_stack.core.http_client import _unsampled_only_propagated
from multidict import CIMultiDict
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from yarl import URL

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736


def params() -> aiohttp.TraceRequestStartParams:
    return aiohttp.TraceRequestStartParams("GET", URL("http://peer/work"), CIMultiDict())


async def call_within(flags: TraceFlags | None) -> tuple[list[Any], aiohttp.TraceRequestStartParams]:
    started: list[Any] = []

    async def instrumentation_start(session: Any, context: SimpleNamespace, p: Any) -> None:
        started.append(p)

    hook = _unsampled_only_propagated(instrumentation_start)
    request = params()
    if flags is None:
        await hook(None, SimpleNamespace(), request)  # type: ignore[arg-type]
        return started, request
    caller = NonRecordingSpan(SpanContext(TRACE_ID, 0x00F067AA0BA902B7, is_remote=True, trace_flags=flags))
    with trace.use_span(caller):
        await hook(None, SimpleNamespace(), request)  # type: ignore[arg-type]
    return started, request


async def test_an_unsampled_caller_only_passes_its_traceparent_on() -> None:
    started, request = await call_within(TraceFlags(TraceFlags.DEFAULT))
    assert started == []
    assert request.headers["traceparent"] == f"00-{TRACE_ID:032x}-00f067aa0ba902b7-00"


async def test_a_sampled_caller_or_none_goes_through_the_instrumentation() -> None:
    sampled, _ = await call_within(TraceFlags(TraceFlags.SAMPLED))
    assert len(sampled) == 1
    rootless, _ = await call_within(None)  # a background call: the sampler decides there
    assert len(rootless) == 1
