"""Named connections from `connections.toml` (DESIGN §2): no secrets in the file itself."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from duftui.definitions.common import REFERENCE_NEEDS_ONE, SecretRef, Strict, quoted

Secretish = str | SecretRef

# Fields that hold credentials: a literal (non-empty) string in them is refused.
SECRET_FIELDS = ("password", "passphrase")


def _ref(value: Any) -> Any:
    """Reject `{ env = …, secret = … }` (and `{}`) with one clear message; other tables are
    left to the SecretRef member of the field's union, which reports their own errors."""
    if isinstance(value, dict) and len(value) != 1 and set(value) <= {"env", "secret"}:
        raise ValueError(REFERENCE_NEEDS_ONE)
    return value


class _Connection(Strict):
    description: str = ""

    @field_validator(*SECRET_FIELDS, mode="before", check_fields=False)
    @classmethod
    def _secret_ref(cls, value: Any) -> Any:
        return _ref(value)


class SqliteConnection(_Connection):
    type: Literal["sqlite"]
    path: str


class SqlConnection(_Connection):
    type: Literal["sql"]
    url: str
    password: Secretish | None = None
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
        except ValueError:
            raise ValueError(f"not a URL: {quoted(value)}") from None
        if not parts.scheme:
            raise ValueError(
                f"expected a SQLAlchemy URL like postgresql://user@host/db, got {quoted(value)}"
            )
        return value

    @property
    def url_has_password(self) -> bool:
        """A password inside the URL is refused by the loader, like any literal secret."""
        return bool(urlsplit(self.url).password)


class _Remote(_Connection):
    host: str
    username: str | None = None
    password: Secretish | None = None


class SshConnection(_Remote):
    type: Literal["ssh", "sftp"]
    port: int = 22
    key_file: str | None = None
    passphrase: Secretish | None = None
    known_hosts: str | None = None
    base_path: str | None = None
    timeout: float = 30.0


class FtpConnection(_Remote):
    type: Literal["ftp"]
    port: int = 21
    tls: bool = False
    ca_file: str | None = None
    verify: bool = True
    passive: bool = True
    base_path: str | None = None
    timeout: float = 30.0


class SmbConnection(_Remote):
    type: Literal["smb"]
    port: int = 445
    share: str
    domain: str = ""
    base_path: str | None = None
    timeout: float = 30.0


class SmtpConnection(_Remote):
    type: Literal["smtp"]
    port: int = 25
    sender: str
    starttls: bool = False
    ssl: bool = False
    timeout: float = 30.0


class DuftParam(Strict):
    """One typed parameter of a DUFT connection, as in DUFT's data_connections.json."""

    type: Literal["text", "password", "integer", "url"] = "text"
    label: str = ""
    value: str | int | float | bool | SecretRef | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _secret_ref(cls, value: Any) -> Any:
        return _ref(value)


class DuftConnection(_Connection):
    type: Literal["duft"]
    name: str = ""
    duft_id: str | None = None
    params: dict[str, DuftParam] = Field(default_factory=dict)


CONNECTION_TYPES: dict[str, type[_Connection]] = {
    "sqlite": SqliteConnection,
    "sql": SqlConnection,
    "sftp": SshConnection,
    "ssh": SshConnection,
    "ftp": FtpConnection,
    "smb": SmbConnection,
    "smtp": SmtpConnection,
    "duft": DuftConnection,
}

Connection = (
    SqliteConnection
    | SqlConnection
    | SshConnection
    | FtpConnection
    | SmbConnection
    | SmtpConnection
    | DuftConnection
)


def literal_secrets(connection: Connection) -> list[tuple[tuple[str, ...], str]]:
    """Credential fields written as literals: (field path, field name) pairs.

    A SQL URL with a password in it is reported as (("url",), "password").
    """
    found: list[tuple[tuple[str, ...], str]] = []
    if isinstance(connection, SqlConnection) and connection.url_has_password:
        found.append((("url",), "password"))
    for field in SECRET_FIELDS:
        value = getattr(connection, field, None)
        if isinstance(value, str) and value:
            found.append(((field,), field))
    if isinstance(connection, DuftConnection):
        for name, param in connection.params.items():
            if param.type == "password" and isinstance(param.value, str) and param.value:
                found.append((("params", name, "value"), name))
    return found


def secret_refs(connection: Connection) -> list[tuple[str, SecretRef]]:
    """(field name, reference) for every reference a connection holds."""
    refs: list[tuple[str, SecretRef]] = []
    for field in SECRET_FIELDS:
        value = getattr(connection, field, None)
        if isinstance(value, SecretRef):
            refs.append((field, value))
    if isinstance(connection, DuftConnection):
        for name, param in connection.params.items():
            if isinstance(param.value, SecretRef):
                refs.append((name, param.value))
    return refs
