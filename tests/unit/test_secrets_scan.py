"""Finding leaked secrets in cassette text, and masking them in messages."""

from __future__ import annotations

import base64
import json

from chunktape.secret_names import mask, mask_secrets
from chunktape.secrets_scan import body_secrets, scan_text
from tests.support.fake_keys import FAKE_KEYS

KEY = "AIza" + "B" * 35


def test_a_key_shaped_string_is_found_on_its_line_and_masked() -> None:
    text = f"version: 1\ninteractions:\n- request:\n    url: https://x.test/?alt=sse\n    note: {KEY}\n"
    [finding] = scan_text(text)
    assert finding.line == 5
    assert finding.kind == "google-api-key"
    assert KEY not in str(finding)


def test_an_unredacted_secret_header_and_query_parameter_are_found() -> None:
    text = "headers:\n  x-api-key: plain-value-123\nurl: https://x.test/?key=abc123&alt=sse\n"
    kinds = sorted(finding.kind for finding in scan_text(text))
    assert kinds == ["query parameter key= not redacted", "x-api-key not redacted"]


def test_redacted_values_are_no_finding() -> None:
    assert scan_text("headers:\n  authorization: <redacted>\nurl: https://x.test/?key=<redacted>\n") == []


def test_masking_keeps_enough_to_find_it_and_never_the_key() -> None:
    shown = mask_secrets(f"failed for {KEY} and Bearer abcdefghijklmnop")
    assert KEY not in shown
    assert "abcdefghijklmnop" not in shown
    assert mask(KEY) == "AIza… 39 chars"


def test_scan_text_names_each_of_eight_providers_formats_on_its_line_masked() -> None:
    text = "".join(f"  note{n}: see {key} here\n" for n, key in enumerate(FAKE_KEYS.values()))
    findings = scan_text(text)
    assert [(finding.line, finding.kind) for finding in findings] == [
        (n, kind) for n, kind in enumerate(FAKE_KEYS, start=1)
    ]
    assert not [key for key in FAKE_KEYS.values() if key in " ".join(map(str, findings))]


def test_a_body_holding_keys_in_base64_audio_and_prose_finds_only_the_prose_ones() -> None:
    audio = base64.b64encode(bytes(range(256)) * 300).decode()
    audio = audio[:50_000] + FAKE_KEYS["aws-access-key"] + audio[50_000:]  # data, in a 100 KB run of base64
    data = json.dumps({"audio": audio, "text": "use " + FAKE_KEYS["stripe-key"]}).encode()
    assert body_secrets(data) == [("stripe-key", FAKE_KEYS["stripe-key"])]
