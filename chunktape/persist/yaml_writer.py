"""Writes a cassette document as YAML text, in one canonical style, without PyYAML.

Why our own writer: PyYAML's is slow (and several times slower again for emoji, which
libyaml escapes so the pure-Python emitter had to take over), and it decides the style of
each scalar itself. Writing the style ourselves makes every file chunktape writes

- readable: UTF-8 as text (CJK, emoji), multi-line strings as literal blocks, one flow
  mapping per chunk, block style everywhere else;
- appendable: an interaction is one self-contained `- request: ...` item at the end of the
  file, so the recorder appends it without rewriting the rest (see storage.py);
- fast to read back: `reader.py` parses exactly this style without building YAML nodes,
  and falls back to PyYAML for anything else.

The output is plain YAML 1.1: PyYAML (and any YAML reader) loads it to the same document,
which a differential property test checks for arbitrary cassettes.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import yaml.resolver

_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()


def _resolve(text: str) -> str:
    """The tag PyYAML gives a plain scalar: str, int, float, bool, null, timestamp..."""
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag


class FlowMap(dict[str, Any]):
    """A mapping written on one line, `{at_s: 0.1, size_bytes: 15}` (chunks)."""


# What YAML can hold unescaped in a double-quoted scalar: printable, and no line break
# (NEL, LS, PS count as line breaks), no BOM. Everything else is escaped.
_NEEDS_ESCAPE = re.compile(
    r"[^\x20-\x21\x23-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
# What a single-quoted scalar can hold: the same, but quotes and backslashes are plain text there.
_SINGLE_UNSAFE = re.compile(r"[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
# Text a literal block can hold as it is: printable, tabs and line feeds, no CR, NEL, LS, PS, BOM.
_LITERAL_UNSAFE = re.compile(
    r"[^\x09\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
# A plain (unquoted) scalar: starts with no YAML indicator, holds no ": " or " #", no control
# or line-break character, does not end with a space or a colon.
_PLAIN_CHARS = re.compile(r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]+")
_PLAIN_FIRST = frozenset("-?:,[]{}#&*!|>'\"%@` \t")
_ESCAPES = {
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


def _escape(char: str) -> str:
    known = _ESCAPES.get(char)
    if known is not None:
        return known
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02X}"
    if code <= 0xFFFF:
        return f"\\u{code:04X}"
    return f"\\U{code:08X}"


def _quoted(text: str) -> str:
    """Single quotes where they hold the text as it is (JSON reads best so), else double quotes."""
    if _SINGLE_UNSAFE.search(text) is None:
        return "'" + text.replace("'", "''") + "'"
    return _double_quoted(text)


def _double_quoted(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(lambda match: _escape(match.group()), text) + '"'


def _plain_is_safe(text: str) -> bool:
    """Whether `text` can stand unquoted: no YAML indicator first, no ": " or " #" inside, no
    control or line-break character, no trailing space or colon, and YAML reads it as a string.
    The substring tests come first: they rule out most JSON-bearing text at C speed."""
    return (
        bool(text)
        and text[0] not in _PLAIN_FIRST
        and ": " not in text
        and " #" not in text
        and text[-1] not in " :\t"
        and _PLAIN_CHARS.fullmatch(text) is not None
        and _resolve(text) == _STR_TAG
    )


def scalar(value: object) -> str:
    """One scalar on one line: plain where YAML reads it back as the same value, else quoted."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return value if _plain_is_safe(value) else _quoted(value)
    raise TypeError(f"cannot write {type(value).__name__} in a cassette")


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    # YAML 1.1 (as PyYAML resolves it) reads 1e-05 as a string: it needs the dot, 1.0e-05
    if "." not in text and "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def _literal(text: str, indent: int) -> tuple[str, list[str]] | None:
    """A literal block (`|`) for multi-line text it can hold exactly: its header and lines."""
    if "\n" not in text or _LITERAL_UNSAFE.search(text):
        return None
    body = text.rstrip("\n")
    if not body:
        return None
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    lines = body.split("\n")
    first = next(line for line in lines if line)
    indicator = "2" if first[0] == " " else ""  # content that starts with a space needs its indent said
    pad = " " * (indent + 2)
    block = [pad + line if line else "" for line in lines]
    block.extend([""] * (trailing - 1))
    return f"|{indicator}{chomp}", block


@functools.lru_cache(maxsize=4096)
def _key(key: object) -> str:  # the same few keys over and over: at_s, size_bytes, headers...
    if not isinstance(key, str):
        raise TypeError(f"cannot write a {type(key).__name__} key in a cassette")
    return key if _plain_is_safe(key) else _quoted(key)


def emit_node(value: object, indent: int, out: list[str]) -> None:
    """Append the block-style lines of a mapping or sequence `value` at `indent` to `out`."""
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            out.append(f"{pad}{_key(key)}:")
            _emit_value(item, indent, out, in_sequence=False)
    elif isinstance(value, list):
        for item in value:
            if type(item) is FlowMap:  # a chunk: the most common line of all, written directly
                out.append(f"{pad}- " + _flow(item))
            elif isinstance(item, dict) and item:
                inner: list[str] = []
                emit_node(item, indent + 2, inner)
                inner[0] = f"{pad}- " + inner[0][indent + 2 :]
                out.extend(inner)
            else:
                out.append(f"{pad}-")
                _emit_value(item, indent, out, in_sequence=True)
    else:
        raise TypeError("emit_node takes a mapping or a sequence")


def _flow(item: FlowMap) -> str:
    return "{" + ", ".join([f"{_key(k)}: {scalar(v)}" for k, v in item.items()]) + "}"


def _emit_value(item: object, indent: int, out: list[str], *, in_sequence: bool) -> None:
    """The value after `key:` (or `-`) already in out[-1]: inline, or as lines below it."""
    child = indent + 2
    if isinstance(item, FlowMap):
        out[-1] += " " + _flow(item)
    elif isinstance(item, dict):
        if item:
            emit_node(item, child, out)
        else:
            out[-1] += " {}"
    elif isinstance(item, list):
        if not item:
            out[-1] += " []"
        else:
            # PyYAML's layout: a sequence inside a mapping sits at the key's own indent
            emit_node(item, child if in_sequence else indent, out)
    elif isinstance(item, str):
        literal = _literal(item, indent)
        if literal is None:
            out[-1] += " " + scalar(item)
        else:
            header, block = literal
            out[-1] += " " + header
            out.extend(block)
    else:
        out[-1] += " " + scalar(item)


def emit_document(document: dict[str, Any]) -> str:
    """The whole document, ending with a line break."""
    out: list[str] = []
    emit_node(document, 0, out)
    return "\n".join(out) + "\n"


def emit_item(item: dict[str, Any]) -> str:
    """One item of the top-level `interactions:` sequence, ready to append to a file."""
    out: list[str] = []
    emit_node([item], 0, out)
    return "\n".join(out) + "\n"
