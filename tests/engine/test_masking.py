"""Secrets never reach the log, the database or the console, even when a task prints them."""

from __future__ import annotations

import json
import os
import sqlite3

from duftui.definitions.secrets import MASK, Masker, SecretStore
from duftui.locations import secrets_file
from duftui.store.states import RunStatus
from tests.engine.conftest import Workspace


def test_a_script_printing_its_own_passwords_is_masked_everywhere(ws: Workspace,
                                                                   monkeypatch) -> None:
    SecretStore(secrets_file()).set("db.password", "hunter2-s3cr3t")
    monkeypatch.setenv("API_TOKEN_FOR_TEST", "tok-abcdef-123456")
    (ws.root / "connections.toml").write_text(
        '[db]\ntype = "duft"\n'
        '[db.params.password]\ntype = "password"\nvalue = { secret = "db.password" }\n'
        '[db.params.server]\ntype = "text"\nvalue = "127.0.0.1"\n')
    key = ws.task("leaky", """
        name = "leaky"
        [run]
        kind = "python"
        file = "scripts/leaky.py"
        connections = ["db"]
        [params.token]
        default = { env = "API_TOKEN_FOR_TEST" }
        secret = true
        [params.region]
        default = "north"
        """, """
        import json, os, sys
        password = json.loads(os.environ["DUFTUI_CONNECTIONS"])["db"]["password"]
        print("connecting with", password)
        print("token is", os.environ["token"], "region", os.environ["region"])
        print("inline hunter2-s3cr3t and tok-abcdef-123456 twice", file=sys.stderr)
        sys.exit(f"fatal: login failed for {password}")
        """)
    run = ws.run(key)
    assert run.status == RunStatus.FAILED
    lines = ws.lines(run.id)
    assert f"connecting with {MASK}" in lines
    assert f"token is {MASK} region north" in lines
    assert f"inline {MASK} and {MASK} twice" in lines
    assert json.loads(run.params) == {"token": MASK, "region": "north"}
    assert f"fatal: login failed for {MASK}" in run.error
    # Nothing anywhere in the state file holds the secret values.
    ws.close()
    raw = b""
    for suffix in ("", "-wal"):
        path = ws.root / ".duftui" / f"state.db{suffix}"
        if path.exists():
            raw += path.read_bytes()
    with sqlite3.connect(ws.root / ".duftui" / "state.db") as db:
        dump = "\n".join(db.iterdump())
    for secret in ("hunter2-s3cr3t", "tok-abcdef-123456"):
        assert secret.encode() not in raw and secret not in dump
    assert os.environ["API_TOKEN_FOR_TEST"] == "tok-abcdef-123456"


def test_a_missing_secret_fails_the_run_with_what_to_do(ws: Workspace) -> None:
    (ws.root / "connections.toml").write_text(
        '[db]\ntype = "duft"\n'
        '[db.params.password]\ntype = "password"\nvalue = { secret = "nope.password" }\n')
    key = ws.task("needs", """
        name = "needs secret"
        [run]
        kind = "python"
        file = "scripts/needs.py"
        connections = ["db"]
        """, "print('never')")
    run = ws.run(key)
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("not started: connection db.password: secret 'nope.password' "
                                "is not set in ")
    assert run.error.endswith("run: duftui secret set nope.password")


# -- the encoded forms of a secret ------------------------------------------------------

HARD = 'pa"ss\\wo/rd+&Ü-42'
TOKEN = "tok-3f9a8b7c6d5e4f"


