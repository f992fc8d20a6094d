"""`chunktape record`: a recording proxy (reverse or forward) in front of a real upstream."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import click

from chunktape.commands.common import exits_cleanly
from chunktape.errors import RecordingError
from chunktape.recorder.settings import RecordSettings, parse_upstream


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--upstream",
    default=None,
    metavar="URL",
    help="Record in reverse mode in front of this http(s)://host[:port]. Without it: a forward proxy.",
)
@click.option("--cassette", required=True, metavar="PATH", help="Cassette file to write (YAML).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, type=click.IntRange(0, 65535), show_default=True, help="Port; 0 picks a free one.")
@click.option(
    "--redact-header",
    "redact",
    multiple=True,
    metavar="NAME",
    help="Another header (also query parameter, JSON field) to redact, on top of the default secrets (repeatable).",
)
@click.option("--append", is_flag=True, help="Keep the interactions already in the cassette; add new ones after them.")
@click.option(
    "--ssl-insecure", is_flag=True, help="Do not verify the upstream's TLS certificate (local or staging servers)."
)
@click.option(
    "--keep-preflights",
    is_flag=True,
    help="Record browsers' CORS preflights (OPTIONS) too; by default they reach the upstream but not the cassette.",
)
@click.option(
    "--stdio",
    is_flag=True,
    help="Record an MCP server over stdio: the command after -- is the server, started by chunktape, its "
    "stdin and stdout passed through unchanged and every JSON-RPC line recorded as a session.",
)
@click.option("--once-per-run", default=None, hidden=True, metavar="DIR")  # the pytest plugin's `all` mode
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="[-- COMMAND ARGS...]")
@exits_cleanly
def record(
    stdio: bool,
    upstream: str | None,
    cassette: str,
    host: str,
    port: int,
    redact: tuple[str, ...],
    append: bool,
    ssl_insecure: bool,
    keep_preflights: bool,
    once_per_run: str | None,
    command: tuple[str, ...],
) -> None:
    """Record every exchange through this proxy, with each chunk's bytes and timing.

    Responses stream through untouched while being recorded; each finished exchange is
    written to the cassette at once (atomically, secrets redacted). Once listening, one
    line ending with the local URL is printed to stdout. SIGINT or SIGTERM stops cleanly.

    With -- COMMAND, the command runs with CHUNKTAPE_BASE_URL (reverse mode) or
    HTTPS_PROXY, HTTP_PROXY, SSL_CERT_FILE and REQUESTS_CA_BUNDLE (forward mode) set, and
    record exits with its status. Forward mode's CA lives in ~/.chunktape/mitmproxy
    (or $CHUNKTAPE_MITMPROXY_CONFDIR).

    With --stdio, the command is an MCP server instead: give `chunktape record --stdio
    --cassette mcp.yaml -- SERVER ARGS` to the MCP client as the server's command. Its
    stdout carries the server's protocol lines only; chunktape speaks on stderr.

    \b
    Example:
      chunktape record --upstream https://generativelanguage.googleapis.com \\
          --cassette cassettes/gemini.yaml --port 0 -- pytest tests/test_chat.py
      chunktape record --cassette cassettes/tool.yaml -- python my_tool.py
      chunktape record --stdio --cassette cassettes/mcp.yaml -- npx -y @modelcontextprotocol/server-everything
    """
    if stdio:
        sys.exit(_record_stdio(command, cassette, upstream, append, redact))
    stop_requested = _stop_on_signals_from_now_on()
    if upstream is not None:
        parse_upstream(upstream)  # bad input is reported before anything starts
    settings = RecordSettings(
        cassette=cassette,
        upstream=upstream,
        host=host,
        port=port,
        redact=redact,
        append=append,
        ssl_insecure=ssl_insecure,
        keep_preflights=keep_preflights,
        once_per_run=once_per_run,
    )
    try:
        from chunktape.recorder.session import log_to_stderr, run_session  # mitmproxy loads only now
    except ImportError as exc:
        raise RecordingError(
            f"recording needs mitmproxy ({exc}); install it: pip install 'chunktape[record]'"
        ) from None

    log_to_stderr()
    status = run_session(settings, command, announce=_announce, stop_requested=stop_requested)
    sys.exit(status)


def _stop_on_signals_from_now_on() -> threading.Event:
    """SIGINT and SIGTERM stop `record` cleanly even while it is still starting (importing
    mitmproxy, reading a big --append cassette): they are noted here and honoured before it
    listens, also when the shell started it with SIGINT ignored (a background job)."""
    requested = threading.Event()

    def note(signum: int, frame: FrameType | None) -> None:
        requested.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, note)
    return requested


def _announce(line: str) -> None:
    click.echo(line)
    sys.stdout.flush()


def _record_stdio(
    command: tuple[str, ...], cassette: str, upstream: str | None, append: bool, redact: tuple[str, ...]
) -> int:
    if upstream is not None:
        raise RecordingError("--stdio records a server started by chunktape; it takes no --upstream")
    from chunktape.recorder.stdio import record_stdio

    def log(line: str) -> None:
        click.echo(f"chunktape: {line}", err=True)

    return record_stdio(
        command, cassette, stdin=sys.stdin.buffer, stdout=sys.stdout.buffer, log=log, append=append, redact=redact
    )
