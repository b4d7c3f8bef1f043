"""The secrets file (mode 0600 or refused), references to it, and log masking."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from duftui.definitions.common import SecretRef
from duftui.definitions.secrets import (
    MASK,
    Masker,
    SecretError,
    SecretStore,
    check_secret_name,
    resolve_ref,
)


@pytest.fixture
def secrets_path() -> Path:
    """The path the isolated environment points DUFTUI_SECRETS at (not created yet)."""
    return Path(os.environ["DUFTUI_SECRETS"])


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_missing_file_is_an_empty_store(secrets_path: Path) -> None:
    store = SecretStore(secrets_path)
    assert store.values() == {}
    with pytest.raises(SecretError) as caught:
        store.get("db.password")
    assert str(caught.value) == (
        f"secret 'db.password' is not set in {secrets_path}; run: duftui secret set db.password"
    )


def test_world_readable_file_is_refused_with_the_chmod_fix(secrets_path: Path) -> None:
    secrets_path.parent.mkdir(parents=True)
    secrets_path.write_text('token = "abc"\n')
    os.chmod(secrets_path, 0o644)
    with pytest.raises(SecretError) as caught:
        SecretStore(secrets_path).get("token")
    assert str(caught.value) == (
        f"{secrets_path}: refusing to read secrets from a file with mode 0644; "
        f"other users could read it. Run: chmod 600 {secrets_path}"
    )
    os.chmod(secrets_path, 0o600)
    assert SecretStore(secrets_path).get("token") == "abc"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o666])
def test_any_group_or_other_bit_is_refused(secrets_path: Path, mode: int) -> None:
    secrets_path.parent.mkdir(parents=True)
    secrets_path.write_text('token = "abc"\n')
    os.chmod(secrets_path, mode)
    with pytest.raises(SecretError, match=f"mode {mode:04o}"):
        SecretStore(secrets_path).values()


def test_set_get_delete_keep_the_file_at_0600(secrets_path: Path) -> None:
    store = SecretStore(secrets_path)
    store.set("clinic-sftp.password", "s3cret")
    store.set("api_token", 'with "quotes" and \\ backslash')
    assert mode_of(secrets_path) == 0o600
    assert SecretStore(secrets_path).get("clinic-sftp.password") == "s3cret"
    assert SecretStore(secrets_path).get("api_token") == 'with "quotes" and \\ backslash'
    # Dotted names are stored as quoted keys, not as nested tables.
    assert tomllib.loads(secrets_path.read_text()) == {
        "api_token": 'with "quotes" and \\ backslash',
        "clinic-sftp.password": "s3cret",
    }

    assert store.delete("api_token") is True
    assert store.delete("api_token") is False
    assert mode_of(secrets_path) == 0o600
    assert SecretStore(secrets_path).values() == {"clinic-sftp.password": "s3cret"}
    assert sorted(p.name for p in secrets_path.parent.iterdir()) == [secrets_path.name]


def test_deleting_the_last_secret_keeps_an_empty_file(secrets_path: Path) -> None:
    store = SecretStore(secrets_path)
    store.set("only", "x")
    assert store.delete("only") is True
    assert SecretStore(secrets_path).values() == {}
    assert mode_of(secrets_path) == 0o600


def test_set_tightens_a_file_created_elsewhere(secrets_path: Path) -> None:
    secrets_path.parent.mkdir(parents=True)
    secrets_path.write_text('a = "1"\n')
    os.chmod(secrets_path, 0o600)
    SecretStore(secrets_path).set("b", "2")
    assert mode_of(secrets_path) == 0o600
    assert SecretStore(secrets_path).values() == {"a": "1", "b": "2"}


def test_nested_tables_read_as_dotted_names(secrets_path: Path) -> None:
    secrets_path.parent.mkdir(parents=True)
    secrets_path.write_text(
        '[clinic-sftp]\npassword = "p1"\n\n[clinic.db]\nuser = "u"\nport = 5432\n'
        '"flat.name" = "f"\n'
    )
    os.chmod(secrets_path, 0o600)
    store = SecretStore(secrets_path)
    assert store.values() == {
        "clinic-sftp.password": "p1",
        "clinic.db.user": "u",
        "clinic.db.port": "5432",
        "clinic.db.flat.name": "f",
    }
    store.set("clinic.db.user", "u2")
    assert SecretStore(secrets_path).get("clinic.db.user") == "u2"
    assert SecretStore(secrets_path).get("clinic-sftp.password") == "p1"


def test_invalid_toml_in_secrets_file(secrets_path: Path) -> None:
    secrets_path.parent.mkdir(parents=True)
    secrets_path.write_text("[oops\n")
    os.chmod(secrets_path, 0o600)
    with pytest.raises(SecretError) as caught:
        SecretStore(secrets_path).values()
    assert str(caught.value) == (
        f"{secrets_path}:1: not valid TOML: expected ']' at the end of a table declaration"
    )


@pytest.mark.parametrize("name", ["", ".hidden", "with space", "semi;colon", "ünïcode"])
def test_bad_secret_names(name: str, secrets_path: Path) -> None:
    with pytest.raises(SecretError) as caught:
        SecretStore(secrets_path).set(name, "x")
    assert str(caught.value) == (
        f"secret name {name!r} is not valid: use letters, digits, '.', '-' and '_'"
    )
    assert not secrets_path.exists()


def test_good_secret_names() -> None:
    for name in ("a", "A1", "clinic-sftp.password", "x_y.z-1"):
        assert check_secret_name(name) == name


def test_resolve_env_reference() -> None:
    store = SecretStore(Path("/nonexistent/secrets.toml"))
    ref = SecretRef(env="CLINIC_PASSWORD")
    assert resolve_ref(ref, store, {"CLINIC_PASSWORD": "pw-long"}) == "pw-long"
    with pytest.raises(SecretError) as caught:
        resolve_ref(ref, store, {})
    assert str(caught.value) == (
        "environment variable CLINIC_PASSWORD is not set; export it before starting duftui"
    )


def test_resolve_env_reference_reads_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DUFTUI_TEST_SECRET", "from-env")
    store = SecretStore(Path("/nonexistent/secrets.toml"))
    assert resolve_ref(SecretRef(env="DUFTUI_TEST_SECRET"), store) == "from-env"


def test_resolve_secret_reference(secrets_path: Path) -> None:
    store = SecretStore(secrets_path)
    store.set("clinic.password", "pw-long")
    assert resolve_ref(SecretRef(secret="clinic.password"), store, {}) == "pw-long"
    with pytest.raises(SecretError) as caught:
        resolve_ref(SecretRef(secret="clinic.pasword"), store, {})
    assert str(caught.value) == (
        f"secret 'clinic.pasword' is not set in {secrets_path}; "
        "run: duftui secret set clinic.pasword"
    )


def test_reference_needs_exactly_one_source() -> None:
    with pytest.raises(ValueError, match='exactly one of env = "VAR" or secret = "name"'):
        SecretRef(env="A", secret="b")
    with pytest.raises(ValueError, match="exactly one"):
        SecretRef()
    assert SecretRef(secret="x").describe() == "secret:x"
    assert SecretRef(env="X").describe() == "env:X"


# -- masking ---------------------------------------------------------------------------


def test_masker_hides_a_secret_inside_a_line() -> None:
    masker = Masker(["hunter2"])
    assert masker.mask("login with hunter2 ok; again:hunter2!") == (
        f"login with {MASK} ok; again:{MASK}!"
    )
    assert masker.mask("nothing here") == "nothing here"


def test_overlapping_secrets_are_hidden_whole_longest_first() -> None:
    masker = Masker(["abc", "abcdef", "cde"])
    assert masker.mask("xx abcdef yy") == f"xx {MASK} yy"
    assert masker.mask("abc cde") == f"{MASK} {MASK}"
    # "abc" and "cde" overlap in "abcde": no part of either is left visible.
    assert masker.mask("abcde") == MASK
    assert masker.mask("1abcde2abc3") == f"1{MASK}2{MASK}3"


def test_regex_characters_in_secrets_are_literal() -> None:
    masker = Masker(["a.b*c", "(x|y)"])
    assert masker.mask("a.b*c and aXbbc and (x|y) and x") == f"{MASK} and aXbbc and {MASK} and x"


def test_empty_masker_and_empty_values() -> None:
    masker = Masker(["", ""])
    assert not masker
    assert masker.mask("text") == "text"
    masker.add(["late"])
    assert masker
    assert masker.mask("too late") == f"too {MASK}"


def test_mask_value_walks_nested_data() -> None:
    masker = Masker(["pw123"])
    data = {
        "user": "ada",
        "dsn": "postgres://ada:pw123@db/x",
        "list": ["pw123", 5, {"deep": "xpw123x"}],
        "count": 3,
        "flag": None,
    }
    assert masker.mask_value(data) == {
        "user": "ada",
        "dsn": f"postgres://ada:{MASK}@db/x",
        "list": [MASK, 5, {"deep": f"x{MASK}x"}],
        "count": 3,
        "flag": None,
    }
    assert data["dsn"] == "postgres://ada:pw123@db/x"


@given(
    st.lists(st.text(alphabet="abc", min_size=1, max_size=4), min_size=1, max_size=4),
    st.text(alphabet="abc -", max_size=40),
)
def test_no_secret_survives_masking(secrets: list[str], text: str) -> None:
    masked = Masker(secrets).mask(text)
    for secret in secrets:
        assert secret not in masked
    if not any(secret in text for secret in secrets):
        assert masked == text
