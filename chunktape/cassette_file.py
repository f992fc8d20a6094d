"""Cassette files: the YAML layout, atomic writes, and loading with `path:line` errors.

Layout (version 1)::

    version: 1
    interactions:
    - request: {method, url, headers, body}
      response:
        status: 200
        headers: {...}
        headers_at_s: 0.412          # response head arrived 412 ms after the request
        body: {sse_events: [...]}    # or json / text / base64, always byte-exact
        chunks:                      # how the body arrived: sizes sum to the body length
        - {at_s: 0.512, size_bytes: 183}
        ended: complete              # or cut: the upstream closed mid-body

The body is stored once, readable; the chunks only say where it was cut and when, so a
boundary inside a UTF-8 character or between CR and LF costs nothing in readability.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import yaml

from chunktape.bodies import BodyFormatError, decode_body, encode_body
from chunktape.cassette import Cassette, Chunk, Headers, Interaction, Request, Response
from chunktape.errors import CassetteError
from chunktape.redaction import Redactor

FORMAT_VERSION = 1

try:
    _Loader: type[Any] = yaml.CSafeLoader
    _Dumper: type[Any] = yaml.CSafeDumper
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader
    _Dumper = yaml.SafeDumper


class _CassetteDumper(_Dumper):  # type: ignore[misc,valid-type]
    """Block style, multi-line strings as literal blocks, one flow mapping per chunk."""


class _PureDumper(yaml.SafeDumper):
    """The pure-Python emitter: slower, but writes emoji and other non-BMP text as text
    where libyaml would escape it as \\UXXXXXXXX."""


class _FlowMap(dict[str, Any]):
    pass


_YAML_LINE_BREAKS = ("\x85", "\u2028", "\u2029", "\ufeff")


def _represent_str(dumper: Any, value: str) -> Any:
    # YAML folds NEL, LS and PS as line breaks outside double quotes: quote them to keep every byte
    if any(char in value for char in _YAML_LINE_BREAKS):  # a substring search each: 50x faster than a set
        style: str | None = '"'
    elif "\n" in value and "\r" not in value:
        style = "|"
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_flow_map(dumper: Any, value: _FlowMap) -> Any:
    return dumper.represent_mapping("tag:yaml.org,2002:map", dict(value), flow_style=True)


for _dumper in (_CassetteDumper, _PureDumper):
    _dumper.add_representer(str, _represent_str)
    _dumper.add_representer(_FlowMap, _represent_flow_map)


def dumps(cassette: Cassette, *, redact: Iterable[str] = ()) -> str:
    """The cassette as YAML text, secrets redacted."""
    redactor = Redactor(redact)
    document = {
        "version": FORMAT_VERSION,
        "interactions": [_interaction_node(redactor.interaction(i)) for i in cassette.interactions],
    }
    options: dict[str, Any] = {
        "allow_unicode": True,
        "sort_keys": False,
        "default_flow_style": False,
        "width": 1_000_000,
    }
    text: str = yaml.dump(document, Dumper=_CassetteDumper, **options)
    if "\\U" in text:  # libyaml escaped a non-BMP character (an emoji, say): keep it readable
        text = yaml.dump(document, Dumper=_PureDumper, **options)
    return text


def save_cassette(cassette: Cassette, path: str, *, redact: Iterable[str] = ()) -> None:
    """Write atomically: a crash leaves either the old file or the new one, never half of one."""
    text = dumps(cassette, redact=redact)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp_path = tempfile.mkstemp(prefix=".chunktape-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise CassetteError(
            path, None, f"cannot write the cassette ({exc.strerror}); check the directory exists and is writable"
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        raise CassetteError(
            path, None, f"cannot write the cassette ({exc.strerror}); the previous file, if any, is untouched"
        ) from None
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _headers_node(headers: Headers) -> dict[str, Any]:
    node: dict[str, Any] = {}
    for name, value in headers:
        if name in node:
            previous = node[name]
            node[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            node[name] = value
    return node


def _interaction_node(interaction: Interaction) -> dict[str, Any]:
    request, response = interaction.request, interaction.response
    request_node: dict[str, Any] = {"method": request.method, "url": request.url}
    if request.headers:
        request_node["headers"] = _headers_node(request.headers)
    if request.body:
        request_node["body"] = encode_body(request.body, request.header("content-type"))
    response_node: dict[str, Any] = {"status": response.status}
    if response.http_version != "HTTP/1.1":
        response_node["http_version"] = response.http_version
    if response.headers:
        response_node["headers"] = _headers_node(response.headers)
    response_node["headers_at_s"] = _seconds(response.headers_at_s)
    body = response.body
    if body:
        response_node["body"] = encode_body(body, response.header("content-type"))
    response_node["chunks"] = [
        _FlowMap(at_s=_seconds(chunk.at_s), size_bytes=len(chunk.data)) for chunk in response.chunks
    ]
    response_node["ended"] = response.ended
    if response.ended_at_s is not None:
        response_node["ended_at_s"] = _seconds(response.ended_at_s)
    return {"request": request_node, "response": response_node}


def _seconds(value: float) -> float:
    return round(float(value), 6)


# ---------------------------------------------------------------- loading


def load_cassette(path: str) -> Cassette:
    """Read and validate a cassette file; any problem raises CassetteError with `path:line`."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except IsADirectoryError:
        raise CassetteError(path, None, "is a directory, not a cassette file; pass a .yaml file") from None
    except FileNotFoundError:
        raise CassetteError(path, None, "no such cassette file; record it first or check the path") from None
    except OSError as exc:
        raise CassetteError(path, None, f"cannot read the cassette ({exc.strerror})") from None
    return loads(raw, path)


