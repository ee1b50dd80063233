"""Lambda: the runner (warm workers per function), the worker bootstrap, async destinations, event source mappings."""
