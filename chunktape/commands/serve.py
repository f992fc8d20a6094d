"""`chunktape serve`: replay cassettes over real HTTP until SIGINT or SIGTERM.

Long on purpose: one command's options and their checks (replay, pool, workers, proxy, stdio)
read best beside the one function that dispatches on them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

import click

from chunktape.cassette import Cassette
from chunktape.commands.common import exits_cleanly, fail, knob_options, policy_from_options
from chunktape.commands.paths import cassette_paths
from chunktape.commands.workers import reserve_port, serve_with_workers
from chunktape.errors import ChunktapeError
from chunktape.knobs import ReplayPolicy
from chunktape.matching import DEFAULT_MATCH_ON, MATCH_FIELDS, MatchRules
from chunktape.persist import load_cassette
from chunktape.replay.cors import CorsPolicy
from chunktape.replay.local_tls import local_tls
from chunktape.replay.player import CassettePlayer
from chunktape.replay.pool import Pick, PoolPlayer, TimingMode
from chunktape.replay.server import ENGINES, Engine, ReplayServer
from chunktape.replay.stats import ServeStats
from chunktape.replay.stdio import StdioPlayer
from chunktape.vocabulary import PICKS, TIMINGS, word


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
    "--pool",
    is_flag=True,
    help=f"{word('pool').help} See docs/load-testing.md.",
)
@click.option(
    "--pick",
    type=click.Choice(PICKS),
    default=word("pick").default,
    show_default=True,
    help=word("pick").help,
)
@click.option(
    "--timing",
    type=click.Choice(TIMINGS),
    default=word("timing").default,
    show_default=True,
    help=word("timing").help,
)
@click.option(
    "--workers",
    default=1,
    type=click.IntRange(1, 256),
    show_default=True,
    help="Processes answering on the one port (SO_REUSEPORT), each with the cassettes loaded once.",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="auto",
    show_default=True,
    help="auto: uvloop, httptools and the direct path for plain replays when installed; careful: every "
    "request through the ASGI app; pure-python: the ASGI app on h11 and asyncio's loop.",
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
    pool: bool,
    pick: Pick,
    timing: TimingMode,
    workers: int,
    engine: Engine,
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
    With --pool it is a load-test backend: any request whose method and path match recorded
    interactions gets one of their recorded streams; GET /_chunktape/metrics shows streams,
    lateness, misses and faults (Prometheus text); a summary line goes to stderr at the end.

    \b
    Example:
      chunktape serve cassettes/ --port 0 --split utf8 --delay first:300ms
      chunktape serve cassettes/ --port 8080 --pool --pick random --timing sampled --workers 2
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
    if proxy and (pool or workers > 1):
        fail("--proxy serves one process without --pool; drop --pool and --workers")
    if not pool and (pick != word("pick").default or timing != word("timing").default):
        fail("--pick and --timing choose among a pool's recordings; add --pool")
    if pool and (match_on is not None or ignore):
        fail("--pool matches on method and path alone; drop --match-on and --ignore")
    if workers > 1 and not (hasattr(os, "fork") and hasattr(socket, "SO_REUSEPORT")):
        fail("--workers needs fork and SO_REUSEPORT (Linux, macOS); run one process, or one per port")
    rules = MatchRules.build(match_on, ignore, normalize=normalize)
    cassettes = [load_cassette(path) for path in cassette_paths(paths)]
    if stdio:
        sys.exit(_serve_stdio(cassettes, policy, rules))
    player = (
        PoolPlayer(cassettes, policy, pick=pick, timing=timing) if pool else CassettePlayer(cassettes, policy, rules)
    )
    if proxy:
        sys.exit(_serve_as_proxy(player, policy.describe(), host, port, command))
    tls = local_tls(tls_dir) if tls_dir else None
    cors_policy = CorsPolicy.parse(cors) if cors else None
    _raise_open_files_limit()
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    def make_server(port: int) -> ReplayServer:
        return ReplayServer(
            player, host=host, port=port, cors=cors_policy, tls=tls, engine=engine, reuse_port=workers > 1
        )

    def announce(base_url: str) -> None:
        count = player.interaction_count
        described = policy.describe() + (f", pool: {pick}, timing {timing}" if pool else "")
        click.echo(f"chunktape: replaying with {described}", err=True)
        if cors_policy is not None:
            click.echo(f"chunktape: CORS on for {cors_policy.describe()}", err=True)
        if tls is not None:
            click.echo(f"chunktape: clients trust the local CA with SSL_CERT_FILE={tls.ca_path}", err=True)
        if workers > 1:
            click.echo(f"chunktape: {workers} worker processes share the port", err=True)
        sessions = player.session_count
        if sessions:
            click.echo(
                f"chunktape: {sessions} realtime session{'' if sessions == 1 else 's'} on ws{base_url[4:]}", err=True
            )
        click.echo(f"chunktape: serving {count} interaction{'' if count == 1 else 's'} on {base_url}")
        sys.stdout.flush()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with _log_to_stderr():
            if workers > 1:
                with reserve_port(host, port) as held:
                    shared_port = held.getsockname()[1]
                    url = f"{'https' if tls else 'http'}://{f'[{host}]' if ':' in host else host}:{shared_port}"
                    stats = serve_with_workers(workers, make_server, shared_port, lambda: announce(url), stopping)
            else:
                stats = _serve_one(make_server(port), announce, stopping)
            click.echo(f"chunktape: {stats.summary()}", err=True)
    finally:
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


def _serve_one(server: ReplayServer, announce: Callable[[str], None], stopping: threading.Event) -> ServeStats:
    try:
        server.start()
        announce(server.base_url)
        while not stopping.wait(0.25):
            if not server.running:
                fail("the replay server stopped unexpectedly")
    finally:
        server.stop()
    return server.app.stats


_FEW_OPEN_FILES = 4096


def _raise_open_files_limit() -> None:
    """Each stream holds a socket: let this process open as many as the hard limit allows,
    and say so in one line when that is few."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < _FEW_OPEN_FILES:
        click.echo(
            f"chunktape: the open-files limit is {soft}, so at most about {max(0, soft - 64)} streams at once "
            "per process; raise the hard limit (ulimit -Hn, LimitNOFILE=) for more",
            err=True,
        )


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
