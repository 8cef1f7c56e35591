"""Duplicates and merging: flagged pairs, the field-by-field merge and its undo."""
