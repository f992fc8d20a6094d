"""What every command shares: the knob options (from the knob table), and clean error exits."""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click

from chunktape.errors import CassetteWarning, ChunktapeError
from chunktape.knobs import ReplayPolicy
from chunktape.vocabulary import KNOBS

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


def fail(message: str) -> None:
    """One line on stderr, exit 2."""
    click.echo(f"chunktape: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def exits_cleanly[F: Callable[..., Any]](func: F) -> F:
    """Turn ChunktapeError into one line on stderr and exit 2; a CassetteWarning (an
    interrupted recording set aside) into one line on stderr."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", CassetteWarning)
                warnings.showwarning = functools.partial(_say_warning, warnings.showwarning)
                return func(*args, **kwargs)
        except ChunktapeError as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]


def _say_warning(
    otherwise: Callable[..., None], message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any
) -> None:
    if issubclass(category, CassetteWarning):
        click.echo(f"chunktape: warning: {message}", err=True)
    else:
        otherwise(message, category, *args, **kwargs)


def knob_options[F: Callable[..., Any]](func: F) -> F:
    """--speed --split --delay (repeatable) --fault --seed, rendered from the one knob table."""
    for knob in reversed(KNOBS):
        func = click.option(
            f"--{knob.name}",
            default=None if knob.repeatable else knob.default,
            multiple=knob.repeatable,
            show_default=knob.default is not None,
            metavar=knob.metavar,
            help=knob.option_help(),
        )(func)
    return func


def policy_from_options(
    speed: str, split: str, delay: tuple[str, ...], fault: str | None, seed: str, resume: str | None = None
) -> ReplayPolicy:
    """The policy the options spell; an old spelling (fault disconnect:N) is noted on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        policy = ReplayPolicy.from_knobs(
            speed=speed, split=split, delay=list(delay), fault=fault, seed=seed, resume=resume
        )
    for warning in caught:
        click.echo(f"chunktape: note: {warning.message}", err=True)
    return policy
