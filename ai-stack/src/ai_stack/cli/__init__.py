"""The operator CLI, `ai-stack`."""