def _encodings(secret: str, user: str) -> dict[str, str]:
    """What a program prints when it encodes `secret` the usual ways."""
    import base64
    from urllib.parse import quote, quote_plus

    raw = secret.encode()
    basic = f"{user}:{secret}".encode()
    return {
        "raw": secret,
        "json": json.dumps({"pw": secret}),
        "json unicode": json.dumps({"pw": secret}, ensure_ascii=False),
        "json slash": json.dumps(secret).replace("/", "\\/"),
        "json twice": json.dumps(json.dumps({"pw": secret})),
        "repr": repr(secret),
        "repr in dict": repr({"pw": secret}),
        "repr double quotes": '"' + repr(secret)[1:-1].replace("\\'", "'").replace('"', '\\"') + '"',
        "ascii": ascii(secret),
        "bytes repr": repr(raw),
        "repr of json": repr(json.dumps(secret)),
        "quote": quote(secret, safe=""),
        "quote path": quote(secret),
        "quote_plus": quote_plus(secret),
        "quote lower hex": quote(secret, safe="").lower(),
        "url": f"https://{user}:{quote(secret, safe='')}@127.0.0.1/x",
        "base64": base64.b64encode(raw).decode(),
        "base64 urlsafe": base64.urlsafe_b64encode(raw).decode(),
        "base64 no padding": base64.b64encode(raw).decode().rstrip("="),
        "basic auth": "Authorization: Basic " + base64.b64encode(basic).decode(),
        "basic auth urlsafe": base64.urlsafe_b64encode(basic).decode().rstrip("="),
        "base64 inside": base64.b64encode(b'{"a": 1, "pw": "' + raw + b'"}').decode(),
        "x escapes": "".join(f"\\x{b:02x}" for b in raw),
        "X escapes": "".join(f"\\x{b:02X}" for b in raw),
        "u escapes": "".join(f"\\u{ord(c):04x}" for c in secret),
        "html": "<td>" + __import__("html").escape(secret) + "</td>",
    }


def test_every_common_encoding_of_a_secret_is_masked() -> None:

    masker = Masker([HARD, TOKEN], users=["alice"])
    for secret in (HARD, TOKEN):
        for how, printed in _encodings(secret, "alice").items():
            masked = masker.mask(f"before {printed} after")
            assert MASK in masked, how
            for piece in (secret[i:i + 5] for i in range(len(secret) - 4)):
                assert piece not in masked, (how, masked)
            assert masked.startswith("before ") and masked.endswith(" after"), (how, masked)


def test_base64_of_user_and_password_needs_the_user_name() -> None:
    import base64

    basic = base64.b64encode(f"alice:{HARD}".encode()).decode()
    assert MASK in Masker([HARD], users=["alice"]).mask(basic)
    # The alignment-independent core of the value is masked even without the user name.
    assert Masker([HARD]).mask(basic) != basic


def test_a_secret_cut_over_two_lines_leaves_no_fragment() -> None:
    masker = Masker([HARD, TOKEN])
    for cut in range(1, len(HARD)):
        lines = ["first " + HARD[:cut], HARD[cut:] + " last", "other"]
        masked = masker.mask_lines(lines)
        assert masked == ["first " + MASK, MASK + " last", "other"], cut
    # Across two reads of the pipe (two blocks): pieces of 3 characters or more are masked.
    for cut in range(3, len(HARD) - 2):
        assert masker.mask_lines(["a " + HARD[:cut]]) == ["a " + MASK]
        assert masker.mask_lines([HARD[cut:] + " b"]) == [MASK + " b"]
    # A secret one character per line is caught inside a block too.
    assert masker.mask_lines(list(TOKEN)) == [MASK] * len(TOKEN)


def test_ordinary_text_is_left_alone() -> None:
    masker = Masker([HARD, TOKEN], users=["alice"])
    lines = ["line 1 of the flood: some ordinary log text", "pa", "tok", "alice", "to"]
    assert masker.mask_lines(lines) == lines
    assert masker.mask("a password: pa\"ss") == "a password: pa\"ss"


def test_masking_a_large_block_is_one_scan() -> None:
    """A million-line flood must stay cheap: the block is joined and scanned once."""
    import time

    masker = Masker([HARD, TOKEN], users=["alice"])
    block = [f"line {i} of the flood: some ordinary log text, nothing special"
             for i in range(20_000)]
    masker.mask_lines(block[:10])
    started = time.process_time()
    assert masker.mask_lines(block) is block
    took = time.process_time() - started
    assert took < 0.5, f"masking 20,000 lines took {took:.2f} s of CPU"


