"""One parser per source kind: a location on disk to a ParsedSource (pure apart from reading files)."""
