"""The Textual console: one client of the core."""
