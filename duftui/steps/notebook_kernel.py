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

import json
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

import psutil
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

POLL_S = 0.1
INTERRUPT_WAIT_S = 5.0
SHUTDOWN_WAIT_S = 3.0
LEFTOVER_WAIT_S = 1.0
# Run silently in the kernel before the first cell. A handler, not SIG_IGN: exec() resets
# handlers, so programs a cell starts still die on SIGTERM; forked children reset it too.
_KERNEL_SETUP = """
def __duftui_setup():
    import os, signal

    def ignore(signum, frame):
        pass

    def reset():
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        except ValueError:
            pass

    signal.signal(signal.SIGTERM, ignore)
    os.register_at_fork(after_in_child=reset)

__duftui_setup()
del __duftui_setup
"""
# Reap the children _end() stopped: ipykernel's own shutdown waits for its children to
# vanish, and a zombie no one reaps would hold it until it is killed.
_REAP_CHILDREN = """
def __duftui_reap():
    import os
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return

__duftui_reap()
del __duftui_reap
"""


class KernelError(Exception):
    """The kernel cannot be started (unknown name, crashed on start); the message says why."""


@dataclass
class CellResult:
    """How one cell ended: ok, error (with ename/evalue/traceback), interrupted, died, or
    timeout (only for duftui's own silent code)."""

    status: str
    execution_count: int | None = None
    ename: str = ""
    evalue: str = ""
    traceback: list[str] = field(default_factory=list)


MessageHandler = Callable[[dict[str, Any]], None]


class KernelSession:
    """Owns one kernel process from start to its certain end."""

    def __init__(
        self,
        kernel_name: str,
        cwd: Path,
        env: dict[str, str],
        log_path: Path,
        stop: threading.Event,
        python: str | None = None,
    ) -> None:
        self.kernel_name = kernel_name
        self.python = python  # the task environment's interpreter: ipykernel on it
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
        specs = KernelSpecManager()
        if self.python is not None:
            specs = self._environment_kernel()
        try:
            specs.get_kernel_spec(self.kernel_name)
        except NoSuchKernel:
            known = ", ".join(sorted(KernelSpecManager().find_kernel_specs())) or "none"
            raise KernelError(
                f"no Jupyter kernel named {self.kernel_name!r} (installed: {known}); set "
                'run.kernel = "NAME" in the task or install the kernel (ipykernel install)'
            ) from None
        manager = KernelManager(
            kernel_spec_manager=specs,
            kernel_name=self.kernel_name,
            transport="ipc",
            ip=str(self._scratch / "k"),
            connection_file=str(self._scratch / "kernel.json"),
        )
        manager.shutdown_wait_time = SHUTDOWN_WAIT_S
        self._manager = manager
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = open(self.log_path, "ab")  # noqa: SIM115 - closed in shutdown()
        manager.start_kernel(
            cwd=str(self.cwd), env=self.env, stdout=self._log_handle, stderr=self._log_handle
        )
        client = manager.client()
        client.start_channels()
        self._client = client
        if not self._wait_ready(timeout):
            return
        self.execute(_KERNEL_SETUP, lambda _msg: None, silent=True, timeout=timeout)

    def _environment_kernel(self) -> KernelSpecManager:
        """A kernel spec of its own (in the scratch folder) that starts ipykernel on the
        task environment's interpreter, whatever kernel name the notebook asks for."""
        folder = self._scratch / "kernels" / self.kernel_name
        folder.mkdir(parents=True, exist_ok=True)
        spec = {"argv": [self.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"{self.kernel_name} (task environment)", "language": "python"}
        (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        return KernelSpecManager(kernel_dirs=[str(folder.parent)], ensure_native_kernel=False)

    def _wait_ready(self, timeout: float) -> bool:
        """Wait for the kernel's first answer; False when a stop request came first.

        Like `wait_for_ready`, a kernel_info reply on the shell channel and then a message
        on IOPub show that both channels are connected (output sent before IOPub connects
        is lost), but without its trailing wait for 0.2 s of IOPub silence.
        """
        client, manager = self._client, self._manager
        assert client is not None and manager is not None
        deadline = time.monotonic() + timeout
        asked_at = 0.0
        while True:
            if self.stop.is_set():
                return False
            if not manager.is_alive():
                raise KernelError(f"the kernel exited while starting{self.log_tail()}")
            if time.monotonic() > deadline:
                raise KernelError(f"the kernel did not answer within {timeout:g}s{self.log_tail()}")
            if time.monotonic() - asked_at > 1.0:
                client.kernel_info()
                asked_at = time.monotonic()
            try:
                reply = client.get_shell_msg(timeout=POLL_S)
            except queue.Empty:
                continue
            if reply.get("msg_type") != "kernel_info_reply":
                continue
            try:
                client.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                asked_at = 0.0
                continue
            return True

    def execute(
        self,
        source: str,
        on_message: MessageHandler,
        silent: bool = False,
        timeout: float | None = None,
    ) -> CellResult:
        """Run one cell, handing every output message to `on_message` as it arrives.

        A stop request interrupts the cell (SIGINT, like the Jupyter stop button), keeps
        relaying what it prints while it unwinds, and returns `interrupted`. Silent code
        (duftui's own) is not interrupted; `timeout` bounds it instead.
        """
        client, manager = self._client, self._manager
        assert client is not None and manager is not None
        msg_id = client.execute(
            source, silent=silent, store_history=not silent, allow_stdin=False, stop_on_error=True
        )
        result = CellResult(status="ok")
        interrupted_at: float | None = None
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            if deadline is not None and time.monotonic() > deadline:
                result.status = "timeout"
                return result
            if self.stop.is_set() and interrupted_at is None and not silent:
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
        """Stop the kernel (interrupt, shutdown request, then kill) and remove its files.

        Processes a cell started and left running go first: they are in the kernel's
        session, beyond the supervisor's reach once the kernel is gone, and while they
        hold the kernel's captured output pipe the kernel cannot finish its shutdown.
        """
        manager, client = self._manager, self._client
        try:
            leftovers = _descendants(self.pid)
            if leftovers:
                _end(leftovers)
                if client is not None and manager is not None and manager.is_alive():
                    self.execute(_REAP_CHILDREN, lambda _msg: None, silent=True, timeout=1.0)
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
                if self.log_path.exists() and self.log_path.stat().st_size == 0:
                    self.log_path.unlink()
            shutil.rmtree(self._scratch, ignore_errors=True)


def _descendants(pid: int | None) -> list[psutil.Process]:
    if pid is None:
        return []
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _end(processes: list[psutil.Process]) -> None:
    """SIGTERM what is still running, SIGKILL what did not exit within a second."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        running = [p for p in processes if _running(p)]
        for process in running:
            try:
                process.send_signal(sig)
            except psutil.Error:
                continue
        deadline = time.monotonic() + LEFTOVER_WAIT_S
        while running and time.monotonic() < deadline:
            time.sleep(0.02)
            running = [p for p in running if _running(p)]
        if not running:
            return


def _running(process: psutil.Process) -> bool:
    """Alive and not a zombie (an orphan waits for init to reap it; it is done all the same)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


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
