"""hybrid-coordinator: memory and context for agents."""
