"""The `chunktape` command: record, serve, inspect, validate, fmt, diff, drift, import, export.

Exit codes: 0 success, 1 a check failed, 2 bad usage or bad input. A ChunktapeError
becomes one line on stderr; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib

import click

from chunktape import __version__

_COMMANDS = {
    "record": "chunktape.commands.record:record",
    "serve": "chunktape.commands.serve:serve",
    "inspect": "chunktape.commands.inspect:inspect_command",
    "validate": "chunktape.commands.validate:validate",
    "fmt": "chunktape.commands.fmt:fmt_command",
    "diff": "chunktape.commands.diff:diff_command",
    "drift": "chunktape.commands.drift:drift_command",
    "import": "chunktape.commands.interchange:import_group",
    "export": "chunktape.commands.interchange:export_group",
}


class _LazyGroup(click.Group):
    """Imports a subcommand only when it runs, so `chunktape serve` never loads mitmproxy."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chunktape")
def cli() -> None:
    """Record streaming HTTP exchanges with chunk timing; replay them, with chaos.

    \b
    Example:
      chunktape serve cassettes/gemini_stream.yaml --port 0 --speed 2
    """


def main() -> None:
    cli(prog_name="chunktape")
