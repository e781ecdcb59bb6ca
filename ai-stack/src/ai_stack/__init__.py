"""ai-stack: a self-hosted retrieval and memory stack for AI coding agents."""

__version__ = "0.1.0"
