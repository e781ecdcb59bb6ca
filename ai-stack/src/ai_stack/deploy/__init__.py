"""Deployment descriptions generated from the service registry: containers (Podman) and their health."""
