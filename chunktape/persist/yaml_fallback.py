"""PyYAML, for the YAML the fast reader does not take: any valid YAML a person may write,
read carefully (no aliases: a billion laughs), and the line of any problem.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

try:
    _Loader: type[Any] = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader


class YamlProblem(Exception):
    """The text is not YAML chunktape can read: `line` (1-based, if known) and what is wrong."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def parse_yaml(text: str) -> Any:
    """The document in `text`; YamlProblem with the line of the first problem."""
    try:
        return _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlProblem(
            mark.line + 1 if mark is not None else None, f"invalid YAML: {exc.problem or exc.context}"
        ) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, such as NUL
        character = exc.character if isinstance(exc.character, int) else None
        found = text.find(chr(character)) if character is not None else -1
        line = text.count("\n", 0, found) + 1 if found >= 0 else None
        shown = f"#x{character:04x}" if character is not None else "a character"
        raise YamlProblem(line, f"invalid YAML: unacceptable character {shown} ({exc.reason})") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(None, f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:  # only the pure-Python parser recurses; libyaml stops at depth 1000
        raise YamlProblem(None, "invalid YAML: nested too deeply") from None


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


def line_of(text: str, where: tuple[str | int, ...]) -> int | None:
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
