"""What every client (CLI, console, daemon) needs: the workspace, its definitions, the
state store and the secrets file, opened lazily and only once (and imported lazily, so a
command that needs none of them starts fast)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from duftui import locations

if TYPE_CHECKING:
    from duftui.definitions.loader import Catalogue
    from duftui.definitions.secrets import SecretStore
    from duftui.store.db import Store


@dataclass
class Context:
    workspace: Path
    db_path: Path
    db_given: bool = False
    _catalogue: Catalogue | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)
    _empty: Store | None = field(default=None, repr=False)
    _secrets: SecretStore | None = field(default=None, repr=False)

    @classmethod
    def create(cls, workspace: str | Path | None = None, db: str | Path | None = None) -> Context:
        root = locations.workspace_dir(workspace)
        given = bool(db or os.environ.get("DUFTUI_DB"))
        return cls(workspace=root, db_path=locations.state_db(root, db), db_given=given)

    def check_workspace(self) -> None:
        """WorkspaceError unless the workspace exists and looks like one."""
        locations.check_workspace(self.workspace)

    def catalogue(self, reload: bool = False) -> Catalogue:
        if self._catalogue is None or reload:
            self.check_workspace()
            from duftui.definitions.loader import load_workspace

            self._catalogue = load_workspace(self.workspace)
        return self._catalogue

    def store(self) -> Store:
        """The state store, created if there is none yet (for commands that write)."""
        if self._store is None:
            from duftui.store.db import Store

            if not self.db_given:  # the default state file lives in the workspace
                self.check_workspace()
            self._store = Store(self.db_path)
        return self._store

    def existing_store(self) -> Store:
        """The state store if the state file exists, else an empty one in memory: for
        commands that only read, which must never create `.duftui/`."""
        if self._store is None:
            from duftui.store.db import Store

            if not self.db_given:
                self.check_workspace()
            if not self.db_path.exists():
                if self.db_given:
                    from duftui.store.db import StateFileError

                    raise StateFileError(
                        f"no state file at {self.db_path}: check --db (or DUFTUI_DB); "
                        "`duftui run` and the daemon create it"
                    )
                if self._empty is None:
                    self._empty = Store.empty()
                return self._empty
        return self.store()

    def secrets(self) -> SecretStore:
        if self._secrets is None:
            from duftui.definitions.secrets import SecretStore

            self._secrets = SecretStore(locations.secrets_file())
        return self._secrets

    def close(self) -> None:
        for opened in (self._store, self._empty):
            if opened is not None:
                opened.close()
        self._store = self._empty = None
