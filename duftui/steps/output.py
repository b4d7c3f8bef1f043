"""The `[output]` step: write rows in the chosen format under a templated name, then — in
Atlas order (DESIGN §7) — encrypt with GPG, write an `.md5` file, and zip.

Files are written under a private temporary name (`.NAME.<random>.part`, created with
O_EXCL | O_NOFOLLOW) and moved to their final name when complete, so a failed or killed
run never leaves a half-written file under the final name and a symlink planted at either
name never redirects the write (see safe_write). A name that leaves the run's folder is
refused unless `[output] allow_outside = true`.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from duftui.definitions.models import Output
from duftui.engine.templates import TemplateError, expand_name
from duftui.steps.errors import StepError, os_error_text
from duftui.steps.formats import EXTENSIONS, Rows, open_writer
from duftui.steps.report import Reporter, human_size, md5_of
from duftui.steps.safe_names import climb_problem
from duftui.steps.safe_write import create_temp, exists, publish, write_safely


def target_path(
    template: str,
    at: datetime,
    folder: Path,
    extension: str | None = None,
    params: Mapping[str, Any] | None = None,
    allow_outside: bool = False,
    field: str = "name",
) -> Path:
    """A templated file name; relative names land in the run's folder. A name without any
    suffix gets the format's extension ("output_%Y%m%d" → "output_20260101.csv").
    `params` lets the name use `{param}` / `{param:%Y%m%d}` (engine.templates); without
    them braces are left as they are. A name that leaves the folder is refused unless
    `allow_outside`."""
    try:
        name = expand_name(template, at, params)
    except TemplateError as exc:
        raise StepError(f"output: file name {template!r}: {exc}") from None
    problem = None if allow_outside else climb_problem(name)
    if problem is not None:
        shown = repr(template) + (f" (here {name!r})" if name != template else "")
        raise StepError(
            f"output: {field} {shown} is outside the run's folder: {problem}; name a file "
            "inside it, or set allow_outside = true in [output]"
        )
    path = Path(name).expanduser()
    if extension and not path.suffix:
        path = path.with_name(f"{path.name}.{extension}")
    return path if path.is_absolute() else folder / path


def claim(path: Path, overwrite: bool) -> Path:
    """Check the overwrite rule before writing (a symlink counts as a file); create the
    folder."""
    if exists(path) and not overwrite:
        raise _exists_error(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StepError(
            f"output: cannot create folder {path.parent}: {os_error_text(exc)}"
        ) from None
    return path


def _exists_error(path: Path) -> StepError:
    return StepError(
        f"output: {path} already exists and overwrite = false; remove it or set overwrite = true"
    )


def _publish(part: Path, path: Path, overwrite: bool) -> None:
    """Move a finished part to its name; a symlink there is replaced, never followed."""
    try:
        publish(part, path, overwrite)
    except FileExistsError:
        raise _exists_error(path) from None


def _new_part(path: Path) -> Path:
    """A fresh, private, empty temporary file beside `path`, for writers that open by name."""
    try:
        fd, part = create_temp(path)
    except OSError as exc:
        raise StepError(f"output: cannot create {path}: {os_error_text(exc)}") from None
    os.close(fd)
    return part


def write_rows(
    path: Path,
    output: Output,
    columns: list[str],
    blocks: Iterable[Rows],
    on_block: Callable[[int], None] | None = None,
) -> int:
    """Stream row blocks into `path`; returns the number of rows written."""
    claim(path, output.overwrite)
    part = _new_part(path)
    try:
        writer = open_writer(part, output)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise StepError(f"output: cannot create {path}: {os_error_text(exc)}") from None
    try:
        writer.begin(columns)
        for block in blocks:
            writer.write(block)
            if on_block is not None:
                on_block(writer.rows)
        writer.close()
        _publish(part, path, output.overwrite)
    except BaseException as exc:
        try:
            writer.abort()
        except OSError:
            pass
        part.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StepError(f"output: cannot write {path}: {os_error_text(exc)}") from None
        raise
    return writer.rows


def rows_file(
    output: Output, at: datetime, folder: Path, params: Mapping[str, Any] | None = None
) -> Path:
    return target_path(
        output.name, at, folder, EXTENSIONS.get(output.format), params, output.allow_outside
    )


def rename_files(
    files: list[Path],
    output: Output,
    at: datetime,
    folder: Path,
    reporter: Reporter,
    params: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Files from a source or script keep their names, unless `[output] name` is set and
    there is one file: then it is copied to that (templated) name."""
    if "name" not in output.model_fields_set or len(files) != 1:
        return files
    target = claim(
        target_path(output.name, at, folder, params=params, allow_outside=output.allow_outside),
        output.overwrite,
    )
    if target.resolve() == files[0].resolve():
        return files
    _copy(files[0], target, output.overwrite)
    reporter.output(target, "output")
    return [target]


