"""The user's secrets file and references to it (DESIGN §3); masking is in `masking`.

The file is TOML, mode 0600, outside the workspace. Names may contain dots
("clinic-sftp.password"); they are stored as quoted keys, and nested tables are read
as dotted names too.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import tomli_w

from duftui.definitions.masking import MASK, MIN_SECRET_LENGTH, Masker

if TYPE_CHECKING:
    from duftui.definitions.common import SecretRef

__all__ = ["MASK", "Masker", "SecretError", "SecretStore", "check_secret_name", "resolve_ref"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


class SecretError(Exception):
    """A secret cannot be read or resolved; the message says what to do."""


def check_secret_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise SecretError(
            f"secret name {name!r} is not valid: use letters, digits, '.', '-' and '_'"
        )
    return name


class SecretStore:
    """Reads and writes the secrets file, refusing one that others can read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._values: dict[str, str] | None = None

    def values(self) -> dict[str, str]:
        """All secrets by dotted name; an absent file is an empty store. The file is read
        by `secrets_file` (regular file, mode 0600, size cap, located TOML errors)."""
        if self._values is None:
            from duftui.definitions.secrets_file import SecretsFileError, read_secrets_file

            try:
                self._values = read_secrets_file(self.path)
            except SecretsFileError as exc:
                raise SecretError(str(exc)) from None
        return self._values

    def get(self, name: str) -> str:
        values = self.values()
        if name not in values:
            raise SecretError(
                f"secret {name!r} is not set in {self.path}; run: duftui secret set {name}"
            )
        return values[name]

    def set(self, name: str, value: str) -> None:
        """Store one secret, writing the file atomically with mode 0600."""
        check_secret_name(name)
        values = dict(self.values())
        values[name] = value
        self._write(values)

    def delete(self, name: str) -> bool:
        """Remove one secret; False when it was not set."""
        values = dict(self.values())
        if name not in values:
            return False
        del values[name]
        self._write(values)
        return True

    def _write(self, values: dict[str, str]) -> None:
        """Replace the file in one rename, so a crash never leaves it half written or gone.

        The temporary file is created 0600 by the same call that opens it, so the secrets
        are never readable by others, not even for a moment.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                tomli_w.dump(dict(sorted(values.items())), handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._values = values


def resolve_ref(
    ref: SecretRef, store: SecretStore, environ: Mapping[str, str] | None = None
) -> str:
    """The value a reference points to, or a SecretError saying how to provide it."""
    env = os.environ if environ is None else environ
    if ref.env is not None:
        if ref.env not in env:
            raise SecretError(
                f"environment variable {ref.env} is not set; export it before starting duftui"
            )
        return _long_enough(env[ref.env], f"environment variable {ref.env}")
    assert ref.secret is not None
    return _long_enough(store.get(ref.secret), f"secret {ref.secret!r}")


def short_secret_message(what: str) -> str:
    return (
        f"{what} holds a value shorter than {MIN_SECRET_LENGTH} characters; duftui "
        f"cannot mask so short a secret in logs without hiding ordinary text: use a "
        f"longer one"
    )


def _long_enough(value: str, what: str) -> str:
    """Refuse a secret too short to be masked without hiding ordinary words of the log."""
    if 0 < len(value) < MIN_SECRET_LENGTH:
        raise SecretError(short_secret_message(what))
    return value
