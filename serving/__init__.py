"""serving package (filled in by later issues)."""
