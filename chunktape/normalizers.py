"""Normalizers: volatile values (uuids, timestamps, ids) replaced by a placeholder before matching.

A tool's answer that carries a fresh uuid or the time flows into the agent's next LLM request,
so the live request never equals the recorded one. `ignore` drops whole fields; a normalizer
replaces only the volatile part of a string, at any depth of a JSON body and in query values,
on both the recorded and the live request, so the rest of the string still has to match.
Pure: text in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chunktape.errors import KnobError

_HEX = "[0-9a-fA-F]"
_DAYS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_ISO = r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?"
_HTTP_DATE = rf"(?:{_DAYS}), \d{{2}} (?:{_MONTHS}) \d{{4}} \d{{2}}:\d{{2}}:\d{{2}} GMT"
ID_PREFIXES = ("call_", "toolu_", "chatcmpl-", "resp_", "msg_", "run_")

BUILT_IN: dict[str, tuple[str, str]] = {
    "uuid": (rf"(?<!{_HEX}){_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?!{_HEX})", "<uuid>"),
    "timestamp": (rf"(?<!\d)(?:{_ISO}|{_HTTP_DATE})(?!\d)", "<timestamp>"),
    "epoch": (r"(?<![\d.])(?:\d{13}|\d{10})(?![\d])", "<epoch>"),
    "id": (rf"(?<![A-Za-z0-9_-])(?:{'|'.join(map(re.escape, ID_PREFIXES))})[A-Za-z0-9_-]{{8,}}", "<id>"),
}
"""name -> (pattern, placeholder). `re:PATTERN` adds the user's own, replaced by `<re>`."""

_EPOCH_NUMBER = re.compile(r"\d{10}|\d{13}")


@dataclass(frozen=True)
class Normalizer:
    """One normalizer: what it is called, what it finds, what it writes instead."""

    name: str
    pattern: re.Pattern[str]
    placeholder: str

    def text(self, value: str) -> str:
        return self.pattern.sub(self.placeholder, value)

    @classmethod
    def parse(cls, spec: str) -> Normalizer:
        if not isinstance(spec, str):
            raise KnobError(f"bad normalize {spec!r}: write it as text: uuid, timestamp, epoch, id or re:PATTERN")
        name = spec.strip()
        if name.lower() in BUILT_IN:
            pattern, placeholder = BUILT_IN[name.lower()]
            return cls(name.lower(), re.compile(pattern), placeholder)
        if name.startswith("re:"):
            try:
                compiled = re.compile(name[3:])
            except re.error as exc:
                raise KnobError(
                    f"bad normalize {spec!r}: the pattern does not compile ({exc}); fix the regex"
                ) from None
            if compiled.fullmatch(""):
                raise KnobError(
                    f"bad normalize {spec!r}: the pattern matches the empty string; make it match something"
                )
            return cls(name, compiled, "<re>")
        raise KnobError(f"unknown normalize {spec!r}: use uuid, timestamp, epoch, id or re:PATTERN")


@dataclass(frozen=True)
class Normalizers:
    """The normalizers of one test or server, applied in the order given."""

    each: tuple[Normalizer, ...] = ()

    @classmethod
    def parse(cls, specs: Iterable[str] | str | None) -> Normalizers:
        """From names (a list, or one string separated by commas or spaces); KnobError on a bad one.
        A `re:` pattern is taken whole when given in a list."""
        if specs is None:
            return cls()
        if isinstance(specs, str):
            specs = [specs] if specs.startswith("re:") else [part for part in re.split(r"[,\s]+", specs) if part]
        elif isinstance(specs, (bytes, dict)) or not isinstance(specs, Iterable):
            raise KnobError(f"bad normalize {specs!r}: give a list such as ['uuid', 'timestamp']")
        return cls(tuple(Normalizer.parse(spec) for spec in specs))

    def __bool__(self) -> bool:
        return bool(self.each)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(normalizer.name for normalizer in self.each)

    def text(self, value: str) -> str:
        for normalizer in self.each:
            value = normalizer.text(value)
        return value

    def json(self, value: Any) -> Any:
        """`value` (parsed JSON) with every string normalized at any depth, keys left alone;
        with `epoch` on, a whole number of 10 or 13 digits (`"created": 1733471481`) too."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.json(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if type(value) is int and "epoch" in self.names and _EPOCH_NUMBER.fullmatch(str(value)):
            return "<epoch>"
        return value
