"""Tracing is on only with an OTLP endpoint, and honours OTEL_SDK_DISABLED."""

from __future__ import annotations

import pytest
from ai_stack.core.tracing import build_tracer_provider, tracing_enabled


def test_off_without_an_endpoint() -> None:
    assert not tracing_enabled({})
    assert build_tracer_provider("svc", "1", {}) is None


def test_on_with_an_endpoint_and_sampler_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    provider = build_tracer_provider("svc", "1", env)
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "svc"
    assert "TraceIdRatioBased{0.25}" in provider.sampler.get_description()
    provider.shutdown()


def test_sdk_disabled_wins() -> None:
    assert not tracing_enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"})
