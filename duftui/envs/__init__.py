"""Task environments built with uv (DESIGN §13, docs/environments.md).

`request` reads what a task asks for, `build` locks, keys and builds it, `support` points a
task at it, `manage` lists and prunes them, and `python -m duftui.envs` builds one inside a
run before handing over to the task's own interpreter.
"""
