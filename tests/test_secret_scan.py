"""Secret scan: tasks of every kind print two secrets in every way we could think of, then
everything duftui keeps or shows is searched for the raw value and each encoded form.

The corpus (`WAYS`, more than 20 ways, each used for both secrets) runs as a Python task,
a DUFT-shim task, a shell command, a notebook (injected parameters, outputs, a subprocess
writing to the kernel's stderr, a failing cell) and a pipeline whose failure e-mail goes to
a real aiosmtpd server. Searched: the state file and its WAL (raw bytes), `duftui logs`,
`duftui runs --json`, `duftui history export` (CSV and JSON), every file under `.duftui/`
(the run folders), every mail (raw and decoded) and the console's Run screen (Pilot).
"""

from __future__ import annotations

import base64
import email
import html
import json
import textwrap
from email import policy
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import nbformat
import pytest

from duftui.definitions.secrets import SecretStore
from duftui.locations import secrets_file
from duftui.store.states import RunStatus
from tests.conftest import Cli, write
from tests.engine.conftest import Workspace
from tests.steps.servers import SmtpServer

HARD = 'Pa"ss\\wo/rd+&Ü-42'  # every character that changes an encoding
TOKEN = "tok-3f9a8b7c6d5e4f"
USER = "alice"

# Each way reads `pw` (the connection's password), `token` (a secret parameter) and `user`.
WAYS = {
    "print": "print('value', s)",
    "json.dumps": "print(json.dumps({'password': s}))",
    "json unicode": "print(json.dumps({'password': s}, ensure_ascii=False))",
    "json twice": "print(json.dumps(json.dumps({'password': s})))",
    "json slash": "print(json.dumps(s).replace('/', '\\\\/'))",
    "repr": "print(repr(s))",
    "dict str": "print({'password': s, 'n': 1})",
    "ascii": "print(ascii(s))",
    "bytes repr": "print(s.encode())",
    "unicode_escape": "print(s.encode('unicode_escape').decode())",
    "x escapes": "print(''.join('\\\\x%02x' % b for b in s.encode()))",
    "u escapes": "print(''.join('\\\\u%04x' % ord(c) for c in s))",
    "quote": "print('q=' + quote(s, safe=''))",
    "quote path": "print('/p/' + quote(s))",
    "quote_plus": "print('form: a=1&b=' + quote_plus(s))",
    "lower hex": "print(quote(s, safe='').lower())",
    "url": "print(f'https://{user}:{quote(s, safe=\"\")}@127.0.0.1/x')",
    "base64": "print(base64.b64encode(s.encode()).decode())",
    "basic auth": "print('Authorization: Basic ' + base64.b64encode(f'{user}:{s}'.encode()).decode())",
    "basic urlsafe": "print(base64.urlsafe_b64encode(f'{user}:{s}'.encode()).decode().rstrip('='))",
    "base64 in json": "print(base64.b64encode(json.dumps({'k': s}).encode()).decode())",
    "html": "print('<td>' + html.escape(s) + '</td>')",
    "base64 of repr": "print(base64.b64encode(repr({'k': s}).encode()).decode())",
    "split middle": "print(s[:5]); print(s[5:])",
    "split one write": "sys.stdout.write(s[:1] + '\\n' + s[1:] + '\\n'); sys.stdout.flush()",
    "stderr": "print('on stderr', s, file=sys.stderr)",
    "logging": "logging.warning('connecting with %s', s); logging.error('bad %r', s)",
    "traceback": (
        "try:\n    raise ValueError(f'login failed for {s!r} and {s}')\n"
        "except ValueError:\n    traceback.print_exc()"
    ),
    "duftui.task": "task.log(f'task log {s}'); task.error(json.dumps({'e': s}))",
}

PRELUDE = """
import base64, html, json, logging, os, sys, traceback
from urllib.parse import quote, quote_plus
from duftui import task
logging.basicConfig(level=logging.INFO)
pw = json.loads(os.environ["DUFTUI_CONNECTIONS"])["api"]["password"]
user = json.loads(os.environ["DUFTUI_CONNECTIONS"])["api"]["username"]
token = os.environ["token"]
"""


def corpus(final: str = "") -> str:
    body = [PRELUDE]
    for secret in ("pw", "token"):
        body.append(f"s = {secret}")
        for code in WAYS.values():
            body.append(code)
            body.append("sys.stdout.flush(); sys.stderr.flush()")
    body.append(final)
    return "\n".join(body) + "\n"


