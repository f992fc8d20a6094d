"""Reads the YAML that `yaml_writer.py` writes, fast, without building YAML nodes.

PyYAML builds a node object for every scalar and then a Python value from it, which makes a
10 MB cassette (tens of thousands of chunks and events) take seconds. The YAML writer writes one
strict block style, so this reader walks the lines directly. It understands that style and
the close cousins older chunktape versions wrote through PyYAML (single-quoted scalars,
literal blocks with any chomping), and gives up — returns None — on anything else:
anchors, tags, flow collections beyond a chunk's `{at_s: .., size_bytes: ..}`, folded or
multi-line quoted scalars, comments after values, tabs. The caller then parses with PyYAML,
which also produces every error message, so a file either reads identically both ways or
is read by PyYAML alone (a differential property test holds the two to that).

Long on purpose: a line-by-line YAML reader is one state machine (blocks, sequences, keys,
scalars, literal blocks) that reads best in one place.
"""

from __future__ import annotations

import re
from typing import Any

import yaml.resolver

_RESOLVER = yaml.resolver.Resolver()


def _resolve(text: str) -> str:
    """The tag PyYAML gives a plain scalar: str, int, float, bool, null, timestamp..."""
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag


_STR_TAG = "tag:yaml.org,2002:str"

# anything PyYAML's reader refuses, or reads as a line break (CR, NEL, LS, PS), or a BOM
_SUSPECT = re.compile(r"[^\x09\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]*(?:e[-+][0-9]+)?")
_CHUNK = re.compile(r"\{at_s: ([^,{}\s]+), size_bytes: ([0-9]+)\}")
_DOUBLE = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_SIMPLE_ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_SPECIAL_FLOATS = {".inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_LITERAL_HEADER = re.compile(r"\|([1-9]?)([-+]?)|\|([-+])([1-9])")


class _Unread(Exception):
    """This text is not in the style the fast reader knows; PyYAML must read it."""


def read_document(text: str) -> Any | None:
    """The YAML document in `text`, or None when the text is not in the style this reads."""
    if not text.endswith("\n") or _SUSPECT.search(text) is not None:
        return None
    try:
        return _Reader(text.split("\n")).document()
    except (_Unread, IndexError, ValueError, OverflowError):
        return None


def read_lines(lines: list[str]) -> Any | None:
    """The document in `lines` (the text split at line feeds, without them), or None."""
    if _SUSPECT.search("\n".join(lines)) is not None:
        return None
    try:
        return _Reader([*lines, ""]).document()
    except (_Unread, IndexError, ValueError, OverflowError):
        return None


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    simple = _SIMPLE_ESCAPES.get(code)
    if simple is not None:
        return simple
    if len(code) > 1:
        value = int(code[1:], 16)
        if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:  # libyaml refuses surrogates
            raise _Unread
        return chr(value)
    raise _Unread


def _double_quoted(inner: str) -> str:
    if "\\" not in inner:
        return inner
    return _ESCAPE.sub(_unescape, inner)


def plain_value(text: str) -> Any:
    """A plain scalar as PyYAML's safe loader reads it (the forms chunktape writes)."""
    if (
        not text
        or (text[0] in _INDICATORS and not (text[0] in "-?:" and len(text) > 1 and text[1] != " "))
        or text[0] == " "
        or ": " in text
        or " #" in text
        or "\t" in text
        or text[-1] in " :"
    ):
        raise _Unread
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if text == "null":
        return None
    special = _SPECIAL_FLOATS.get(text)
    if special is not None:
        return special
    if text == "true":
        return True
    if text == "false":
        return False
    if _resolve(text) != _STR_TAG:
        raise _Unread  # 0x1f, yes, ~, 2024-01-01...: leave those to PyYAML
    return text


_NOT_A_SCALAR = object()


def _quoted_scalar(text: str) -> Any:
    """The value of a line that is one whole quoted scalar, else _NOT_A_SCALAR (a quoted key,
    say, or a multi-line scalar this reader leaves to PyYAML)."""
    if len(text) < 2 or text[-1] != text[0]:
        return _NOT_A_SCALAR
    inner = text[1:-1]
    if text[0] == "'":
        return _NOT_A_SCALAR if "'" in inner.replace("''", "") else inner.replace("''", "'")
    if "\\" not in inner:
        return _NOT_A_SCALAR if '"' in inner else inner
    match = _DOUBLE.fullmatch(text)
    return _NOT_A_SCALAR if match is None else _double_quoted(match.group(1))


class _Reader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.end = len(lines) - 1  # the text ends with a line break: the last item is ""
        self.i = 0

    # ------------------------------------------------------------ lines

    def _skip_blank(self) -> None:
        lines, end = self.lines, self.end
        while self.i < end:
            stripped = lines[self.i].lstrip(" ")
            if stripped and stripped[0] != "#":
                return
            self.i += 1

    def _indent_here(self) -> int:
        """The indent of the next content line, or -1 at the end."""
        self._skip_blank()
        if self.i >= self.end:
            return -1
        line = self.lines[self.i]
        return len(line) - len(line.lstrip(" "))

    # ------------------------------------------------------------ structure

    def document(self) -> Any:
        indent = self._indent_here()
        if indent != 0:
            raise _Unread
        first = self.lines[self.i]
        if first.startswith(("---", "...", "%")):
            raise _Unread
        value = self._block(0)
        if self._indent_here() != -1:
            raise _Unread
        return value

    def _block(self, indent: int) -> Any:
        line = self.lines[self.i]
        rest = line[indent:]
        if rest == "-" or rest.startswith("- "):
            return self._sequence(indent)
        return self._mapping(indent)

    def _mapping(self, indent: int) -> dict[Any, Any]:
        mapping: dict[Any, Any] = {}
        lines = self.lines
        while True:
            here = self._indent_here()
            if here < indent:
                return mapping
            if here > indent:
                raise _Unread
            rest = lines[self.i][indent:]
            if rest == "-" or rest.startswith("- "):
                return mapping  # an indentless sequence's next item: the caller's
            key, value_text = self._key(rest)
            self.i += 1
            mapping[key] = self._value(value_text, indent, indentless=True)

    def _sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        lines = self.lines
        while True:
            here = self._indent_here()
            if here != indent:
                if here > indent:
                    raise _Unread
                return items
            line = lines[self.i]
            rest = line[indent:]
            if rest == "-":
                self.i += 1
                items.append(self._nested(indent, indentless=False))
                continue
            if not rest.startswith("- "):
                return items  # a key of the enclosing mapping at the same indent
            content = rest[2:]
            match = _CHUNK.fullmatch(content)
            if match is not None:
                at_s = match.group(1)
                items.append({"at_s": plain_value(at_s), "size_bytes": int(match.group(2))})
                self.i += 1
                continue
            if content[0] in "'\"":
                quoted = _quoted_scalar(content)
                if quoted is not _NOT_A_SCALAR:
                    self.i += 1
                    items.append(quoted)
                    continue
            elif content.startswith("- ") or content == "-" or (content[0] in "[&*!?" and content != "[]"):
                raise _Unread
            if self._is_entry(content):
                # `- key: value`: a mapping whose keys sit two columns right of the dash
                self.lines[self.i] = " " * (indent + 2) + content
                items.append(self._mapping(indent + 2))
                continue
            self.i += 1
            items.append(self._value(content, indent, indentless=False))

    def _nested(self, indent: int, *, indentless: bool) -> Any:
        """The value of a `-` or `key:` with nothing after it: the block on the next lines
        (after a key, a sequence may sit at the key's own indent)."""
        here = self._indent_here()
        if here <= indent:
            if here == indent and indentless:
                rest = self.lines[self.i][indent:]
                if rest == "-" or rest.startswith("- "):
                    return self._sequence(indent)  # `key:` then an indentless sequence
            return None  # an empty value is null
        return self._block(here)

    @staticmethod
    def _is_entry(content: str) -> bool:
        if content[0] in "\"'":
            quoted = _DOUBLE.match(content) if content[0] == '"' else re.match(r"'(?:[^']|'')*'", content)
            if quoted is None:
                raise _Unread
            after = content[quoted.end() :]
            return after == ":" or after.startswith(": ")
        return ": " in content or content.endswith(":")

    @staticmethod
    def _key(rest: str) -> tuple[Any, str]:
        if rest[0] == '"':
            match = _DOUBLE.match(rest)
            if match is None:
                raise _Unread
            key: Any = _double_quoted(match.group(1))
            after = rest[match.end() :]
        elif rest[0] == "'":
            match = re.match(r"'((?:[^']|'')*)'", rest)
            if match is None:
                raise _Unread
            key = match.group(1).replace("''", "'")
            after = rest[match.end() :]
        else:
            split = rest.find(": ")
            if split < 0:
                if not rest.endswith(":"):
                    raise _Unread
                split = len(rest) - 1
            key = plain_value(rest[:split])
            after = rest[split:]
        if after == ":":
            return key, ""
        if not after.startswith(": "):
            raise _Unread
        return key, after[2:]

    # ------------------------------------------------------------ values

    def _value(self, text: str, indent: int, *, indentless: bool) -> Any:
        """The value written after `key:` or `- ` (its line already consumed)."""
        if not text:
            return self._nested(indent, indentless=indentless)
        first = text[0]
        if first in "'\"":
            quoted = _quoted_scalar(text)
            if quoted is _NOT_A_SCALAR:
                raise _Unread
            return quoted
        if first == "|":
            return self._literal(text, indent)
        if first == "{":
            if text == "{}":
                return {}
            match = _CHUNK.fullmatch(text)
            if match is None:
                raise _Unread
            return {"at_s": plain_value(match.group(1)), "size_bytes": int(match.group(2))}
        if first == "[":
            if text == "[]":
                return []
            raise _Unread
        return plain_value(text)

    def _literal(self, header: str, parent_indent: int) -> str:
        match = _LITERAL_HEADER.fullmatch(header)
        if match is None:
            raise _Unread
        digit = match.group(1) or match.group(4) or ""
        chomp = match.group(2) or match.group(3) or ""
        lines, end = self.lines, self.end
        start = self.i
        if digit:
            content_indent = parent_indent + int(digit)
        else:
            content_indent = 0
            probe = start
            while probe < end:
                line = lines[probe]
                stripped = line.lstrip(" ")
                if stripped:
                    content_indent = len(line) - len(stripped)
                    break
                probe += 1
            for earlier in range(start, probe):  # leading empty lines may not be deeper than the content
                if len(lines[earlier]) > content_indent:
                    raise _Unread
            if content_indent <= parent_indent:
                content_indent = parent_indent + 1  # an empty block
        pad = " " * content_indent
        collected: list[str] = []
        while self.i < end:
            line = lines[self.i]
            if line.startswith(pad):
                collected.append(line[content_indent:])
            elif not line.strip(" "):
                if len(line) > content_indent:
                    raise _Unread
                collected.append("")
            else:
                break
            self.i += 1
        body_end = len(collected)
        while body_end and not collected[body_end - 1]:
            body_end -= 1
        text = "\n".join(collected[:body_end])
        if chomp == "-":
            return text
        if chomp == "+":
            return text + "\n" * (len(collected) - body_end + (1 if body_end else 0))
        return text + "\n" if body_end else ""
