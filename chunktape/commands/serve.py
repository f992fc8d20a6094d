"""`chunktape serve`: replay cassettes over real HTTP until SIGINT or SIGTERM."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

import click

from chunktape.cassette import Cassette
from chunktape.commands.common import exits_cleanly, fail, knob_options, policy_from_options
from chunktape.commands.paths import cassette_paths
from chunktape.errors import ChunktapeError
from chunktape.knobs import ReplayPolicy
from chunktape.matching import DEFAULT_MATCH_ON, MATCH_FIELDS, MatchRules
from chunktape.persist import load_cassette
from chunktape.replay.cors import CorsPolicy
from chunktape.replay.local_tls import local_tls
from chunktape.replay.player import CassettePlayer
from chunktape.replay.server import ReplayServer
from chunktape.replay.stdio import StdioPlayer
from chunktape.vocabulary import word


class _ThenCommand(click.Command):
    """Everything after `--` is the command to run (click allows one variadic argument)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            split = args.index("--")
            ctx.meta[_COMMAND] = tuple(args[split + 1 :])
            args = args[:split]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [*super().collect_usage_pieces(ctx), "[-- COMMAND ARGS...]"]


_COMMAND = "chunktape.serve.command"


@click.command(cls=_ThenCommand)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, type=click.IntRange(0, 65535), show_default=True, help="Port; 0 picks a free one.")
@knob_options
@click.option(
    "--match-on",
    default=None,
    metavar="PARTS",
    help=f"{word('match_on').help} Comma-separated, any of {', '.join(MATCH_FIELDS)} "
    f"[default: {','.join(str(word('match_on').default).split())}].",
)
@click.option("--ignore", multiple=True, metavar="NAME", help=f"{word('ignore').help} Repeatable.")
@click.option("--normalize", multiple=True, metavar="NORMALIZER", help=word("normalize").option_help())
@click.option(
    "--cors",
    multiple=True,
    is_flag=False,
    flag_value="on",
    metavar="[ORIGIN]",
    help=f"{word('cors').help} Bare --cors allows loopback origins; --cors ORIGIN (repeatable) names them, * any.",
)
@click.option(
    "--tls",
    "tls_dir",
    default=None,
    metavar="DIR",
    help="Serve https:// and wss:// with a local CA and certificate kept in DIR (made there once). "
    "Trust DIR/ca.pem for the test process only: SSL_CERT_FILE=DIR/ca.pem.",
)
@click.option(
    "--proxy",
    is_flag=True,
    help="Serve as a forward proxy that answers by absolute URL (HTTPS through chunktape's local CA, "
    "as record's forward mode; --match-on then also defaults to host); with -- COMMAND, run it with "
    "HTTPS_PROXY, HTTP_PROXY and SSL_CERT_FILE set and exit with its status.",
)
@click.option(
    "--stdio",
    is_flag=True,
    help="Play an MCP server recorded with `record --stdio` on this process's stdin and stdout (give "
    "`chunktape serve --stdio mcp.yaml` to the MCP client as the server's command). Knobs: speed, delay, "
    "fault cut:N or stall:N:DUR.",
)
@exits_cleanly
def serve(
    paths: tuple[str, ...],
    host: str,
    port: int,
    speed: str,
    split: str,
    delay: tuple[str, ...],
    fault: str | None,
    seed: str,
    resume: str,
    match_on: str | None,
    ignore: tuple[str, ...],
    normalize: tuple[str, ...],
    cors: tuple[str, ...],
    tls_dir: str | None,
    proxy: bool,
    stdio: bool,
) -> None:
    """Serve cassettes over HTTP, chunk by chunk, at the recorded rhythm or with chaos.

    PATH is a cassette file or a directory of them (*.yaml, *.yml). Once listening, one
    line ending with the base URL is printed to stdout; point any client at that URL.
    A request that matches nothing gets a 404 naming the closest recorded request.

    With --proxy it is a forward proxy instead (the line ends with the proxy's URL): a
    program that honours HTTPS_PROXY replays what `chunktape record -- COMMAND` recorded,
    unchanged. Its CA is record's: ~/.chunktape/mitmproxy (or $CHUNKTAPE_MITMPROXY_CONFDIR).

    \b
    Example:
      chunktape serve cassettes/ --port 0 --split utf8 --delay first:300ms
      chunktape serve cassettes/gemini_stream.yaml --port 8080 --fault cut:2
      chunktape serve cassettes/chat_ui.yaml --cors http://localhost:5173
      chunktape serve cassettes/gemini_live.yaml --tls .chunktape-tls
      chunktape serve cassettes/tool.yaml --proxy --speed 2 -- python my_tool.py
      chunktape serve --stdio cassettes/mcp.yaml --fault cut:2
    """
    command: tuple[str, ...] = click.get_current_context().meta.get(_COMMAND, ())
    if command and not proxy:
        fail("-- COMMAND needs --proxy (the command reaches the cassettes through HTTPS_PROXY)")
    if stdio and (proxy or tls_dir or cors):
        fail("--stdio plays on stdin and stdout: it takes no --proxy, --tls or --cors")
    policy = policy_from_options(speed, split, delay, fault, seed, resume)
    if proxy and match_on is None:  # a proxy sees absolute URLs: the host is part of what was asked
        match_on = ",".join(("host", *DEFAULT_MATCH_ON))
    rules = MatchRules.build(match_on, ignore, normalize=normalize)
    cassettes = [load_cassette(path) for path in cassette_paths(paths)]
    if stdio:
        sys.exit(_serve_stdio(cassettes, policy, rules))
    player = CassettePlayer(cassettes, policy, rules)
    if proxy:
        sys.exit(_serve_as_proxy(player, policy.describe(), host, port, command))
    tls = local_tls(tls_dir) if tls_dir else None
    server = ReplayServer(player, host=host, port=port, cors=CorsPolicy.parse(cors) if cors else None, tls=tls)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with _log_to_stderr():
            server.start()
            count = player.interaction_count
            click.echo(f"chunktape: replaying with {policy.describe()}", err=True)
            if server.app.root.cors is not None:
                click.echo(f"chunktape: CORS on for {server.app.root.cors.describe()}", err=True)
            if tls is not None:
                click.echo(f"chunktape: clients trust the local CA with SSL_CERT_FILE={tls.ca_path}", err=True)
            sessions = player.session_count
            if sessions:
                click.echo(
                    f"chunktape: {sessions} realtime session{'' if sessions == 1 else 's'} on {server.ws_url}", err=True
                )
            click.echo(f"chunktape: serving {count} interaction{'' if count == 1 else 's'} on {server.base_url}")
            sys.stdout.flush()
            while not stopping.wait(0.25):
                if not server.running:
                    fail("the replay server stopped unexpectedly")
            server.stop()
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve_stdio(cassettes: list[Cassette], policy: ReplayPolicy, rules: MatchRules) -> int:
    """The first stdio session of the cassettes, played on stdin/stdout; the exit status."""
    fault = policy.fault
    if policy.split.kind != "recorded" or (fault is not None and fault.kind not in ("cut", "stall")):
        raise ChunktapeError(
            f"--stdio plays whole JSON-RPC lines: it takes speed, delay and fault cut:N or stall:N:DUR, "
            f"not {policy.describe()}"
        )

    session = next((session for cassette in cassettes for session in cassette.sessions if session.stdio), None)
    if session is None:
        names = ", ".join(cassette.path or "<cassette>" for cassette in cassettes)
        raise ChunktapeError(f"{names}: no stdio session; record one with chunktape record --stdio -- SERVER COMMAND")

    def log(line: str) -> None:
        click.echo(f"chunktape: {line}", err=True)

    log(f"playing {session.request.url} on stdin/stdout with {policy.describe()}")
    return StdioPlayer(session, policy, rules, sys.stdin.buffer, sys.stdout.buffer, log).run()


