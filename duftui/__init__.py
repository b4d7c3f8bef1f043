"""duftui: a terminal operations console and scheduler for data tasks."""

__version__ = "0.1.0"
