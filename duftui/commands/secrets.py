"""`duftui secret set|list|delete`: the user's secrets file, never the workspace."""

from __future__ import annotations

import sys

import click

from duftui.commands.common import Context, fail, pass_context
from duftui.definitions.secrets import SecretError, check_secret_name


@click.group()
def secret() -> None:
    """Manage secrets referenced as { secret = "name" }."""


@secret.command("set")
@click.argument("name")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the value from standard input.")
@pass_context
def set_secret(ctx: Context, name: str, from_stdin: bool) -> None:
    """Store a secret without echoing it."""
    try:
        check_secret_name(name)
        if from_stdin or not sys.stdin.isatty():
            value = sys.stdin.readline().rstrip("\r\n")
        else:
            value = click.prompt(f"Value for {name}", hide_input=True, confirmation_prompt=True)
        if not value:
            fail("refusing to store an empty secret")
        store = ctx.secrets()
        store.set(name, value)
    except SecretError as exc:
        fail(str(exc))
    click.echo(f"stored {name} in {store.path}")


@secret.command("list")
@pass_context
def list_secrets(ctx: Context) -> None:
    """Print secret names (never values)."""
    try:
        names = sorted(ctx.secrets().values())
    except SecretError as exc:
        fail(str(exc))
    for name in names:
        click.echo(name)


@secret.command("delete")
@click.argument("name")
@pass_context
def delete_secret(ctx: Context, name: str) -> None:
    """Remove one secret."""
    try:
        removed = ctx.secrets().delete(name)
    except SecretError as exc:
        fail(str(exc))
    if not removed:
        fail(f"no secret named {name!r}")
    click.echo(f"deleted {name}")
