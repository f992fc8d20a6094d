"""`chunktape validate` and the secret scanner it uses: schema, byte-exactness, leaks."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from chunktape import Cassette, load_cassette
from chunktape.persist import dumps
from chunktape.secrets_scan import scan_text
from tests.support.builders import layout_0_1, sse_cassette
from tests.support.serving import chunktape, invoke

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"
# fake keys, assembled at run time so that no repository secret scanner flags this file
GOOGLE_KEY = "AI" + "zaSyD3adb33fC0ffee0123456789abcdefGHI"
ANTHROPIC_KEY = "sk-" + "ant-api03-abcdefghijklmnopqrstuvwxyz"
OPENAI_KEY = "sk-" + "proj-abcdefghijklmnopqrstuvwxyz012345"


def _good_text() -> str:
    return dumps(sse_cassette())


def _write(tmp_path: Path, text: str, name: str = "cassette.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_example_cassettes_pass_one_line_each() -> None:
    result = chunktape("validate", str(CASSETTES))
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == len(list(CASSETTES.glob("*.yaml")))
    assert all(re.fullmatch(r"ok .+\.yaml \(1 interaction\)", line) for line in lines)


def test_a_saved_cassette_passes(tmp_path: Path) -> None:
    path = sse_cassette().save(str(tmp_path / "saved.yaml"))
    result = invoke("validate", path)
    assert result.exit_code == 0
    assert result.output == f"ok {path} (1 interaction)\n"


def test_a_leaked_google_key_fails_with_exit_1_and_is_never_printed(tmp_path: Path) -> None:
    path = _write(tmp_path, _good_text().replace("x-goog-api-key: <redacted>", f"x-goog-api-key: {GOOGLE_KEY}"))
    result = invoke("validate", path)
    assert result.exit_code == 1
    assert result.output == f"FAIL {path}: leaked secret: google-api-key at line 8 (AIza… 39 chars)\n"
    assert GOOGLE_KEY not in result.output


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        ("x-goog-api-key: <redacted>", "x-goog-api-key: hunter2-not-a-real-key", "x-goog-api-key not redacted"),
        ("x-goog-api-key: <redacted>", "authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload", "bearer-token"),
        ("x-goog-api-key: <redacted>", f"x-api-key: {ANTHROPIC_KEY}", "anthropic-key"),
        ("x-goog-api-key: <redacted>", f"api-key: {OPENAI_KEY}", "openai-key"),
        ("x-goog-api-key: <redacted>", "cookie:\n      - session=abc123\n      - other=1", "cookie not redacted"),
        ("?alt=sse", "?alt=sse&key=my-secret-key-123", "query parameter key= not redacted"),
        ("text: hi", f"text: my key is {GOOGLE_KEY}", "google-api-key"),
    ],
    ids=["header", "bearer", "anthropic", "openai", "cookie-list", "query", "in-body"],
)
def test_every_kind_of_leak_fails(tmp_path: Path, old: str, new: str, kind: str) -> None:
    text = _good_text()
    assert old in text
    result = invoke("validate", _write(tmp_path, text.replace(old, new, 1)))
    assert result.exit_code == 1
    assert "leaked secret: " + kind in result.output


def test_a_user_given_secret_name_is_checked_too(tmp_path: Path) -> None:
    path = _write(tmp_path, _good_text().replace("x-request-id: abc", "x-request-id: abc\n      x-my-token: s3cr3t"))
    assert invoke("validate", path).exit_code == 0
    result = invoke("validate", path, "--redact-header", "X-My-Token")
    assert result.exit_code == 1
    assert "x-my-token not redacted" in result.output


def test_a_dated_cassette_passes_naming_its_oldest_recorded_at(tmp_path: Path) -> None:
    one = sse_cassette().interactions[0]
    dated = Cassette(
        [
            dataclasses.replace(one, recorded_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),
            dataclasses.replace(one, recorded_at=datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)),
        ]
    )
    path = dated.save(str(tmp_path / "dated.yaml"))
    result = invoke("validate", path)
    assert result.exit_code == 0
    assert result.output == f"ok {path} (2 interactions, recorded 2026-03-01T23:59:59Z)\n"


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("'2026-03-01T10:00:00'", "has no time zone; write it in UTC with a Z"),
        ("'yesterday'", "is not a time in UTC"),
        ("2026-03-01", "is a time such as '2026-01-31T09:30:00Z'"),
    ],
)
def test_a_recorded_at_that_is_no_utc_time_is_exit_2_with_file_line_and_fix(
    tmp_path: Path, written: str, problem: str
) -> None:
    text = _good_text().replace("interactions:\n- request:", f"interactions:\n- recorded_at: {written}\n  request:")
    path = _write(tmp_path, text)
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert result.output.startswith(f"FAIL {path}:3: field 'recorded_at' ")
    assert problem in result.output


def test_a_recorded_at_in_another_zone_is_read_as_utc_and_saved_in_utc(tmp_path: Path) -> None:
    text = _good_text().replace(
        "interactions:\n- request:", "interactions:\n- recorded_at: '2026-03-01T10:00:00+01:00'\n  request:"
    )
    path = _write(tmp_path, text)
    [interaction] = load_cassette(path).interactions
    assert interaction.recorded_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert "recorded_at: '2026-03-01T09:00:00Z'" in dumps(load_cassette(path))


def _realtime_example() -> str:
    """The session cassette docs/realtime.md shows, comments and all."""
    page = (ROOT / "docs" / "realtime.md").read_text(encoding="utf-8")
    return page.split("```yaml\n", 1)[1].split("```", 1)[0]


def _another_writer(text: str) -> str:
    """The same document as PyYAML writes it with 4-space indents: other quoting, block chunks."""
    document = yaml.safe_load(text)
    dumped: str = yaml.safe_dump(document, indent=4, allow_unicode=True, sort_keys=False, width=1_000_000)
    return dumped


LAYOUTS = {
    "0.1-key-order": lambda: layout_0_1(sse_cassette()),
    "comments": lambda: (
        _good_text()
        .replace("status: 200", "status: 200  # OK\n    # recorded by hand")
        .replace("interactions:", "# a cassette\ninteractions:")
    ),
    "realtime-doc-example": _realtime_example,
    "spacing-and-quoting": lambda: (
        _good_text().replace("status: 200", "status:   200").replace("method: POST", 'method: "POST"')
    ),
    "indentation-and-quoting": lambda: _another_writer(_good_text()),
}


@pytest.mark.parametrize("make", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_layout_is_never_a_failure(tmp_path: Path, make: Callable[[], str]) -> None:
    text = make()
    assert text != _good_text()
    path = _write(tmp_path, text)
    result = invoke("validate", path)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"ok {path} (")


def test_a_value_saving_would_change_fails_and_says_which_and_how(tmp_path: Path) -> None:
    text = _good_text().replace("{at_s: 0.14, size_bytes: 40}", "{at_s: 0.1400004, size_bytes: 40}")
    path = _write(tmp_path, text)
    result = invoke("validate", path)
    assert result.exit_code == 1
    assert result.output == (
        f"FAIL {path}: saving it would change interaction #1 (line 3): "
        "response.chunks[1].at_s: 0.1400004 becomes 0.14\n"
    )


def test_a_value_saving_would_change_fails_in_any_layout_too(tmp_path: Path) -> None:
    text = layout_0_1(sse_cassette()).replace("at_s: 0.14,", "at_s: 0.1400004,")
    path = _write(tmp_path, "# hand-edited\n" + text.replace("version: 1", "version:   1"))
    result = invoke("validate", path)
    assert result.exit_code == 1
    assert "saving it would change interaction #1" in result.output
    assert "response.chunks[1].at_s: 0.1400004 becomes 0.14" in result.output


WITHOUT_BOTOCORE = """
import sys
sys.modules["botocore"] = None  # from here on, any `import botocore...` raises ImportError
sys.modules["boto3"] = None
from chunktape import load_cassette
from chunktape.bodies import encode_body
for path in sys.argv[1:3]:
    response = load_cassette(path).interactions[0].response
    assert "headers" in encode_body(response.body, response.header("content-type"))["event_stream"][0]
