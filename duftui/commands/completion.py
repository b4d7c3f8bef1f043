"""`duftui completion bash|zsh|fish`: the shell completion script, from click."""

from __future__ import annotations

import click


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the completion script for SHELL. Install it with, for bash,
    `duftui completion bash > ~/.local/share/bash-completion/completions/duftui`
    (zsh: a file named _duftui on $fpath; fish: ~/.config/fish/completions/duftui.fish)."""
    from click.shell_completion import get_completion_class

    from duftui.cli import main

    kind = get_completion_class(shell)
    assert kind is not None
    click.echo(kind(main, {}, "duftui", "_DUFTUI_COMPLETE").source())


COMMANDS = [completion]
