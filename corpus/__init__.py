"""The synthetic case corpus: generator code (templates kept apart as data)."""