def _copy(source: Path, target: Path, overwrite: bool) -> None:
    try:
        with open(source, "rb") as reader, write_safely(target, overwrite) as (handle, _):
            shutil.copyfileobj(reader, handle, 1 << 20)
    except FileExistsError:
        raise _exists_error(target) from None
    except OSError as exc:
        raise StepError(
            f"output: cannot copy {source.name} to {target}: {os_error_text(exc)}"
        ) from None


def finish_files(
    files: list[Path],
    output: Output,
    at: datetime,
    folder: Path,
    reporter: Reporter,
    params: Mapping[str, Any] | None = None,
) -> list[Path]:
    """GPG → md5 → zip; returns the files to deliver."""
    current = list(files)
    if output.gpg_recipient:
        current = [encrypt(path, output, folder, reporter) for path in current]
    sums: list[Path] = []
    if output.md5:
        for path in current:
            target = claim(folder / f"{path.name}.md5", output.overwrite)
            line = f"{md5_of(path)}  {path.name}\n".encode()
            try:
                with write_safely(target, output.overwrite) as (handle, _):
                    handle.write(line)
            except FileExistsError:
                raise _exists_error(target) from None
            except OSError as exc:
                raise StepError(f"output: cannot write {target}: {os_error_text(exc)}") from None
            reporter.output(target, "output")
            sums.append(target)
    if not output.zip:
        return current + sums
    return [make_zip(current, sums, output, at, folder, reporter, params)]


def encrypt(path: Path, output: Output, folder: Path, reporter: Reporter) -> Path:
    """Encrypt one file to the recipient's public key with python-gnupg (binary .gpg)."""
    import gnupg

    recipient = output.gpg_recipient
    target = claim(folder / f"{path.name}.gpg", output.overwrite)
    home = os.path.expanduser(output.gpg_home) if output.gpg_home else None
    try:
        # Keys come from the local keyring only: never a network lookup (WKD, keyservers).
        gpg = gnupg.GPG(
            gnupghome=home, options=["--auto-key-locate", "local", "--no-auto-key-retrieve"]
        )
    except (OSError, ValueError) as exc:
        raise StepError(
            f"output: gpg is not usable ({exc}); install GnuPG or fix gpg_home"
        ) from None
    part = _new_part(target)
    with open(path, "rb") as handle:
        result = gpg.encrypt_file(
            handle, [recipient], output=str(part), armor=False, always_trust=output.gpg_always_trust
        )
    if not result.ok or not part.exists() or part.stat().st_size == 0:
        part.unlink(missing_ok=True)
        detail = _gpg_reason(result.status, result.stderr)
        raise StepError(
            f"output: gpg could not encrypt {path.name} to {recipient!r}: {detail}"
            f" (is the public key in the keyring{' ' + home if home else ''}?)"
        )
    try:
        _publish(part, target, output.overwrite)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    reporter.output(target, "output")
    reporter.info(f"output: encrypted {path.name} for {recipient} → {target.name}")
    return target


def _gpg_reason(status: str | None, stderr: str | None) -> str:
    lines = [
        line.removeprefix("gpg: ")
        for line in (stderr or "").splitlines()
        if line.startswith("gpg: ")
    ]
    return "; ".join(lines[-2:]) or status or "unknown error"


def make_zip(
    data: list[Path],
    sums: list[Path],
    output: Output,
    at: datetime,
    folder: Path,
    reporter: Reporter,
    params: Mapping[str, Any] | None = None,
) -> Path:
    """One archive of the data files and their .md5 files: `zip_name`, else the single
    data file's name + ".zip", else the output name + ".zip"."""
    files = data + sums
    outside = output.allow_outside
    if output.zip_name:
        target = target_path(output.zip_name, at, folder, "zip", params, outside, "zip_name")
    elif len(data) == 1:
        target = folder / f"{data[0].name}.zip"
    else:
        base = target_path(output.name, at, folder, params=params, allow_outside=outside)
        target = base if base.suffix == ".zip" else base.with_name(f"{base.name}.zip")
    claim(target, output.overwrite)
    try:
        with (
            write_safely(target, output.overwrite) as (handle, _),
            zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive,
        ):
            for path in files:
                archive.write(path, arcname=path.name)
    except FileExistsError:
        raise _exists_error(target) from None
    except OSError as exc:
        raise StepError(f"output: cannot write {target}: {os_error_text(exc)}") from None
    reporter.output(target, "output")
    reporter.info(
        f"output: zipped {len(files)} file(s) into {target.name} "
        f"({human_size(target.stat().st_size)})"
    )
    return target
