"""The nginx gateway: configuration rendering (nginx itself does the serving)."""
