"""`chunktape validate`: is each cassette well-formed, byte-exact and free of secrets?

Meant for CI over a cassette directory: one line per file, exit 0 when all pass,
1 when a check failed, 2 when a file cannot be read or parsed at all.
"""

from __future__ import annotations

import sys
from typing import Any

import click
import yaml

from chunktape.bodies.framing import framing_problems
from chunktape.cassette import Cassette, iso_utc, oldest_recording
from chunktape.cassette_file import dumps, load_cassette, loads
from chunktape.commands.common import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK
from chunktape.commands.paths import cassette_paths
from chunktape.errors import CassetteError
from chunktape.persist import dumps_items, read_cassette
from chunktape.redaction import Redactor
from chunktape.secrets_scan import body_secrets, mask, scan_text, secret_values


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--redact-header", "redact", multiple=True, help="Another secret name to check for (repeatable).")
def validate(paths: tuple[str, ...], redact: tuple[str, ...]) -> None:
    """Check cassettes: schema, byte-exact round-trip, and leaked secrets.

    PATH is a cassette file or a directory of them (*.yaml, *.yml). A cassette passes
    when it loads, saving it again would give the very same file, its streamed bodies are
    framed as their format requires (event-stream CRCs, NDJSON lines, JSON arrays), and
    nothing in it looks like an API key, a bearer token or an unredacted secret header or
    ?key= value.

    \b
    Example:
      chunktape validate cassettes/
      chunktape validate tests/cassettes/test_chat.yaml --redact-header x-my-token
    """
    worst = EXIT_OK
    for path_argument in paths:
        try:
            files = cassette_paths([path_argument])
        except CassetteError as exc:
            click.echo(f"FAIL {exc}")
            worst = EXIT_BAD_INPUT
            continue
        for path in files:
            try:
                cassette = load_cassette(path)
            except CassetteError as exc:
                click.echo(f"FAIL {exc}")
                worst = EXIT_BAD_INPUT
                continue
            text = _text_of(path)
            problems = check(cassette, text, redact)
            framing = framing_findings(cassette, text)
            if framing:
                (line, first), more = framing[0], len(framing) - 1
                shown = first + (f" (and {more} more framing problem{'' if more == 1 else 's'})" if more else "")
                click.echo(f"FAIL {path}:{line}: {'; '.join([shown, *problems])}")
                worst = max(worst, EXIT_CHECK_FAILED)
            elif problems:
                click.echo(f"FAIL {path}: {'; '.join(problems)}")
                worst = max(worst, EXIT_CHECK_FAILED)
            else:
                count = len(cassette)
                sessions = len(cassette.sessions)
                also = f", {sessions} session{'' if sessions == 1 else 's'}" if sessions else ""
                recorded = oldest_recording(cassette.interactions)
                also += f", recorded {iso_utc(recorded)}" if recorded is not None else ""
                click.echo(f"ok {path} ({count} interaction{'' if count == 1 else 's'}{also})")
    sys.exit(worst)


def _text_of(path: str) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def check(cassette: Cassette, text: str, extra_names: tuple[str, ...] = ()) -> list[str]:
    """What is wrong with a cassette that loaded: an empty list when nothing is.

    Chunk sizes adding up to the body is already enforced by loading. A leaked secret also
    changes the file on saving (it gets redacted); that is reported once, as the leak.
    """
    problems: list[str] = []
    redactor = Redactor(extra_names)
    dumped = dumps(cassette, redact=extra_names)
    if cassette.sessions and cassette.interactions:  # keep the file's own order of the two kinds
        dumped = dumps_items(read_cassette(text, cassette.path or "<cassette>").interactions, redact=extra_names)
    expected = Cassette(
        [redactor.interaction(interaction) for interaction in cassette.interactions],
        sessions=[redactor.session(session) for session in cassette.sessions],
    )
    # saving gives the file itself: it loaded to `cassette`, so loading the save gives the same
    again = cassette if dumped == text else loads(dumped, cassette.path or "<cassette>")
    in_text = scan_text(text, redactor)
    findings = [str(finding) for finding in in_text]
    findings += _body_findings(cassette, redactor, {secret for _, secret in secret_values(text, redactor)})
    if again != expected:
        first = next(
            (
                n
                for n, (a, b) in enumerate(zip(again.interactions, expected.interactions, strict=False), start=1)
                if a != b
            ),
            min(len(again), len(expected)) + 1,
        )
        if again.interactions == expected.interactions:
            problems.append("not byte-exact: saving and loading again changes a session")
        else:
            problems.append(f"not byte-exact: saving and loading again changes interaction #{first}")
    elif dumped != text:
        changed = _changed_lines(dumped, text) - {finding.line for finding in in_text}
        if changed:
            problems.append(f"not round-trip stable: saving it again would change line {min(changed)}")
    if findings:
        shown_findings = _each_kind_first(findings)
        shown = ", ".join(shown_findings)
        more = f" and {len(findings) - len(shown_findings)} more" if len(findings) > len(shown_findings) else ""
        problems.append(f"leaked secret: {shown}{more}")
    return problems


