"""The files source (`run.kind = "files"`): copy the files matching a glob from a local
folder, SFTP, FTP or SMB into the run's folder (`source/…`, keeping sub-folders), and
after a successful run delete the originals when `delete_after` asks for it.

The names come from the server. A listed name that is not a plain file name (`../x`,
`/etc/x`, `a\\b`, `..`, NUL …) is skipped with a warning; when nothing else matches, the
step fails and names them. Each local path is checked to be below `source/` before it
is written, and written through a private temporary file (never through a link)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from duftui.engine.templates import TemplateError, expand_name
from duftui.steps.context import StepContext
from duftui.steps.errors import StepError, os_error_text
from duftui.steps.remote import Found, open_remote
from duftui.steps.report import Reporter, human_size
from duftui.steps.safe_names import UnsafeName, join_inside
from duftui.steps.safe_write import write_safely


@dataclass
class Fetched:
    files: list[Path] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)
    pattern: str = ""
    where: str = ""


def source_pattern(ctx: StepContext) -> str:
    source = ctx.spec.source
    assert source is not None and source.path
    try:
        return expand_name(source.path, ctx.logical_time)
    except TemplateError as exc:
        raise StepError(f"source: path {source.path!r}: {exc}") from None


def fetch_files(ctx: StepContext, reporter: Reporter) -> Fetched:
    source = ctx.spec.source
    assert source is not None
    pattern = source_pattern(ctx)
    target = ctx.output_dir / "source"
    fetched = Fetched(pattern=pattern)
    with open_remote("files", source.connection, ctx.connections, ctx.workspace) as remote:
        fetched.where = remote.label
        fetched.found = remote.glob(pattern, source.recursive)
        for note in remote.refused:
            reporter.warning(f"source: {note}")
        if remote.refused and not fetched.found:
            raise StepError(
                f"source: {remote.label} listed only file names that would write outside "
                f"the run's folder, so none was taken ({_first(remote.refused)}); nothing "
                f"else matches {pattern}"
            )
        reporter.info(
            f"source: {len(fetched.found)} file(s) match {pattern} on {remote.label}"
            + (" (recursive)" if source.recursive else "")
            + (f"; {len(remote.refused)} unsafe name(s) skipped" if remote.refused else "")
        )
        total = 0
        for index, item in enumerate(fetched.found, 1):
            local = _local_path(target, item)
            try:
                local.parent.mkdir(parents=True, exist_ok=True)
                with write_safely(local) as (handle, _):
                    remote.download(item.path, handle)
            except OSError as exc:
                raise StepError(f"source: cannot write {local}: {os_error_text(exc)}") from None
            size = local.stat().st_size
            total += size
            reporter.output(local, "source")
            reporter.info(f"source: {item.path} ({human_size(size)})")
            reporter.progress(index, len(fetched.found), "files")
            fetched.files.append(local)
    return fetched


def _local_path(target: Path, item: Found) -> Path:
    try:
        return join_inside(target, item.rel, "source: the listed name")
    except UnsafeName as exc:
        raise StepError(str(exc)) from None


def _first(notes: list[str]) -> str:
    more = len(notes) - 1
    return notes[0] + (f", and {more} more" if more else "")


def delete_sources(ctx: StepContext, fetched: Fetched, reporter: Reporter) -> None:
    """Remove the originals (only called once every later step succeeded)."""
    source = ctx.spec.source
    assert source is not None
    with open_remote("files", source.connection, ctx.connections, ctx.workspace) as remote:
        for item in fetched.found:
            remote.remove(item.path)
            reporter.info(f"source: deleted {item.path} on {remote.label} (delete_after)")
