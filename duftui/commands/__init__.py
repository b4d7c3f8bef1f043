"""Click commands, grouped by what they act on; `duftui.cli` wires them together."""
