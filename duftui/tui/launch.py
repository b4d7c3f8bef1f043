"""Start the console (imported lazily so CLI commands never load Textual)."""

from __future__ import annotations

from duftui.context import Context


def run_console(ctx: Context) -> None:
    from duftui.tui.app import create_app

    create_app(ctx).run()
