"""Editing definitions in the console (issue 7): forms for tasks, projects and connections,
the reschedule form, the Connections list and the Trash, and the keys that open them.

The forms are clients of `duftui.definitions.editing`: it validates with `duftui
validate`'s own messages, writes comment-keeping TOML atomically, detects files changed
on disk and writes the audit rows. Nothing here writes a file itself.
"""
