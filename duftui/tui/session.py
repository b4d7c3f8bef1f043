"""What every screen shares: the workspace context, the clock, the time zone, the user.

The clock and the time zone are injected (tests freeze both), so nothing on screen
depends on when or where the console runs unless it really runs there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path

from duftui.context import Context
from duftui.definitions.loader import Catalogue
from duftui.store.audit import current_user
from duftui.store.db import Store
from duftui.store.timestamps import utcnow


def local_zone() -> tzinfo:
    """The machine's time zone (what an operator's wall clock shows)."""
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


@dataclass
class Session:
    """The console's view of one workspace."""

    ctx: Context
    clock: Callable[[], datetime] = utcnow
    tz: tzinfo = field(default_factory=local_zone)
    user: str = field(default_factory=current_user)

    @property
    def workspace(self) -> Path:
        return self.ctx.workspace

    def now(self) -> datetime:
        return self.clock()

    def store(self) -> Store:
        return self.ctx.store()

    def catalogue(self, reload: bool = False) -> Catalogue:
        return self.ctx.catalogue(reload=reload)

    def relative(self, path: str | Path | None) -> str:
        """A path as the operator thinks of it: relative to the workspace when inside it."""
        if not path:
            return ""
        target = Path(path)
        try:
            return str(target.resolve().relative_to(self.workspace))
        except ValueError:
            return str(target)
