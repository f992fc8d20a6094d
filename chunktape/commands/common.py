"""What every command shares: the knob options spelled as in SPEC, and clean error exits."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from chunktape.errors import ChunktapeError
from chunktape.knobs import ReplayPolicy

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


def fail(message: str) -> None:
    """One line on stderr, exit 2."""
    click.echo(f"chunktape: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def exits_cleanly[F: Callable[..., Any]](func: F) -> F:
    """Turn ChunktapeError into one line on stderr and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ChunktapeError as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]


def knob_options[F: Callable[..., Any]](func: F) -> F:
    """--speed --split --delay (repeatable) --fault --seed, as in the marker and Python API."""
    options = [
        click.option(
            "--speed", default="1", show_default=True, help="1 = recorded rhythm, 2 = twice as fast, 0 = no waiting."
        ),
        click.option(
            "--split", default="recorded", show_default=True, help="recorded, bytes:N, random:A-B, utf8, sse or whole."
        ),
        click.option(
            "--delay", multiple=True, help="first:DUR, chunk:DUR or jitter:DUR (repeatable), e.g. first:250ms."
        ),
        click.option("--fault", default=None, help="disconnect:N, stall:N:DUR, status:CODE or truncate."),
        click.option(
            "--seed", default="0", show_default=True, help="Seed for every random choice (split random, jitter)."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def policy_from_options(speed: str, split: str, delay: tuple[str, ...], fault: str | None, seed: str) -> ReplayPolicy:
    return ReplayPolicy.from_knobs(speed=speed, split=split, delay=list(delay), fault=fault, seed=seed)
