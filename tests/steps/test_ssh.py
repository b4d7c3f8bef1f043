"""SSH commands and SFTP against a real asyncssh server: streaming, exit status, and every
way a connection can be refused (host key, login, server down)."""

from __future__ import annotations

import asyncssh

from duftui.store.states import RunStatus
from tests.steps.conftest import StepWorkspace
from tests.steps.servers import SshServer, free_port


def ssh_task(ws: StepWorkspace, name: str, command: str, rest: str = "") -> str:
    return ws.task(
        name,
        f'name = "{name}"\n[run]\nkind = "ssh"\n[source]\n'
        f"connection = \"box\"\ncommand = '''{command}'''\n{rest}",
    )


def test_command_output_streams_into_the_log_and_status_decides(
    sws: StepWorkspace, sshd: SshServer
) -> None:
    sws.connection("box", sshd.connection(type="ssh"))
    run = sws.run(
        ssh_task(
            sws,
            "ok",
            "echo 'héllo wörld'; echo 'to stderr' >&2; for i in 1 2 3; do echo line $i; done",
        )
    )
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    stdout = sws.lines(run.id, "stdout")
    first = stdout.index("héllo wörld")
    assert stdout[first : first + 4] == ["héllo wörld", "line 1", "line 2", "line 3"]
    assert "to stderr" in sws.lines(run.id, "stderr")
    run = sws.run(ssh_task(sws, "bad", "echo before; echo 'ERROR: it broke' >&2; exit 3"))
    assert run.status == RunStatus.FAILED
    assert "failed with exit status 3" in (run.error or "")
    assert "before" in sws.lines(run.id) and "ERROR: it broke" in sws.lines(run.id)


def test_command_output_becomes_a_file_for_later_steps(sws: StepWorkspace, sshd: SshServer) -> None:
    sws.connection("box", sshd.connection(type="ssh"))
    key = ssh_task(
        sws,
        "report",
        "printf 'a,b\\n1,2\\n'",
        '[output]\nname = "report_%Y.csv"\nmd5 = false\n'
        '[[deliver]]\nkind = "local"\npath = "out"\n',
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    [delivered] = (sws.root / "out").iterdir()
    assert delivered.name.startswith("report_") and delivered.read_text() == "a,b\n1,2\n"
    assert {r.stage for r in sws.outputs(run.id)} == {"source", "output"}


def test_host_key_mismatch_is_refused(sws: StepWorkspace, sshd: SshServer) -> None:
    sshd.trust(asyncssh.generate_private_key("ssh-ed25519"))
    sws.connection("box", sshd.connection(type="ssh"))
    run = sws.run(ssh_task(sws, "mitm", "echo never"))
    assert run.status == RunStatus.FAILED
    assert "HOST KEY MISMATCH: the server's key differs from the one in" in (run.error or "")
    assert "never" not in sws.lines(run.id)
    assert sshd.logins == []


def test_unknown_host_and_missing_known_hosts(sws: StepWorkspace, sshd: SshServer) -> None:
    sshd.known_hosts.write_text("[127.0.0.1]:1 " + sshd.key.export_public_key().decode())
    sws.connection("box", sshd.connection(type="ssh"))
    run = sws.run(ssh_task(sws, "unknown", "echo never"))
    assert "host key not trusted: 127.0.0.1 (port" in (run.error or "")
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1 >>" in run.error
    sws.connection("box", sshd.connection(type="ssh", known_hosts="no/such/known_hosts"))
    run = sws.run(ssh_task(sws, "nofile", "echo never"))
    assert "known_hosts file" in (run.error or "") and "does not exist" in run.error
    assert "never accepts an unknown host key" in run.error


def test_wrong_password_and_server_down(sws: StepWorkspace, sshd: SshServer) -> None:
    sws.connection("box", sshd.connection(type="ssh", password="bad-secret-42"))
    run = sws.run(ssh_task(sws, "pw", "echo never"))
    assert "login refused for tester (wrong user name, password or key?)" in (run.error or "")
    sws.connection("box", sshd.connection(type="ssh", port=free_port()))
    run = sws.run(ssh_task(sws, "down", "echo never"))
    assert "connection refused (is the server running?)" in (run.error or "")


def test_command_timeout(sws: StepWorkspace, sshd: SshServer) -> None:
    sws.connection("box", sshd.connection(type="ssh"))
    run = sws.run(ssh_task(sws, "slow", "echo started; sleep 30", 'timeout = "500ms"'))
    assert run.status == RunStatus.FAILED
    assert "timed out after 0.5s (source.timeout)" in (run.error or "")
    assert "started" in sws.lines(run.id)
