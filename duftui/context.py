"""What every client (CLI, console, daemon) needs: the workspace, its definitions, the
state store and the secrets file, opened lazily and only once (and imported lazily, so a
command that needs none of them starts fast)."""

from __future__ import annotations

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
    _catalogue: Catalogue | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)
    _secrets: SecretStore | None = field(default=None, repr=False)

    @classmethod
    def create(cls, workspace: str | Path | None = None, db: str | Path | None = None) -> Context:
        root = locations.workspace_dir(workspace)
        return cls(workspace=root, db_path=locations.state_db(root, db))

    def catalogue(self, reload: bool = False) -> Catalogue:
        if self._catalogue is None or reload:
            from duftui.definitions.loader import load_workspace

            self._catalogue = load_workspace(self.workspace)
        return self._catalogue

    def store(self) -> Store:
        if self._store is None:
            from duftui.store.db import Store

            self._store = Store(self.db_path)
        return self._store

    def secrets(self) -> SecretStore:
        if self._secrets is None:
            from duftui.definitions.secrets import SecretStore

            self._secrets = SecretStore(locations.secrets_file())
        return self._secrets

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
