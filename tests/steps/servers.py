"""Real servers on 127.0.0.1 for the step tests: SSH/SFTP (asyncssh), FTP/FTPS
(pyftpdlib), SMTP (aiosmtpd), HTTP (http.server) and SMB (samba's smbd, when installed).

Each runs in a background thread (or, for smbd, a child process) of the test process and
listens on a free loopback port; nothing here talks to any other address.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import functools
import http.server
import ipaddress
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import asyncssh

HOST = "127.0.0.1"
USER, PASSWORD = "tester", "secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_listening(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on {HOST}:{port}") from None
            time.sleep(0.05)


class _LoopThread:
    """An asyncio loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Any, timeout: float = 20.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


# -- SSH / SFTP -------------------------------------------------------------------------


class _FullDisk(asyncssh.SFTPServer):
    """An SFTP server whose disk is full: every write fails with ENOSPC."""

    def write(self, file_obj: Any, offset: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def _hostile_sftp(names: list[str]) -> type[asyncssh.SFTPServer]:
    """An SFTP server whose every directory listing also holds `names` (`../x`, `/abs`,
    `a\\b` …) as regular files: what a hostile or broken server may send."""

    class Hostile(asyncssh.SFTPServer):
        def listdir(self, path: bytes) -> list[bytes | asyncssh.SFTPName]:
            real = os.listdir(self.map_path(path))
            attrs = asyncssh.SFTPAttrs(
                type=asyncssh.FILEXFER_TYPE_REGULAR, size=5, permissions=stat.S_IFREG | 0o644
            )
            planted = [asyncssh.SFTPName(name.encode(), attrs=attrs) for name in names]
            return [b".", b"..", *real, *planted]

    return Hostile


class _DropMidFile(asyncssh.SFTPServer):
    """Writes the first block of an upload, then drops the whole connection."""

    def write(self, file_obj: Any, offset: int, data: bytes) -> int:
        if offset > 0:
            self.channel.get_connection().abort()
            raise asyncssh.SFTPConnectionLost("dropped by the test server")
        return super().write(file_obj, offset, data)


class SshServer:
    """asyncssh SSH server with SFTP (chrooted to `root`) and shell commands (run locally
    with /bin/sh in `root`). Password login for tester/secret. `hostile_names` are added
    to every listing; `drop_uploads` drops the connection in the middle of an upload."""

    def __init__(
        self,
        root: Path,
        state: Path,
        *,
        full_disk: bool = False,
        hostile_names: list[str] | None = None,
        drop_uploads: bool = False,
    ) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        state.mkdir(parents=True, exist_ok=True)
        self.key = asyncssh.generate_private_key("ssh-ed25519")
        self.known_hosts = state / "known_hosts"
        self.logins: list[str] = []
        self.commands: list[asyncio.subprocess.Process] = []
        self._thread = _LoopThread()
        factory: type[asyncssh.SFTPServer] = asyncssh.SFTPServer
        if full_disk:
            factory = _FullDisk
        elif hostile_names:
            factory = _hostile_sftp(hostile_names)
        elif drop_uploads:
            factory = _DropMidFile
        outer = self

        class Server(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                outer.logins.append(username)
                return username == USER and password == PASSWORD

        async def start() -> asyncssh.SSHAcceptor:
            return await asyncssh.create_server(
                Server,
                HOST,
                0,
                server_host_keys=[self.key],
                sftp_factory=lambda chan: factory(chan, chroot=str(root)),
                process_factory=self._command,
                encoding="utf-8",
            )

        self.server = self._thread.call(start())
        self.port = self.server.sockets[0].getsockname()[1]
        self.trust()

    def trust(self, key: asyncssh.SSHKey | None = None) -> None:
        """Write known_hosts with this server's key (or another one: a mismatch)."""
        public = (key or self.key).export_public_key().decode().strip()
        self.known_hosts.write_text(f"[{HOST}]:{self.port} {public}\n")

    async def _command(self, process: asyncssh.SSHServerProcess) -> None:
        proc = await asyncio.create_subprocess_shell(
            process.command or "true",
            cwd=self.root,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )

        async def pipe(source: asyncio.StreamReader, target: Any) -> None:
            while line := await source.readline():
                target.write(line.decode("utf-8", errors="replace"))

        async def feed() -> None:  # the client's stdin, up to its EOF (a script for `sh -s`)
            assert proc.stdin is not None
            data = await process.stdin.read()
            with contextlib.suppress(ConnectionError):
                proc.stdin.write(data.encode("utf-8") if isinstance(data, str) else data)
                await proc.stdin.drain()
            proc.stdin.close()

        assert proc.stdout is not None and proc.stderr is not None
        self.commands.append(proc)
        await asyncio.gather(
            feed(), pipe(proc.stdout, process.stdout), pipe(proc.stderr, process.stderr)
        )
        process.exit(await proc.wait())

    async def _reap(self) -> None:
        """End commands still running (a client that gave up), inside the loop."""
        for proc in self.commands:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # the shell and what it started
                await proc.wait()

    def connection(self, **extra: Any) -> dict[str, Any]:
        values = {
            "type": "sftp",
            "host": HOST,
            "port": self.port,
            "username": USER,
            "password": PASSWORD,
            "known_hosts": str(self.known_hosts),
        }
        values.update(extra)
        return values

    def close(self) -> None:
        self._thread.call(self._close())  # asyncio servers are not thread-safe: close in the loop
        self._thread.call(self._reap())
        self._thread.stop()

    async def _close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


# -- FTP ---------------------------------------------------------------------------------


def make_certificate(folder: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (key and certificate in one PEM file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / "ftp-cert.pem"
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return path


class FtpServer:
    """pyftpdlib in a thread; user tester/secret with full rights on `root`.
    `fail_stores` answers the first N uploads with 451 (a temporary error);
    `hostile_names` are added to every MLSD listing as files (as a hostile or broken
    server may send them); `endless_folder` is listed as a sub-folder of every folder,
    however deep (a listing that never ends); `drop_uploads` drops the control and data connections after
    the first block of every upload."""

    def __init__(
        self,
        root: Path,
        *,
        certfile: Path | None = None,
        fail_stores: int = 0,
        hostile_names: list[str] | None = None,
        endless_folder: str | None = None,
        drop_uploads: bool = False,
    ) -> None:
        with warnings.catch_warnings():  # pyftpdlib imports asyncore/asynchat
            warnings.simplefilter("ignore", DeprecationWarning)
            from pyftpdlib.authorizers import DummyAuthorizer
            from pyftpdlib.handlers import DTPHandler, FTPHandler
            from pyftpdlib.servers import FTPServer

        logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.stores = 0
        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")
        base: Any = FTPHandler
        attrs: dict[str, Any] = {"authorizer": authorizer}
        if certfile is not None:
            from pyftpdlib.handlers import TLS_FTPHandler

            base = TLS_FTPHandler
            attrs.update(certfile=str(certfile), tls_control_required=True, tls_data_required=True)
        outer = self

        def ftp_STOR(handler: Any, file: str, mode: str = "w") -> Any:
            outer.stores += 1
            if outer.stores <= fail_stores:
                handler.respond("451 Requested action aborted: local error (test)")
                return None
            return base.ftp_STOR(handler, file, mode)

        attrs["ftp_STOR"] = ftp_STOR
        if hostile_names or endless_folder:

            def ftp_MLSD(handler: Any, path: str) -> Any:
                real = []
                if handler.fs.isdir(path):
                    real = list(handler.fs.format_mlsx(
                        path, handler.fs.listdir(path), "elr", ["type", "size"]
                    ))
                lines = [*real] + [
                    f"type=file;size=5; {name}\r\n".encode() for name in hostile_names or []
                ]
                if endless_folder:
                    lines.append(f"type=dir; {endless_folder}\r\n".encode())
                handler.push_dtp_data(b"".join(lines), cmd="MLSD")
                return path

            attrs["ftp_MLSD"] = ftp_MLSD
        if drop_uploads:

            class Dropping(DTPHandler):
                def handle_read(self) -> None:
                    super().handle_read()
                    if self.tot_bytes_received > 0 and not self.cmd_channel._closed:
                        self.cmd_channel.close()

                handle_read_event = handle_read  # what the loop calls

            attrs["dtp_handler"] = Dropping
        handler = type("Handler", (base,), attrs)
        handler.log_prefix = ""
        self.server = FTPServer((HOST, 0), handler)
        self.port = self.server.socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self.server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        self.server.close_all()

    def connection(self, **extra: Any) -> dict[str, Any]:
        values = {
            "type": "ftp",
            "host": HOST,
            "port": self.port,
            "username": USER,
            "password": PASSWORD,
        }
        values.update(extra)
        return values

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


# -- SMTP --------------------------------------------------------------------------------


class SmtpServer:
    """aiosmtpd; every message is kept as (sender, recipients, raw bytes)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        outer = self
        self.messages: list[tuple[str, list[str], bytes]] = []

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append(
                    (
                        envelope.mail_from,
                        list(envelope.rcpt_tos),
                        envelope.original_content or envelope.content,
                    )
                )
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname=HOST, port=self.port)
        self.controller.start()

    def parsed(self, index: int = -1) -> Any:
        import email
        from email import policy

        return email.message_from_bytes(self.messages[index][2], policy=policy.default)

    def close(self) -> None:
        self.controller.stop()


# -- HTTP --------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class HttpServer:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.server = http.server.ThreadingHTTPServer((HOST, 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://{HOST}:{self.port}/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- SMB (samba) -------------------------------------------------------------------------

def _sbin(name: str) -> str | None:
    """A system program, also where PATH leaves out /usr/sbin (a login shell of a user)."""
    return shutil.which(name) or shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin")


SMBD, SMBPASSWD = _sbin("smbd"), _sbin("smbpasswd")
SMB_MISSING: str | None = None
if SMBD is None or SMBPASSWD is None:
    SMB_MISSING = "no SMB server (samba's smbd) on this machine: apt-get install samba"
elif os.geteuid() != 0:
    SMB_MISSING = "samba's smbd needs root to serve a private share in tests"
else:
    try:
        import smbclient  # noqa: F401
    except ImportError:
        SMB_MISSING = "smbprotocol is not installed (pip install 'duftui[smb]')"


class SmbServer:
    """samba's smbd in the foreground on a free loopback port, share `share` at `root`;
    samba user root with password `secret`."""

    def __init__(self, base: Path) -> None:
        self.root = base / "share"
        for name in ("share", "private", "lock", "state", "cache", "pid", "log"):
            (base / name).mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        conf = base / "smb.conf"
        conf.write_text(f"""[global]
  smb ports = {self.port}
  interfaces = {HOST}
  bind interfaces only = yes
  private dir = {base}/private
  lock directory = {base}/lock
  state directory = {base}/state
  cache directory = {base}/cache
  pid directory = {base}/pid
  ncalrpc dir = {base}/state/ncalrpc
  log file = {base}/log/log.%m
  passdb backend = tdbsam:{base}/private/passdb.tdb
  server role = standalone server
  disable spoolss = yes
  load printers = no
  printcap name = /dev/null
  server min protocol = SMB2_02
[share]
  path = {self.root}
  read only = no
  valid users = root
""")
        subprocess.run(
            [str(SMBPASSWD), "-c", str(conf), "-a", "-s", "root"],
            input=f"{PASSWORD}\n{PASSWORD}\n",
            text=True,
            check=True,
            capture_output=True,
        )
        # Its own session: on exit smbd signals its whole process group.
        self.proc = subprocess.Popen(
            [str(SMBD), "-F", "--no-process-group", "-s", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_listening(self.port)

    def connection(self, **extra: Any) -> dict[str, Any]:
        values = {
            "type": "smb",
            "host": HOST,
            "port": self.port,
            "share": "share",
            "username": "root",
            "password": PASSWORD,
        }
        values.update(extra)
        return values

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
