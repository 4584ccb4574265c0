"""features package (filled in by later issues)."""