def _each_kind_first(findings: list[str], at_least: int = 5) -> list[str]:
    """The findings to show: the first of each kind (`google-api-key at line 3 ...`), so every
    format found is named, then others up to `at_least`, in their order."""
    kinds: set[str] = set()
    chosen: set[int] = set()
    for number, finding in enumerate(findings):
        kind = finding.split(" at line ")[0].split(" in ")[0]
        if kind not in kinds:
            kinds.add(kind)
            chosen.add(number)
    for number in range(len(findings)):
        if len(chosen) >= at_least:
            break
        chosen.add(number)
    return [finding for number, finding in enumerate(findings) if number in chosen]


def framing_findings(cassette: Cassette, text: str) -> list[tuple[int | None, str]]:
    """(line, problem) for each response body that breaks its stream format's framing: a bad
    event-stream CRC or length, an NDJSON line that is not JSON, a JSON array never closed."""
    found: list[tuple[int | None, str]] = []
    for number, interaction in enumerate(cassette.interactions, start=1):
        response = interaction.response
        problems = framing_problems(response.body, response.header("content-type"), cut=response.ended == "cut")
        for item, problem in problems:
            where = f"interaction #{number}'s response body: {problem}"
            found.append((_body_item_line(text, number - 1, item), where))
    return found


def _body_item_line(text: str, interaction: int, item: int) -> int | None:
    """The line of the body's item-th event (a list item, or a line of a literal block)."""
    try:
        node: Any = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    for step in ("interactions", interaction, "response", "body"):
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            return None
        if node is None:
            return None
    body_line: int = node.start_mark.line + 1
    for key, value in node.value if isinstance(node, yaml.MappingNode) else []:
        if isinstance(value, yaml.SequenceNode) and item < len(value.value):
            return int(value.value[item].start_mark.line) + 1
        if key.value == "text" and isinstance(value, yaml.ScalarNode) and value.style == "|":
            return int(value.start_mark.line) + 2 + item
    return body_line


def _body_findings(cassette: Cassette, redactor: Redactor, seen: set[str]) -> list[str]:
    """Keys in the bodies' bytes that the file's text does not show as such: a body stored as
    base64, say. Bodies are kept byte-exact, never redacted, so this is where a key the
    upstream sent back (even split across two chunks) is caught."""
    found: list[str] = []
    for number, interaction in enumerate(cassette.interactions, start=1):
        for side, data in (("request", interaction.request.body), ("response", interaction.response.body)):
            for kind, secret in body_secrets(data, redactor):
                if secret not in seen:
                    seen.add(secret)
                    found.append(f"{kind} in the {side} body of interaction #{number} ({mask(secret)})")
    for number, session in enumerate(cassette.sessions, start=1):
        for index, message in enumerate(session.messages, start=1):
            for kind, secret in body_secrets(message.data, redactor):
                if secret not in seen:
                    seen.add(secret)
                    found.append(f"{kind} in message {index} of session #{number} ({mask(secret)})")
    return found


def _changed_lines(one: str, other: str) -> set[int]:
    """Line numbers that differ; from the first shifted line on when the line counts differ."""
    one_lines, other_lines = one.splitlines(keepends=True), other.splitlines(keepends=True)
    changed = {n for n, (a, b) in enumerate(zip(one_lines, other_lines, strict=False), start=1) if a != b}
    if len(one_lines) != len(other_lines):
        changed.add(min(len(one_lines), len(other_lines)) + 1)
    return changed