def encodings(secret: str, user: str) -> set[str]:
    """What a search must never find: the value, its common encodings, and every piece
    of six characters of it (a fragment left by a line cut in two)."""
    raw = secret.encode()
    basic = f"{user}:{secret}".encode()
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(json.dumps(secret))[3:-3],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
        repr(raw)[2:-1],
        secret.encode("unicode_escape").decode(),
        "".join(f"\\x{b:02x}" for b in raw),
        "".join(f"\\u{ord(c):04x}" for c in secret),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        quote(secret, safe="").lower(),
        base64.b64encode(raw).decode(),
        base64.b64encode(basic).decode(),
        base64.urlsafe_b64encode(basic).decode().rstrip("="),
        html.escape(secret),
        base64.b64encode(json.dumps({"k": secret}).encode()).decode(),
        base64.b64encode(repr({"k": secret}).encode()).decode(),
    }
    forms |= {secret[i : i + 6] for i in range(len(secret) - 5)}
    return {f for f in forms if len(f) >= 6}


FORMS = sorted(encodings(HARD, USER) | encodings(TOKEN, USER))


def hits(where: str, text: str | bytes) -> list[str]:
    if isinstance(text, bytes):
        return [f"{where}: {form!r}" for form in FORMS if form.encode() in text]
    return [f"{where}: {form!r}" for form in FORMS if form in text]


def notebook_source() -> str:
    cells = [
        nbformat.v4.new_code_cell("params = {}"),
        nbformat.v4.new_code_cell(PRELUDE.replace('os.environ["token"]', 'params["token"]')),
        nbformat.v4.new_code_cell(
            "print(pw, token)\nprint(json.dumps({'p': pw, 't': token}))\nprint(repr(pw))"
        ),
        nbformat.v4.new_code_cell("params"),  # an execute_result holding the dict's repr
        nbformat.v4.new_code_cell("{'password': pw}"),
        nbformat.v4.new_code_cell(
            "import subprocess\n"
            "subprocess.run(['sh', '-c', 'echo kernel stderr $0 >&2', token])\n"
            "print(base64.b64encode(f'{user}:{pw}'.encode()).decode())"
        ),
        nbformat.v4.new_code_cell("print(pw[:5])\nprint(pw[5:])\nsys.stderr.write(token + '\\n')"),
        nbformat.v4.new_code_cell("raise RuntimeError(f'notebook failed for {pw!r} {token}')"),
    ]
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def smtpd() -> Any:
    server = SmtpServer()
    yield server
    server.close()


