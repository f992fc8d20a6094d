"""The one error a body codec raises."""


class BodyFormatError(ValueError):
    """A body mapping in a cassette cannot be turned back into bytes; the message says why."""
