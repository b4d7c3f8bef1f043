"""Running uv: its binary (from the `uv` package), the index settings it is given, and
the rule that it never downloads a Python.

uv does not read pip's configuration, so the indexes pip is configured with (PIP_INDEX_URL,
PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS and the `[global]`/`[install]` sections of pip.conf) are
passed on as uv options, unless uv's own variables (UV_INDEX_URL, UV_DEFAULT_INDEX,
UV_EXTRA_INDEX_URL, UV_INDEX, UV_FIND_LINKS) are set: then uv reads those itself. Like pip,
the best version from all indexes is taken (`--index-strategy unsafe-best-match`).
"""

from __future__ import annotations

import configparser
import functools
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PIP_KEYS = ("index-url", "extra-index-url", "find-links", "constraint", "cert")
UV_OWN = ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_FIND_LINKS")
NO_DOWNLOAD = ["--python-preference", "only-system", "--no-python-downloads"]


class UvError(Exception):
    """uv failed; the message carries uv's own words."""


@dataclass(frozen=True)
class IndexSettings:
    """Where packages come from (room for `[environments]` in duftui.toml to set these)."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()  # pip's `constraint`: applied when locking
    cert: str | None = None  # pip's `cert`: uv reads it as SSL_CERT_FILE
    from_uv_env: bool = False
    sources: tuple[str, ...] = field(default=())

    def args(self, locking: bool = False) -> list[str]:
        out: list[str] = []
        if locking:
            for path in self.constraints:
                out += ["--constraint", path]
        if self.from_uv_env:
            return out
        if self.index_url:
            out += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            out += ["--extra-index-url", url]
        for link in self.find_links:
            out += ["--find-links", link]
        if self.extra_index_urls or self.find_links:
            # pip takes the best version from all its indexes; uv's default would stop at
            # the first index that knows the name.
            out += ["--index-strategy", "unsafe-best-match"]
        return out


def uv_bin() -> str:
    """The uv binary the `uv` package installed."""
    from uv import find_uv_bin

    return find_uv_bin()


def _pip_config_files() -> list[Path]:
    chosen = os.environ.get("PIP_CONFIG_FILE")
    if chosen:
        return [] if chosen == os.devnull else [Path(chosen)]
    xdg = os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
    home = Path.home()
    files = [Path(d) / "pip" / "pip.conf" for d in xdg] + [Path("/etc/pip.conf")]
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    files += [home / ".pip" / "pip.conf", config_home / "pip" / "pip.conf"]
    venv = os.environ.get("VIRTUAL_ENV") or (sys.prefix if sys.prefix != sys.base_prefix else "")
    if venv:
        files.append(Path(venv) / "pip.conf")
    return files


def index_settings(environ: dict[str, str] | None = None) -> IndexSettings:
    """pip's index settings, read the way pip reads them (files, then PIP_* variables)."""
    env = os.environ if environ is None else environ
    pip = _pip_settings(tuple(str(p) for p in _pip_config_files()),
                        tuple((k, v) for k, v in env.items() if k.startswith("PIP_")))
    if any(env.get(name) for name in UV_OWN):
        return IndexSettings(constraints=pip.constraints, cert=pip.cert, from_uv_env=True,
                             sources=("uv variables",))
    return pip


@functools.lru_cache(maxsize=8)
def _pip_settings(files: tuple[str, ...], pip_env: tuple[tuple[str, str], ...]) -> IndexSettings:
    values: dict[str, str] = {}
    sources = []
    for name in files:
        parser = configparser.RawConfigParser()
        try:
            if not parser.read(name, encoding="utf-8"):
                continue
        except configparser.Error:
            continue
        sources.append(name)
        for section in ("global", "install"):
            if parser.has_section(section):
                for key in PIP_KEYS:
                    if parser.has_option(section, key):
                        values[key] = parser.get(section, key)
    for key, value in pip_env:
        option = key[4:].lower().replace("_", "-")
        if option in PIP_KEYS:
            values[option] = value
            sources.append(key)
    return IndexSettings(
        index_url=values.get("index-url") or None,
        extra_index_urls=tuple(values.get("extra-index-url", "").split()),
        find_links=tuple(values.get("find-links", "").split()),
        constraints=tuple(p for p in values.get("constraint", "").split() if os.path.isfile(p)),
        cert=values.get("cert") or None,
        sources=tuple(sources),
    )


def uv_env(cache_dir: str | None = None) -> dict[str, str]:
    """uv's environment: never a Python download, no project discovery, quiet colours."""
    env = dict(os.environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_PYTHON_PREFERENCE"] = "only-system"
    env["NO_COLOR"] = "1"
    cert = index_settings(env).cert
    if cert and "SSL_CERT_FILE" not in env and os.path.isfile(cert):
        env["SSL_CERT_FILE"] = cert
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    if cache_dir:
        env["UV_CACHE_DIR"] = cache_dir
    return env


def run_uv(args: list[str], cwd: Path | None = None, stdin: str | None = None,
           timeout: float | None = 900) -> str:
    """uv's stdout; UvError with the end of its stderr when it fails."""
    try:
        done = subprocess.run([uv_bin(), *args], cwd=cwd, input=stdin, capture_output=True,
                              text=True, env=uv_env(), timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UvError(f"uv could not run: {exc}") from None
    if done.returncode != 0:
        said = "\n".join(line for line in done.stderr.strip().splitlines() if line.strip())
        raise UvError(said[-2000:] or f"uv exited with code {done.returncode}")
    return done.stdout


@dataclass(frozen=True)
class Interpreter:
    path: str  # the interpreter's real path
    version: str  # "3.12.1"

    @property
    def ident(self) -> str:
        return f"{self.version}@{self.path}"


def find_interpreter(wanted: str | None) -> Interpreter:
    """The local interpreter `wanted` names (None: duftui's own); never a download."""
    if wanted is None:
        base = getattr(sys, "_base_executable", sys.executable) or sys.executable
        return Interpreter(os.path.realpath(base), ".".join(map(str, sys.version_info[:3])))
    return _find(wanted)


@functools.lru_cache(maxsize=64)
def _find(wanted: str) -> Interpreter:
    looks_like_path = os.sep in wanted or wanted.startswith("~")
    if looks_like_path:
        path = os.path.expanduser(wanted)
        if not os.access(path, os.X_OK):
            raise UvError(f"python = {wanted!r}: no executable interpreter at that path")
    else:
        try:
            path = run_uv(["python", "find", *NO_DOWNLOAD, wanted], timeout=60).strip()
        except UvError as exc:
            raise UvError(
                f"python = {wanted!r}: no such Python is installed on this machine "
                "(duftui never downloads one: install it, or give a path to an interpreter); "
                f"uv said: {str(exc).splitlines()[0] if str(exc) else ''}"
            ) from None
    try:
        version = subprocess.run(
            [path, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise UvError(f"python = {wanted!r}: {path} does not run ({exc})") from None
    return Interpreter(os.path.realpath(path), version)