def _serve_as_proxy(player: CassettePlayer, described: str, host: str, port: int, command: tuple[str, ...]) -> int:
    """The replay server on loopback, behind a forward proxy on host:port; the exit status."""
    try:
        from chunktape.recorder.replay_proxy import run_proxy  # mitmproxy loads only now
        from chunktape.recorder.settings import default_confdir
    except ImportError as exc:
        raise ChunktapeError(f"--proxy needs mitmproxy ({exc}); install it: pip install 'chunktape[record]'") from None
    count = player.interaction_count

    def announce(url: str) -> None:
        click.echo(f"chunktape: replaying with {described}", err=True)
        click.echo(f"chunktape: serving {count} interaction{'' if count == 1 else 's'} as a proxy on {url}")
        sys.stdout.flush()

    with _log_to_stderr(), ReplayServer(player, host="127.0.0.1", port=0) as server:
        return run_proxy(server, host=host, port=port, confdir=default_confdir(), command=command, announce=announce)


@contextlib.contextmanager
def _log_to_stderr() -> Iterator[None]:
    """Misses go to stderr, one message each; uvicorn speaks up only for errors."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("chunktape: %(message)s"))
    chunktape_log, uvicorn_log = logging.getLogger("chunktape"), logging.getLogger("uvicorn.error")
    saved = (chunktape_log.level, chunktape_log.propagate, uvicorn_log.level)
    chunktape_log.addHandler(handler)
    chunktape_log.setLevel(logging.INFO)
    chunktape_log.propagate = False
    uvicorn_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        chunktape_log.removeHandler(handler)
        chunktape_log.setLevel(saved[0])
        chunktape_log.propagate = saved[1]
        uvicorn_log.setLevel(saved[2])
