"""Text processing shared by the services and the CLI: Markdown and HTML to blocks, token-aware chunks."""
