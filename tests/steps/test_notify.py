"""E-mail notices through a real SMTP server (aiosmtpd): templates, attachments, the log
tail on failure, the size limit, a mail server that is down, and a run that times out."""

from __future__ import annotations

from datetime import UTC, datetime

from duftui.store.states import RunStatus
from tests.steps.conftest import StepWorkspace
from tests.steps.servers import SmtpServer, free_port

AT = datetime(2026, 3, 15, 6, 15, tzinfo=UTC)


def text_of(mail) -> str:  # type: ignore[no-untyped-def]
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


def notify_task(ws: StepWorkspace, name: str, query: str, notify: str, extra: str = "") -> str:
    ws.empty_database("db")
    return ws.task(
        name,
        f'name = "Nightly {name}"\n{extra}\n[run]\nkind = "sql"\n[source]\n'
        f'connection = "db"\nquery = """{query}"""\n'
        f'[output]\nname = "{name}.csv"\nmd5 = false\n[notify]\n{notify}\n',
    )


def test_success_mail_with_templates_and_attachment(sws: StepWorkspace, smtpd: SmtpServer) -> None:
    sws.connection(
        "smtp",
        {"type": "smtp", "host": "127.0.0.1", "port": smtpd.port, "sender": "duftui@example.org"},
    )
    key = notify_task(
        sws,
        "ok",
        "SELECT 'Zoë' AS name, 'a,b' AS note",
        'on_success = ["ops@example.org", "boss@example.org"]\n'
        'subject = "{task} {status}: {rows} row(s) for parse(%Y-%m-%d-1)"\n'
        'body = "Run {run_id} of {name} wrote {files}. {unknown} stays."\n'
        "attach_output = true\n",
    )
    run = sws.run(key, at=AT)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    [(sender, recipients, _raw)] = smtpd.messages
    assert sender == "duftui@example.org"
    assert recipients == ["ops@example.org", "boss@example.org"]
    mail = smtpd.parsed()
    assert mail["Subject"] == "p/ok succeeded: 1 row(s) for 2026-03-14"
    body = text_of(mail)
    assert f"Run {run.id} of Nightly ok wrote ok.csv. {{unknown}} stays." in body
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "ok.csv"
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_content() == (sws.run_dir(run.id) / "ok.csv").read_text()
    assert any(line.startswith("notify: done in") for line in sws.lines(run.id))


def test_failure_mail_carries_the_error_and_log_tail(sws: StepWorkspace, smtpd: SmtpServer) -> None:
    sws.connection(
        "smtp",
        {"type": "smtp", "host": "127.0.0.1", "port": smtpd.port, "sender": "duftui@example.org"},
    )
    key = notify_task(
        sws,
        "bad",
        "SELECT * FROM nowhere",
        'on_failure = ["ops@example.org"]\non_success = ["nobody@example.org"]\nlog_lines = 5\n',
    )
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    mail = smtpd.parsed()
    assert mail["To"] == "ops@example.org"
    assert mail["Subject"] == f"[duftui] p/bad failed (run {run.id})"
    body = text_of(mail)
    assert "Error:\nsource: query failed: no such table: nowhere" in body
    tail = body.split("Last ")[1].splitlines()
    assert tail[0].endswith("log lines:") and len(tail) - 1 <= 5
    assert any("source: sql: started" in line for line in tail)


def test_large_output_is_not_attached_and_embedding_is_cut(
    sws: StepWorkspace, smtpd: SmtpServer
) -> None:
    sws.connection(
        "smtp",
        {"type": "smtp", "host": "127.0.0.1", "port": smtpd.port, "sender": "duftui@example.org"},
    )
    big = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 500) "
        "SELECT x, 'some padding text' AS pad FROM c"
    )
    key = notify_task(
        sws,
        "big",
        big,
        'on_success = ["ops@example.org"]\nattach_output = true\n'
        "embed_output = true\nmax_attach_kb = 1\n",
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    mail = smtpd.parsed()
    assert list(mail.iter_attachments()) == []
    body = text_of(mail)
    assert "is not attached: the limit is 1 KiB, max_attach_kb" in body
    assert "--- big.csv ---\nx,pad\n1,some padding text\n" in body
    assert "[… cut at 1 KiB, max_attach_kb]" in body


def test_mail_server_down_fails_the_run_and_keeps_its_files(sws: StepWorkspace) -> None:
    port = free_port()
    sws.connection(
        "smtp", {"type": "smtp", "host": "127.0.0.1", "port": port, "sender": "duftui@example.org"}
    )
    key = notify_task(sws, "nomail", "SELECT 1 AS x", 'on_success = ["ops@example.org"]\n')
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    assert f"notify: SMTP 127.0.0.1:{port}: connection refused (is the mail server running?)" in (
        run.error or ""
    )
    [row] = sws.outputs(run.id)
    assert row.path.endswith("nomail.csv") and row.md5
    assert any("pipeline: succeeded" in line for line in sws.lines(run.id))


def test_a_run_that_times_out_still_sends_its_failure_mail(
    sws: StepWorkspace, smtpd: SmtpServer
) -> None:
    sws.connection(
        "smtp",
        {"type": "smtp", "host": "127.0.0.1", "port": smtpd.port, "sender": "duftui@example.org"},
    )
    endless = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    )
    key = notify_task(
        sws, "slow", endless, 'on_failure = ["ops@example.org"]\n', extra='timeout = "3s"'
    )
    run = sws.run(key)
    assert run.status == RunStatus.TIMED_OUT
    mail = smtpd.parsed()
    assert mail["Subject"] == f"[duftui] p/slow timed out (run {run.id})"
    assert "the run was timed out while a step was running" in text_of(mail)
