"""What every client (CLI, console, daemon) needs: the workspace, its definitions, the
state store and the secrets file, opened lazily and only once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from duftui import locations
from duftui.definitions.loader import Catalogue, load_workspace
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
            self._catalogue = load_workspace(self.workspace)
        return self._catalogue

    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.db_path)
        return self._store

    def secrets(self) -> SecretStore:
        if self._secrets is None:
            self._secrets = SecretStore(locations.secrets_file())
        return self._secrets

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