def make_workspace(root: Path, smtp_port: int, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    ws = Workspace(root)
    SecretStore(secrets_file()).set("api.password", HARD)
    monkeypatch.setenv("SCAN_TOKEN", TOKEN)
    write(root / "connections.toml", textwrap.dedent(f"""
        [api]
        type = "duft"
        [api.params.username]
        type = "text"
        value = "{USER}"
        [api.params.password]
        type = "password"
        value = {{ secret = "api.password" }}

        [smtp]
        type = "smtp"
        host = "127.0.0.1"
        port = {smtp_port}
        sender = "duftui@example.org"
        """))
    token = '[params.token]\ndefault = { env = "SCAN_TOKEN" }\nsecret = true\n'
    python = '[run]\nkind = "python"\nfile = "scripts/{0}.py"\nconnections = ["api"]\n'
    ws.task("script", f'name = "script"\n{token}' + python.format("script"),
            corpus('sys.exit(f"fatal: login failed for {pw} with {token}")'))
    ws.task("duft", f'name = "duft"\n{token}' + python.format("duft") + "duft = true\n",
            corpus(textwrap.dedent("""
                from services.dte_tools.data_task_tools import initialise_data_task
                environment = initialise_data_task("scan", params={"token": token})
                environment.log_message(f"shim message {pw} {token}")
                environment.log_error(f"shim error {json.dumps(pw)} {token!r}")
                """)))
    ws.task("command", f"""name = "command"
        {token}[run]
        kind = "command"
        shell = true
        connections = ["api"]
        command = '''
        echo "token: $token"
        printf '%s\\n' "$DUFTUI_CONNECTIONS"
        echo "$DUFTUI_PARAMS" >&2
        printf '%s' "alice:$token" | base64
        echo "$token" | fold -w 7
        echo "failing with $token" >&2
        exit 3
        '''
        """.replace("\n        ", "\n"))
    write(root / "tasks" / "p" / "scripts" / "scan.ipynb", notebook_source())
    ws.task("notebook", f'name = "notebook"\n{token}[run]\nkind = "notebook"\n'
            'file = "scripts/scan.ipynb"\nconnections = ["api"]\n')
    ws.task("mailed", f'name = "mailed"\n{token}' + python.format("mailed")
            + '[notify]\non_failure = ["ops@example.org"]\nconnection = "smtp"\nlog_lines = 200\n'
              'subject = "{task} {status} {params[token]}: {error}"\n'
              'body = "token {params[token]} run {run_id}"\n',
            corpus('sys.exit(f"fatal: login failed for {pw} with {token}")'))
    return ws


async def screen_text(root: Path, run_lines: dict[int, int]) -> str:
    """Every Run screen's Log and Details tabs as the console renders them."""
    from textual.widgets import TabbedContent

    from tests.tui.conftest import make_app, wait_for, wait_settled
    from tests.tui.helpers import screen_named

    shown = []
    app = make_app(root)
    async with app.run_test(size=(240, 150)) as pilot:
        await wait_settled(pilot)
        for run_id, count in run_lines.items():
            app.open_run(run_id)
            screen = await screen_named(pilot, "RunScreen")
            from duftui.tui.widgets.log_view import LogView

            log = screen.query_one(LogView)
            await wait_for(pilot, lambda log=log, n=count: log.total >= n and log.settled,
                           what="the run's log")
            log.scroll_home(animate=False)
            await wait_settled(pilot)
            for _page in range(4):  # each corpus run has fewer than 4 screens of lines
                shown.append(_rendered(app))
                log.scroll_page_down(animate=False)
                await wait_settled(pilot)
            screen.query_one(TabbedContent).active = "tab-details"
            await wait_settled(pilot)
            shown.append(_rendered(app))
            shown.append(app.export_screenshot())
            await pilot.press("q")
            await wait_settled(pilot)
    return "\n".join(shown)


def _rendered(app: Any) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


@pytest.mark.timeout(600)
@pytest.mark.anyio
async def test_no_secret_survives_anywhere(tmp_path: Path, smtpd: SmtpServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import anyio

    root = tmp_path / "ws"
    ws = make_workspace(root, smtpd.port, monkeypatch)
    runs = {}
    for name in ("script", "duft", "command", "notebook", "mailed"):
        runs[name] = await anyio.to_thread.run_sync(ws.run, f"p/{name}")
    for name, run in runs.items():
        expected = RunStatus.SUCCEEDED if name == "duft" else RunStatus.FAILED
        assert run.status == expected, (name, ws.lines(run.id))
        assert len(ws.lines(run.id)) > 20 or name == "command", (name, ws.lines(run.id))
    lines = {run.id: ws.lines(run.id) for run in runs.values()}
    # The corpus really printed (masked) secrets: every way left its mark.
    script_lines = "\n".join(ws.lines(runs["script"].id))
    assert script_lines.count("********") >= 2 * len(WAYS)
    assert "Authorization: Basic ********" in script_lines
    assert "shim message ******** ********" in "\n".join(ws.lines(runs["duft"].id))

    found: list[str] = []
    state = root / ".duftui" / "state.db"
    for suffix in ("", "-wal"):  # while the supervisor's store is still open
        if Path(f"{state}{suffix}").exists():
            found += hits(f"state.db{suffix}", Path(f"{state}{suffix}").read_bytes())
    ws.close()

    cli = Cli(root)
    for run in runs.values():
        result = cli("logs", str(run.id))
        assert result.exit_code == 0
        found += hits(f"duftui logs {run.id}", result.output)
    listing = cli("runs", "--json")
    assert listing.exit_code == 0 and str(runs["mailed"].id) in listing.output
    found += hits("duftui runs --json", listing.output)
    for flag, name in (("--csv", "history.csv"), ("--json", "history.json")):
        result = cli("history", "export", flag, str(tmp_path / name))
        assert result.exit_code == 0, result.output
        found += hits(f"history export {flag}", (tmp_path / name).read_bytes())

    files = [p for p in (root / ".duftui").rglob("*") if p.is_file()]
    saved = [p for p in files if p.suffix == ".ipynb"]
    assert saved, "the executed notebook is saved in its run folder"
    assert "params = {'token': '********'" in saved[0].read_text()
    for path in files:
        found += hits(str(path.relative_to(root)), path.read_bytes())

    assert smtpd.messages, "the failure mail was sent"
    for _sender, _to, raw in smtpd.messages:
        found += hits("mail (raw)", raw)
        mail = email.message_from_bytes(raw, policy=policy.default)
        found += hits("mail subject", str(mail["Subject"]))
        for part in mail.walk():
            if not part.is_multipart():
                found += hits("mail part", str(part.get_content()))
    body = email.message_from_bytes(smtpd.messages[-1][2], policy=policy.default)
    text = body.get_body(("plain",)).get_content()
    assert "Last " in text and "token ******** run" in text and "********" in body["Subject"]

    counts = {run.id: len(lines[run.id]) for run in runs.values()}
    found += hits("console", await screen_text(root, counts))
    assert found == [], "\n".join(found)
