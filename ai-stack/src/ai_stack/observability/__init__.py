"""Monitoring of the stack: Prometheus configuration, SLO recording and alert rules and a Grafana
dashboard, generated per service from the registry."""