def loads(raw: bytes | str, path: str = "<cassette>") -> Cassette:
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise CassetteError(
                path, line, "is not UTF-8 text; a cassette is a YAML file written by chunktape"
            ) from None
    else:
        text = raw
    if not text.strip():
        raise CassetteError(path, 1, "is empty; a cassette starts with 'version: 1'")
    try:
        document = _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        yaml_line = mark.line + 1 if mark is not None else None
        raise CassetteError(path, yaml_line, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, such as NUL
        character = exc.character if isinstance(exc.character, int) else None
        found = text.find(chr(character)) if character is not None else -1
        yaml_line = text.count("\n", 0, found) + 1 if found >= 0 else None
        shown = f"#x{character:04x}" if character is not None else "a character"
        raise CassetteError(path, yaml_line, f"invalid YAML: unacceptable character {shown} ({exc.reason})") from None
    except yaml.YAMLError as exc:
        raise CassetteError(path, None, f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:  # only the pure-Python parser recurses; libyaml stops at depth 1000
        raise CassetteError(path, None, "invalid YAML: nested too deeply") from None
    try:
        cassette = _cassette_from(document)
    except _Invalid as exc:
        raise CassetteError(path, _line_of(text, exc.where), exc.problem) from None
    cassette.path = path
    return cassette


# an anchor (&name) starts a node: after a line start, a blank or a flow indicator
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s\[\]{},]", re.MULTILINE)


class _CarefulLoader(_Loader):  # type: ignore[misc,valid-type]
    """Refuses aliases (*name): chunktape never writes them, and a few lines of nested aliases
    can stand for gigabytes once a body is joined or dumped (a billion laughs). And names the
    line of a value PyYAML fails to build with a plain exception (!!timestamp 2024-02-30)."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "this node is used again through an alias (*name); cassettes never use YAML aliases",
                node.start_mark,
            )
        try:
            return super().construct_object(node, deep)
        except (yaml.YAMLError, RecursionError):
            raise
        except Exception:
            kind = str(node.tag).rsplit(":", 1)[-1]
            shown = repr(node.value)[:60] if isinstance(node.value, str) else "this node"
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {shown} as a YAML {kind}", node.start_mark
            ) from None


def _parse(text: str) -> Any:
    """The YAML document. The careful loader costs a call per node, so it reads only text
    that may define an anchor, or text the fast one failed on without saying where."""
    if "&" in text and _ANCHOR.search(text):
        return yaml.load(text, Loader=_CarefulLoader)
    try:
        return yaml.load(text, Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        raise
    except Exception:  # PyYAML's constructors raise plain errors for values such as !!int abc
        return yaml.load(text, Loader=_CarefulLoader)


class _Invalid(Exception):
    def __init__(self, where: tuple[str | int, ...], problem: str) -> None:
        super().__init__(problem)
        self.where = where
        self.problem = problem


def _line_of(text: str, where: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the node at `where`, found again only when an error is reported."""
    try:
        node: Any = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if node is None:
        return 1  # no document at all: only comments or blank lines
    line: int = node.start_mark.line + 1
    for step in where:
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            match = next((pair for pair in node.value if pair[0].value == step), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
            if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
                line = node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _field(node: Any, key: str, where: tuple[str | int, ...], kind: type | tuple[type, ...], what: str) -> Any:
    if key not in node:
        raise _Invalid(where, f"missing field '{key}' ({what})")
    value = node[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _Invalid((*where, key), f"field '{key}' must be {what}, not {_describe(value)}")
    return value


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    return f"{type(value).__name__} {value!r}"[:80]


def _check_keys(node: dict[str, Any], allowed: tuple[str, ...], where: tuple[str | int, ...]) -> None:
    for key in node:
        if key not in allowed:
            raise _Invalid((*where, key), f"unknown field {key!r}; expected one of {', '.join(allowed)}")


def _cassette_from(document: Any) -> Cassette:
    if not isinstance(document, dict):
        raise _Invalid((), f"a cassette is a mapping with 'version' and 'interactions', not {_describe(document)}")
    if "version" not in document:
        raise _Invalid((), "missing field 'version'; a chunktape cassette starts with 'version: 1'")
    version = document["version"]
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise _Invalid(
            ("version",),
            f"unknown cassette version {version!r}; this chunktape reads version {FORMAT_VERSION}: upgrade chunktape or re-record",
        )
    _check_keys(document, ("version", "interactions"), ())
    items = _field(document, "interactions", (), list, "a list of interactions")
    interactions = [_interaction_from(item, ("interactions", index)) for index, item in enumerate(items)]
    return Cassette(interactions=interactions)


def _interaction_from(node: Any, where: tuple[str | int, ...]) -> Interaction:
    if not isinstance(node, dict):
        raise _Invalid(where, f"an interaction is a mapping with 'request' and 'response', not {_describe(node)}")
    _check_keys(node, ("request", "response"), where)
    request = _request_from(_field(node, "request", where, dict, "a mapping"), (*where, "request"))
    response = _response_from(_field(node, "response", where, dict, "a mapping"), (*where, "response"))
    if response.chunks and (response.status in (204, 304) or request.method.upper() == "HEAD"):
        answer = "a response to HEAD" if request.method.upper() == "HEAD" else f"a {response.status} response"
        raise _Invalid((*where, "response", "body"), f"{answer} has no body in HTTP; remove body and chunks")
    return Interaction(request=request, response=response)


# what every emitter can put on the wire: a token name; a value of tab, visible ASCII and latin-1
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def _headers_from(node: dict[str, Any], where: tuple[str | int, ...]) -> Headers:
    if "headers" not in node or node["headers"] is None:
        return ()
    value = node["headers"]
    if not isinstance(value, dict):
        raise _Invalid((*where, "headers"), f"field 'headers' must be a mapping of name: value, not {_describe(value)}")
    pairs: list[tuple[str, str]] = []
    for name, item in value.items():
        values = item if isinstance(item, list) else [item]
        for one in values:
            if not isinstance(name, str) or not isinstance(one, str):
                raise _Invalid(
                    (*where, "headers", str(name)),
                    f"header {name!r} must have a text value (quote numbers), not {_describe(one)}",
                )
            if not _HEADER_NAME.fullmatch(name):
                raise _Invalid((*where, "headers", name), f"header name {name!r} is not a valid HTTP header name")
            if not _HEADER_VALUE.fullmatch(one):  # the value itself is not quoted: it may be a secret
                raise _Invalid(
                    (*where, "headers", name),
                    f"header {name!r} holds a line break, a control character or one beyond U+00FF; "
                    "HTTP cannot send it",
                )
            pairs.append((name, one))
    return tuple(pairs)


def _body_from(node: dict[str, Any], where: tuple[str | int, ...]) -> bytes:
    try:
        return decode_body(node.get("body"))
    except BodyFormatError as exc:
        raise _Invalid((*where, "body"), str(exc)) from None


def _request_from(node: dict[str, Any], where: tuple[str | int, ...]) -> Request:
    _check_keys(node, ("method", "url", "headers", "body"), where)
    method = _field(node, "method", where, str, "an HTTP method such as POST")
    url = _field(node, "url", where, str, "the full request URL")
    try:
        urlsplit(url)
    except ValueError as exc:
        raise _Invalid((*where, "url"), f"field 'url' is not a usable URL ({exc})") from None
    return Request(method=method, url=url, headers=_headers_from(node, where), body=_body_from(node, where))


def _seconds_field(node: dict[str, Any], key: str, where: tuple[str | int, ...]) -> float:
    value = _field(node, key, where, (int, float), "a number of seconds")
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:
        raise _Invalid((*where, key), f"field '{key}' must be a finite time >= 0 in seconds, not {_describe(value)}")
    return seconds


_RESPONSE_KEYS = ("status", "http_version", "headers", "headers_at_s", "body", "chunks", "ended", "ended_at_s")


def _response_from(node: dict[str, Any], where: tuple[str | int, ...]) -> Response:
    _check_keys(node, _RESPONSE_KEYS, where)
    status = _field(node, "status", where, int, "an HTTP status code")
    if not 200 <= status <= 599:
        raise _Invalid((*where, "status"), f"status {status} is not the status of a final HTTP response (200-599)")
    http_version = node.get("http_version", "HTTP/1.1")
    if not isinstance(http_version, str):
        raise _Invalid((*where, "http_version"), "field 'http_version' must be text such as HTTP/1.1")
    headers_at_s = _seconds_field(node, "headers_at_s", where)
    body = _body_from(node, where)
    chunk_nodes = _field(node, "chunks", where, list, "a list of {at_s, size_bytes}")
    chunks: list[Chunk] = []
    offset = 0
    previous_at = headers_at_s
    for index, chunk_node in enumerate(chunk_nodes):
        here = (*where, "chunks", index)
        if not isinstance(chunk_node, dict):
            raise _Invalid(here, f"a chunk is {{at_s: SECONDS, size_bytes: N}}, not {_describe(chunk_node)}")
        _check_keys(chunk_node, ("at_s", "size_bytes"), here)
        at_s = _seconds_field(chunk_node, "at_s", here)
        size = _field(chunk_node, "size_bytes", here, int, "a whole number of bytes")
        if size < 1:
            raise _Invalid((*here, "size_bytes"), f"chunk size_bytes must be at least 1, not {size}")
        if at_s < previous_at:
            raise _Invalid(
                (*here, "at_s"), f"chunk at_s {at_s} goes back in time (previous {previous_at}); offsets never decrease"
            )
        if offset + size > len(body):
            raise _Invalid(
                (*here, "size_bytes"), f"chunks cover more bytes than the body has ({offset + size} > {len(body)})"
            )
        chunks.append(Chunk(at_s=at_s, data=body[offset : offset + size]))
        offset += size
        previous_at = at_s
    if offset != len(body):
        raise _Invalid(
            (*where, "chunks"), f"chunk sizes add up to {offset} bytes but the body has {len(body)}; fix size_bytes"
        )
    ended = node.get("ended", "complete")
    if ended not in ("complete", "cut"):
        raise _Invalid((*where, "ended"), f"field 'ended' must be complete or cut, not {_describe(ended)}")
    ended_at_s = _seconds_field(node, "ended_at_s", where) if "ended_at_s" in node else None
    if ended_at_s is not None and ended_at_s < previous_at:
        raise _Invalid((*where, "ended_at_s"), f"ended_at_s {ended_at_s} is before the last chunk ({previous_at})")
    return Response(
        status=status,
        headers=_headers_from(node, where),
        headers_at_s=headers_at_s,
        chunks=tuple(chunks),
        ended=ended,
        ended_at_s=ended_at_s,
        http_version=http_version,
    )