from chunktape.cli import main
sys.argv = ["chunktape", *sys.argv[3:]]
main()
"""


@pytest.mark.parametrize("command", [["validate"], ["fmt", "--check"], ["inspect"]])
def test_every_bundled_cassette_reads_the_same_without_botocore(command: list[str]) -> None:
    """As after `pip install chunktape[record]`: botocore cannot be imported at all."""
    bedrock = [str(CASSETTES / f"bedrock_{name}_stream.yaml") for name in ("converse", "invoke")]
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_BOTOCORE, *bedrock, *command, str(CASSETTES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(list(CASSETTES.glob("*.yaml")))
    if command == ["validate"]:
        assert [line.split()[0] for line in result.stdout.splitlines()] == ["ok"] * count
    elif command == ["inspect"]:  # each Bedrock message named by its event type
        assert re.search(r"#2 +148 \+167 +contentBlockDelta +\{", result.stdout)
        assert "unreadable" not in result.stdout
    else:
        assert result.stdout == f"{count} files already formatted\n"


def test_a_malformed_cassette_is_exit_2_with_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, _good_text().replace("size_bytes: 52", "size_bytes: 0"))
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert re.fullmatch(rf"FAIL {re.escape(path)}:\d+: chunk size_bytes must be at least 1, not 0\n", result.output)


def test_the_worst_result_decides_the_exit_code(tmp_path: Path) -> None:
    good = sse_cassette().save(str(tmp_path / "a.yaml"))
    leaked = _write(tmp_path, _good_text().replace("<redacted>", GOOGLE_KEY), "b.yaml")
    broken = _write(tmp_path, "version: 2\ninteractions: []\n", "c.yaml")
    assert invoke("validate", good, leaked).exit_code == 1
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == 2
    assert [line.split()[0] for line in result.output.splitlines()] == ["ok", "FAIL", "FAIL"]
    assert f"FAIL {broken}:1: unknown cassette version 2" in result.output


def test_a_directory_without_cassettes_and_a_missing_file_are_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = invoke("validate", str(tmp_path / "empty"), str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"FAIL {tmp_path / 'empty'}: is a directory with no *.yaml or *.yml cassettes in it",
        f"FAIL {tmp_path / 'missing.yaml'}: no such cassette file; record it first or check the path",
    ]


def test_help_shows_an_example() -> None:
    result = chunktape("validate", "--help")
    assert result.returncode == 0
    assert "Example:" in result.stdout
    assert "chunktape validate cassettes/" in result.stdout


# ---------------------------------------------------------------- the scanner itself


def test_redacted_values_are_not_findings() -> None:
    text = "authorization: <redacted>\nx-api-key: '<redacted>'\nurl: https://x.test/v1?key=<redacted>&alt=sse\n"
    assert scan_text(text) == []


def test_a_block_value_under_a_secret_name_is_not_a_finding() -> None:
    assert scan_text("cookie: |\n  nested\n") == []


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=35, max_size=35))
def test_every_google_shaped_key_is_found_and_masked(tail: str) -> None:
    key = "AI" + "za" + tail
    findings = scan_text(f"body:\n  text: see {key} here\n")
    assert [(finding.line, finding.kind) for finding in findings] == [(2, "google-api-key")]
    assert key not in str(findings[0])


@given(st.text(min_size=1, max_size=60).filter(lambda s: "\n" not in s and "\r" not in s))
def test_a_finding_shows_at_most_a_quarter_of_a_secret(secret: str) -> None:
    for finding in scan_text(f"x-goog-api-key: {secret}\n"):
        shown = finding.hint.split("…")[0]
        assert len(shown) <= 4
        assert len(shown) * 4 <= len(secret)
