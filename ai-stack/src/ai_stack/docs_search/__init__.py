"""docs-search: offline, version-accurate documentation search over aidb."""
