"""Every error a replayed exchange raises, mapped to the client library's own in one place,
as httpx maps httpcore's (`map_httpcore_exceptions`): the core raises neutral errors, the
transports translate them for the library that built the request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType

from chunktape.replay.shapes import HttpRequest

CUT_MESSAGE = "peer closed connection without sending complete message body (incomplete chunked read)"


class ReplayedFault(Exception):
    """A fault the recorded rhythm (or a chaos knob) makes the client live through."""


class ReplayedTimeout(ReplayedFault):
    """The client's read timeout ran out during a replayed delay or stall."""


class ReplayedCut(ReplayedFault):
    """The replayed connection ends mid-body."""


# neutral error -> the name of the client library's exception for it
_LIBRARY_ERRORS: dict[type[ReplayedFault], str] = {
    ReplayedTimeout: "ReadTimeout",
    ReplayedCut: "RemoteProtocolError",
}


@contextlib.contextmanager
def map_replay_errors(flavor: ModuleType, request: HttpRequest) -> Iterator[None]:
    """Turn the neutral faults raised inside into `flavor`'s own exceptions (httpx or httpx2)."""
    try:
        yield
    except ReplayedFault as fault:
        library_error = getattr(flavor, _LIBRARY_ERRORS[type(fault)])
        raise library_error(str(fault), request=request) from None
