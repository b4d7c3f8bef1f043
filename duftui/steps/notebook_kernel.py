"""One Jupyter kernel for one notebook run: start, run cells while streaming, stop for sure.

The kernel talks over IPC sockets in a private temporary folder (no TCP ports to race for
when many runs start at once). Its own stdout and stderr go to `kernel.log` in the run's
folder: what cells print reaches us over the IOPub channel, and output written straight to
the kernel's file descriptors (a subprocess, C code) is forwarded there by ipykernel too,
so letting the descriptors through as well would log those lines twice.

jupyter-client starts the kernel in its own session, so the supervisor's SIGTERM to the
step runner's process group does not reach it through the group. The supervisor also
signals every descendant directly, though; the kernel is told to ignore SIGTERM, so that
the step runner can interrupt the cell and shut the kernel down in order (letting the
cell's `finally` blocks run). SIGKILL after the grace period still reaches it, and
ipykernel exits by itself when its parent process is gone.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

POLL_S = 0.1
INTERRUPT_WAIT_S = 5.0
SHUTDOWN_WAIT_S = 3.0
_IGNORE_SIGTERM = (
    "__import__('signal').signal(__import__('signal').SIGTERM, __import__('signal').SIG_IGN)"
)


class KernelError(Exception):
    """The kernel cannot be started (unknown name, crashed on start); the message says why."""


@dataclass
class CellResult:
    """How one cell ended: ok, error (with ename/evalue/traceback), interrupted or died."""

    status: str
    execution_count: int | None = None
    ename: str = ""
    evalue: str = ""
    traceback: list[str] = field(default_factory=list)


MessageHandler = Callable[[dict[str, Any]], None]


class KernelSession:
    """Owns one kernel process from start to its certain end."""

    def __init__(self, kernel_name: str, cwd: Path, env: dict[str, str], log_path: Path,
                 stop: threading.Event) -> None:
        self.kernel_name = kernel_name
        self.cwd = cwd
        self.env = env
        self.log_path = log_path
        self.stop = stop
        self._scratch = Path(tempfile.mkdtemp(prefix="duftui-kernel-"))
        self._manager: KernelManager | None = None
        self._client: Any = None
        self._log_handle: Any = None

    @property
    def pid(self) -> int | None:
        provisioner = getattr(self._manager, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    def start(self, timeout: float = 60.0) -> None:
        """Start the kernel and wait until it answers (giving up early on a stop request)."""
        try:
            KernelSpecManager().get_kernel_spec(self.kernel_name)
        except NoSuchKernel:
            known = ", ".join(sorted(KernelSpecManager().find_kernel_specs())) or "none"
            raise KernelError(
                f"no Jupyter kernel named {self.kernel_name!r} (installed: {known}); set "
                'run.kernel = "NAME" in the task or install the kernel (ipykernel install)'
            ) from None
        manager = KernelManager(
            kernel_name=self.kernel_name,
            transport="ipc",
            ip=str(self._scratch / "k"),
            connection_file=str(self._scratch / "kernel.json"),
        )
        manager.shutdown_wait_time = SHUTDOWN_WAIT_S
        self._manager = manager
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = open(self.log_path, "ab")  # noqa: SIM115 - closed in shutdown()
        manager.start_kernel(cwd=str(self.cwd), env=self.env, stdout=self._log_handle,
                             stderr=self._log_handle)
        client = manager.client()
        client.start_channels()
        self._client = client
        deadline = time.monotonic() + timeout
        while True:
            if self.stop.is_set():
                return
            if not manager.is_alive():
                raise KernelError(f"the kernel exited while starting{self.log_tail()}")
            try:
                client.wait_for_ready(timeout=0.5)
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise KernelError(
                        f"the kernel did not answer within {timeout:g}s{self.log_tail()}"
                    ) from None
        self.execute(_IGNORE_SIGTERM, lambda _msg: None, silent=True)

    def execute(self, source: str, on_message: MessageHandler, silent: bool = False) -> CellResult:
        """Run one cell, handing every output message to `on_message` as it arrives.

        A stop request interrupts the cell (SIGINT, like the Jupyter stop button), keeps
        relaying what it prints while it unwinds, and returns `interrupted`.
        """
        client, manager = self._client, self._manager
        assert client is not None and manager is not None
        msg_id = client.execute(source, silent=silent, store_history=not silent,
                                allow_stdin=False, stop_on_error=True)
        result = CellResult(status="ok")
        interrupted_at: float | None = None
        while True:
            if self.stop.is_set() and interrupted_at is None:
                interrupted_at = time.monotonic()
                manager.interrupt_kernel()
            if interrupted_at is not None and time.monotonic() - interrupted_at > INTERRUPT_WAIT_S:
                result.status = "interrupted"
                return result
            try:
                msg = client.get_iopub_msg(timeout=POLL_S)
            except queue.Empty:
                if not manager.is_alive():
                    result.status = "died"
                    return result
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                break
            if kind == "execute_input":
                result.execution_count = content.get("execution_count")
            elif kind == "error":
                result.status = "error"
                result.ename = content.get("ename", "")
                result.evalue = content.get("evalue", "")
                result.traceback = list(content.get("traceback", []))
            on_message(msg)
        if interrupted_at is not None:
            result.status = "interrupted"
        return result

    def exit_code(self) -> int | None:
        provisioner = getattr(self._manager, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return process.poll() if process is not None else None

    def log_tail(self, lines: int = 20) -> str:
        """The end of kernel.log, indented, for error messages ("" when empty)."""
        if self._log_handle is not None:
            self._log_handle.flush()
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        tail = [line for line in text.splitlines() if line.strip()][-lines:]
        return ("; kernel log:\n" + "\n".join(f"  {line}" for line in tail)) if tail else ""

    def shutdown(self) -> None:
        """Stop the kernel (interrupt, shutdown request, then kill) and remove its files."""
        manager, client = self._manager, self._client
        try:
            if client is not None:
                client.stop_channels()
            if manager is not None and manager.has_kernel:
                manager.shutdown_kernel(now=not manager.is_alive())
        finally:
            pid = self.pid
            if pid is not None and _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if self._log_handle is not None:
                self._log_handle.close()
                self._log_handle = None
            shutil.rmtree(self._scratch, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True
