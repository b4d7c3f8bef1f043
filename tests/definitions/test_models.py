"""Task, project and connection models, and how their errors become located problems."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from duftui.definitions.common import SecretRef
from duftui.definitions.connections import (
    CONNECTION_TYPES,
    DuftConnection,
    SqlConnection,
    SshConnection,
    literal_secrets,
    secret_refs,
)
from duftui.definitions.locate import TomlLocator
from duftui.definitions.models import Project, Task
from duftui.definitions.problems import Problem, field_name, problems_from_validation

RUN = '\n[run]\nkind = "python"\nfile = "x.py"\n'


def problems(text: str, model: type[BaseModel] = Task) -> list[str]:
    """Validate TOML text and return the problems as the user sees them."""
    data = tomllib.loads(text)
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    found = problems_from_validation(caught.value, model, data, "t.toml", TomlLocator(text))
    return [str(p) for p in found]


def task(text: str) -> Task:
    return Task.model_validate(tomllib.loads(text))


def test_problem_text() -> None:
    assert str(Problem("a.toml", 3, "run.kind", "bad")) == "a.toml:3: run.kind: bad"
    assert str(Problem("a.toml", None, "", "bad")) == "a.toml: bad"
    warning = Problem("a.toml", 1, "x", "odd", severity="warning")
    assert str(warning) == "a.toml:1: x: odd (warning)"
    assert not warning.is_error
    assert field_name(("schedule", 0, "cron", "hour")) == "schedule[0].cron.hour"


def test_union_alternatives_merge_into_one_message() -> None:
    assert problems('name = "x"\n[run]\nkind = "command"\ncommand = 5\n') == [
        "t.toml:4: run.command: expected a string or a list, got 5"
    ]


def test_deeper_union_error_replaces_the_type_mismatch() -> None:
    assert problems('name = "x"\n[run]\nkind = "command"\ncommand = ["a", false]\n') == [
        "t.toml:4: run.command[1]: expected a string, got false"
    ]


def test_several_problems_in_one_file_each_have_their_line() -> None:
    text = 'name = 5\nenabled = "no"\n[run]\nkind = "sh"\n[retry]\nbackoff = 0.5\n'
    assert problems(text) == [
        "t.toml:1: name: expected a string, got 5",
        't.toml:2: enabled: expected true or false, got "no"',
        't.toml:4: run.kind: expected one of python, notebook, sql, files, ssh, command, got "sh"; '
        "did you mean 'ssh'?",
        "t.toml:6: retry.backoff: must be >= 1.0, got 0.5",
    ]


def test_env_reference_with_a_number_is_located_inside_it() -> None:
    assert problems('name = "x"' + RUN + "env = { TOKEN = { env = 5 } }\n") == [
        "t.toml:5: run.env.TOKEN.env: expected a string, got 5"
    ]


def test_needs_entries_must_be_keys_and_unique() -> None:
    assert problems('name = "x"\nneeds = ["Load Data"]' + RUN) == [
        "t.toml:2: needs[0]: task key 'Load Data' is not valid: use lower-case letters, digits, "
        "'-' and '_', starting with a letter or digit"
    ]
    assert problems('name = "x"\nneeds = ["a", "a"]' + RUN) == [
        "t.toml:2: needs: needs lists a task twice"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[run]\nkind = "notebook"\n',
            [(("run", "kind"), '"notebook" needs run.file (the script to run)')],
        ),
        (
            '[run]\nkind = "command"\n',
            [(("run", "kind"), '"command" needs run.command (an argv list) or run.file')],
        ),
        (
            '[run]\nkind = "command"\nshell = true\ncommand = ["a"]\n',
            [(("run", "command"), "shell = true needs the command as one string")],
        ),
        ('[run]\nkind = "command"\nshell = true\ncommand = "a | b"\n', []),
        (
            '[run]\nkind = "sql"\n',
            [(("run", "kind"), '"sql" needs a [source] table with a connection and a query')],
        ),
        (
            '[run]\nkind = "sql"\n[source]\nconnection = "db"\nquery = "q"\nquery_file = "f.sql"\n',
            [
                (
                    ("source",),
                    '"sql" needs exactly one of query, query_file or query_url '
                    "(found: query, query_file)",
                )
            ],
        ),
        ('[run]\nkind = "files"\n', [(("run", "kind"), '"files" needs [source] with a path')]),
        (
            '[run]\nkind = "ssh"\n[source]\nconnection = "box"\n',
            [(("source",), '"ssh" needs [source] with a connection and a command or a script')],
        ),
    ],
)
def test_requirement_problems(text: str, expected: list[Any]) -> None:
    assert task('name = "x"\n' + text).requirement_problems() == expected


def test_connections_and_files_used() -> None:
    spec = task(
        'name = "x"\n[run]\nkind = "sql"\nconnections = ["extra"]\n'
        '[source]\nconnection = "db"\nquery_file = "q.sql"\n'
        '[processing]\nscript = "clean.py"\nrequirements = "req.txt"\n'
        '[[deliver]]\nkind = "local"\npath = "out"\n'
        '[[deliver]]\nkind = "sftp"\nconnection = "drop"\npath = "/in"\n'
        '[notify]\non_failure = ["ops@example.org"]\n'
    )
    assert spec.connections_used() == [
        ("run.connections", "extra"),
        ("source.connection", "db"),
        ("deliver[1].connection", "drop"),
        ("notify.connection", "smtp"),
    ]
    assert spec.files_used() == [
        (("source", "query_file"), "q.sql"),
        (("processing", "script"), "clean.py"),
        (("processing", "requirements"), "req.txt"),
    ]


def test_project_defaults_and_strictness() -> None:
    assert Project().name is None
    assert Project().params == {}
    assert problems("max_parallel = 0\n", Project) == [
        "t.toml:1: max_parallel: must be >= 1, got 0"
    ]
    assert problems('[params."my param"]\ndefault = 1\n', Project) == [
        "t.toml:1: params.my param: parameter name 'my param' is not valid: use letters, "
        "digits and '_' (it becomes an environment variable)"
    ]


# -- connections -----------------------------------------------------------------------


def connection(data: dict[str, Any]) -> Any:
    return CONNECTION_TYPES[data["type"]].model_validate(data)


def test_references_and_literal_secrets_in_connections() -> None:
    ssh = connection(
        {"type": "sftp", "host": "h", "password": {"env": "PW"}, "passphrase": "literal"}
    )
    assert isinstance(ssh, SshConnection)
    assert secret_refs(ssh) == [("password", SecretRef(env="PW"))]
    assert literal_secrets(ssh) == [(("passphrase",), "passphrase")]

    duft = connection(
        {
            "type": "duft",
            "params": {
                "user": {"type": "text", "value": "ada"},
                "pw": {"type": "password", "value": {"secret": "duft.pw"}},
                "key": {"type": "password", "value": "plain"},
            },
        }
    )
    assert isinstance(duft, DuftConnection)
    assert secret_refs(duft) == [("pw", SecretRef(secret="duft.pw"))]
    assert literal_secrets(duft) == [(("params", "key", "value"), "key")]


def test_empty_password_is_not_a_literal_secret() -> None:
    assert literal_secrets(connection({"type": "ftp", "host": "h", "password": ""})) == []


def test_sql_url_checks() -> None:
    sql = connection({"type": "sql", "url": "postgresql://u:pw@db/x"})
    assert isinstance(sql, SqlConnection)
    assert literal_secrets(sql) == [(("url",), "password")]
    assert literal_secrets(connection({"type": "sql", "url": "postgresql://u@db/x"})) == []
    with pytest.raises(ValidationError, match="expected a SQLAlchemy URL like"):
        connection({"type": "sql", "url": "just-a-name"})
