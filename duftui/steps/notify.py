"""The `[notify]` step: an e-mail through SMTP on success and/or failure.

Subject and body are templates: `{task}`, `{name}`, `{project}`, `{run_id}`, `{status}`,
`{attempt}`, `{error}`, `{logical_time}`, `{started_at}`, `{duration}`, `{host}`,
`{files}`, `{rows}` and `{params[NAME]}` (plus `parse(…)` date templates). The output can
be attached or embedded in the body, up to `max_attach_kb`; a failure mail carries the
last `log_lines` lines of the log.

The step runner's lines reach the mail before the supervisor masks the log stream, so the
mail is masked here, whole: subject, body (error, log lines, embedded output) and text
attachments. A binary attachment in which a secret shows is left out, with a note.
"""

from __future__ import annotations

import mimetypes
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from duftui.definitions.masking import Masker
from duftui.definitions.models import Notify
from duftui.engine.templates import TemplateError, expand
from duftui.steps.errors import StepError
from duftui.steps.report import human_size

DEFAULT_SUBJECT = "[duftui] {task} {status} (run {run_id})"
DEFAULT_BODY = (
    "Task {task} ({name}) {status}.\n\n"
    "Run {run_id}, attempt {attempt}, logical time {logical_time}, on {host}; "
    "took {duration}.\nFiles: {files}\n"
)
EMBED_FORMATS = (".csv", ".tsv", ".psv", ".txt", ".json", ".jsonl", ".md5", ".log")


@dataclass
class Notice:
    """What happened in the run, for the templates."""

    fields: dict[str, Any]
    status: str
    error: str | None = None
    files: list[Path] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    masker: Masker = field(default_factory=Masker)


class _Keep(dict):
    """Unknown `{fields}` stay as they are instead of failing the mail."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, fields: dict[str, Any], at: Any) -> str:
    try:
        text = template.format_map(_Keep(fields))
    except (ValueError, IndexError, KeyError, AttributeError):
        text = template
    try:
        return expand(text, at)
    except TemplateError:
        return text


def recipients_for(notify: Notify, status: str) -> list[str]:
    return list(notify.on_success if status == "succeeded" else notify.on_failure)


def build_message(notify: Notify, notice: Notice, sender: str, at: Any) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients_for(notify, notice.status))
    mask = notice.masker.mask
    message["Subject"] = mask(render(notify.subject or DEFAULT_SUBJECT, notice.fields, at)).replace(
        "\n", " "
    )
    body = render(notify.body or DEFAULT_BODY, notice.fields, at)
    limit = notify.max_attach_kb * 1024
    if notice.error:
        body += f"\nError:\n{notice.error}\n"
    if notify.embed_output:
        body += _embedded(notice.files, limit)
    if notice.status != "succeeded" and notify.log_lines and notice.tail:
        lines = _masked_tail(notice.tail[-notify.log_lines :], notice.masker)
        body += f"\nLast {len(lines)} log lines:\n" + "\n".join(lines) + "\n"
    attach = [p for p in notice.files if p.is_file()] if notify.attach_output else []
    total = sum(p.stat().st_size for p in attach)
    if attach and total > limit:
        body += (
            f"\n(The output, {human_size(total)}, is not attached: the limit is "
            f"{notify.max_attach_kb} KiB, max_attach_kb.)\n"
        )
        attach = []
    parts = []
    for path in attach:
        kind, _ = mimetypes.guess_type(path.name)
        main, sub = (kind or "application/octet-stream").split("/", 1)
        data = _masked_attachment(path.read_bytes(), main == "text", notice)
        if data is None:
            body += f"\n({mask(path.name)} is not attached: a secret shows in it.)\n"
            continue
        parts.append((data, main, sub, mask(path.name)))
    message.set_content(mask(body))
    for data, main, sub, name in parts:
        params = {"charset": notice.encoding} if main == "text" else {}
        message.add_attachment(data, maintype=main, subtype=sub, filename=name, params=params)
    return message


_TAIL_LABEL = re.compile(r"\S+ +")


def _masked_tail(lines: list[str], masker: Masker) -> list[str]:
    """The log lines without their "stdout  " labels are masked as one block, so a
    secret printed over two lines is found as the supervisor finds it in the log."""
    if not masker:
        return lines
    labels = [m.group(0) if (m := _TAIL_LABEL.match(line)) else "" for line in lines]
    texts = masker.mask_lines([line[len(label):] for line, label in zip(lines, labels,
                                                                         strict=True)])
    return [label + text for label, text in zip(labels, texts, strict=True)]


def _masked_attachment(data: bytes, text: bool, notice: Notice) -> bytes | None:
    """A text attachment with its secrets masked; a binary one as it is, or None when a
    secret shows in its bytes (it cannot be masked without breaking the file)."""
    masker = notice.masker
    if not masker:
        return data
    if text:
        try:
            decoded = data.decode(notice.encoding)
        except (UnicodeDecodeError, LookupError):
            text = False
        else:
            return masker.mask(decoded).encode(notice.encoding, errors="replace")
    as_text = data.decode("latin-1")
    if masker.mask(as_text) != as_text or masker.mask(data.decode("utf-8", "replace")) != (
        data.decode("utf-8", "replace")
    ):
        return None
    return data


def _embedded(files: list[Path], limit: int) -> str:
    texts = [p for p in files if p.suffix.lower() in EMBED_FORMATS and p.is_file()]
    if not texts:
        return "\n(No text output to embed.)\n" if files else ""
    path = texts[0]
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    cut = len(data) > limit
    text = data[:limit].decode("utf-8", errors="replace")
    note = f"\n[… cut at {limit // 1024} KiB, max_attach_kb]" if cut else ""
    return f"\n--- {path.name} ---\n{text}{note}\n"


def send(notify: Notify, notice: Notice, values: dict[str, Any], at: Any) -> list[str]:
    """Send the mail; returns the recipients. StepError with a clear reason on failure."""
    host, port = str(values["host"]), int(values.get("port") or 25)
    where = f"notify: SMTP {host}:{port}"
    message = build_message(notify, notice, str(values["sender"]), at)
    timeout = float(values.get("timeout") or 30)
    try:
        if values.get("ssl"):
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if values.get("starttls"):
                client.starttls(context=ssl.create_default_context())
            if values.get("username") and values.get("password"):
                client.login(str(values["username"]), str(values["password"]))
            client.send_message(message)
    except ConnectionRefusedError:
        raise StepError(f"{where}: connection refused (is the mail server running?)") from None
    except smtplib.SMTPAuthenticationError as exc:
        raise StepError(
            f"{where}: login refused ({exc.smtp_code} {exc.smtp_error.decode(errors='replace')})"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(sorted(exc.recipients))
        raise StepError(f"{where}: recipients refused: {refused}") from None
    except smtplib.SMTPResponseException as exc:
        raise StepError(
            f"{where}: the server answered {exc.smtp_code} "
            f"{exc.smtp_error.decode(errors='replace')}"
        ) from None
    except (TimeoutError, smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise StepError(f"{where}: {exc}") from None
    return recipients_for(notify, notice.status)
