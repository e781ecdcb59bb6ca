"""Shared service core: settings, logging, metrics, tracing, breakers, the app factory."""