def test_a_short_secret_is_refused_with_its_reference(ws: Workspace, monkeypatch) -> None:
    SecretStore(secrets_file()).set("db.password", "abc12")
    monkeypatch.setenv("SHORT_TOKEN_FOR_TEST", "x")
    (ws.root / "connections.toml").write_text(
        '[db]\ntype = "duft"\n'
        '[db.params.password]\ntype = "password"\nvalue = { secret = "db.password" }\n')
    key = ws.task("short", """
        name = "short"
        [run]
        kind = "python"
        file = "scripts/short.py"
        connections = ["db"]
        """, "print('never')")
    run = ws.run(key)
    assert run.status == RunStatus.FAILED
    assert run.error == (
        "not started: connection db.password: secret 'db.password' holds a value shorter "
        "than 6 characters; duftui cannot mask so short a secret in logs without hiding "
        "ordinary text: use a longer one")
    assert "abc12" not in run.error
    key = ws.task("shortenv", """
        name = "short env"
        [run]
        kind = "python"
        file = "scripts/shortenv.py"
        [params.token]
        default = { env = "SHORT_TOKEN_FOR_TEST" }
        secret = true
        """, "print('never')")
    run = ws.run(key)
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("not started: parameter token: environment variable "
                                "SHORT_TOKEN_FOR_TEST holds a value shorter than 6 characters")


def test_validate_names_a_short_secret_by_its_reference(ws: Workspace) -> None:
    from tests.conftest import Cli

    SecretStore(secrets_file()).set("db.password", "abc12")
    (ws.root / "connections.toml").write_text(
        '[db]\ntype = "duft"\n'
        '[db.params.password]\ntype = "password"\nvalue = { secret = "db.password" }\n')
    result = Cli(ws.root)("validate")
    assert result.exit_code == 1  # the run would fail: an error, not a warning
    assert ("connections.toml:1: db.password: secret 'db.password' holds a value shorter than "
            "6 characters") in result.output
    assert "abc12" not in result.output


def test_every_part_of_a_mail_is_masked(tmp_path) -> None:
    """Subject, body, log lines (a secret cut over two of them), embedded output and text
    attachments are masked; a binary attachment showing a secret is left out."""
    import base64

    from duftui.definitions.models import Notify
    from duftui.steps.notify import Notice, build_message

    csv = tmp_path / "out.csv"
    csv.write_text(f"name,secret\nx,{HARD}\n")
    blob = tmp_path / "out.bin"
    blob.write_bytes(b"\x00\x01" + json.dumps(TOKEN).encode() + b"\xff")
    notify = Notify(on_failure=["ops@example.org"], subject="{task} {params[token]}",
                    body="token={params[token]} {error}", attach_output=True,
                    embed_output=True)
    notice = Notice(
        fields={"task": "p/t", "params": {"token": TOKEN}, "error": f"bad {HARD!r}"},
        status="failed", error=f"login failed: {json.dumps(HARD)}", files=[csv, blob],
        tail=["stdout  " + HARD[:4], "stdout  " + HARD[4:], "stderr  done"],
        masker=Masker([HARD, TOKEN], users=["alice"]),
    )
    message = build_message(notify, notice, "duftui@example.org", None)
    raw = message.as_bytes()
    parts = [str(message["Subject"])] + [str(p.get_content()) for p in message.walk()
                                         if not p.is_multipart()]
    assert message["Subject"] == f"p/t {MASK}"
    body = message.get_body(("plain",)).get_content()
    assert f"stdout  {MASK}\nstdout  {MASK}\nstderr  done" in body
    assert "out.bin is not attached: a secret shows in it." in body
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content() == f"name,secret\nx,{MASK}\n"
    for secret in (HARD, TOKEN):
        for piece in (secret[i:i + 5] for i in range(len(secret) - 4)):
            assert all(piece not in part for part in parts), piece
            assert piece.encode() not in raw
        assert base64.b64encode(secret.encode()) not in raw
