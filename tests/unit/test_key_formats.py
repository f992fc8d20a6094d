"""Key formats: each found whole and redacted in place; data and look-alikes left alone; the
formats carried from detect-secrets still the ones detect-secrets has."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from detect_secrets.plugins import (
    aws,
    azure_storage_key,
    basic_auth,
    github_token,
    gitlab_token,
    jwt,
    openai,
    private_key,
    pypi_token,
    sendgrid,
    slack,
    square_oauth,
    stripe,
)
from hypothesis import given
from hypothesis import strategies as st

from chunktape.key_formats import FORMATS, NOT_CARRIED, UPSTREAM, candidates_in, find_keys, mask, redact_keys
from tests.support.fake_keys import FAKE_KEYS


@pytest.mark.parametrize("kind", sorted(FAKE_KEYS))
def test_a_key_of_each_provider_is_redacted_in_place_keeping_the_text_around_it(kind: str) -> None:
    key = FAKE_KEYS[kind]
    text, [found] = redact_keys(f'my key is "{key}", thanks')
    assert text == f'my key is "<redacted:{kind}>", thanks'
    assert (found.kind, found.secret) == (kind, key)
    assert key not in found.hint


def _jwt() -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part({'sub': 'fake'})}.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "kind", "secret"),
    [
        ("Authorization: Bearer opaque.token-1234567890", "bearer-token", "opaque.token-1234567890"),
        ("id_token=" + _jwt(), "jwt", _jwt()),
        ("https://user:" + "hunter2" + "@db.example/x", "basic-auth", "hunter2"),
        ("-----BEGIN RSA " + "PRIVATE KEY-----\nMIIBfake\n-----END RSA PRIVATE KEY-----", "private-key", None),
        ("gsk_" + "F" * 52, "groq-key", None),
        ("github_" + "pat_" + "F" * 82, "github-token", None),
    ],
    ids=["bearer", "jwt", "basic-auth", "private-key", "groq", "github-fine-grained"],
)
def test_other_formats_are_found_with_the_part_that_is_secret(text: str, kind: str, secret: str | None) -> None:
    [found] = find_keys(text)
    assert found.kind == kind
    assert found.secret == (secret if secret is not None else text)


def test_a_bearer_token_of_a_known_format_is_named_by_that_format() -> None:
    assert redact_keys("Bearer " + FAKE_KEYS["openai-key"])[0] == "Bearer <redacted:openai-key>"


@pytest.mark.parametrize(
    "text",
    [
        "task-0123456789abcdefghijklmnop",  # an id that merely contains sk-
        "Bearer <redacted>",
        "a header.payload that is no JWT: eyJub3QganNvbg.eyJub3QganNvbg",
        "bearer tokens are short",
        "<redacted:openai-key>",
    ],
)
def test_look_alikes_and_redacted_values_are_no_key(text: str) -> None:
    assert find_keys(text) == []


@given(st.binary(min_size=1, max_size=512))
def test_long_base64_data_is_never_taken_for_a_key(data: bytes) -> None:
    audio = base64.b64encode(data * (50_000 // len(data) + 1)).decode()  # past 64 KB: a run of data
    assert find_keys(f'{{"audio": "{audio}", "text": "hi"}}') == []


def test_a_key_beside_a_long_base64_run_is_still_found() -> None:
    audio = base64.b64encode(bytes(range(256)) * 400).decode()
    text = audio + " " + FAKE_KEYS["stripe-key"] + " " + audio
    [found] = find_keys(text)
    assert (found.kind, found.start) == ("stripe-key", len(audio) + 1)


def test_only_formats_whose_needle_occurs_are_tried() -> None:
    assert candidates_in("plain prose, no key here") == ()
    assert candidates_in(FAKE_KEYS["aws-access-key"].encode()) == candidates_in(FAKE_KEYS["aws-access-key"])


def test_a_mask_shows_at_most_a_quarter_and_the_length() -> None:
    assert mask(FAKE_KEYS["github-token"]) == "ghp_… 40 chars"
    assert mask("short") == "s… 5 chars"


CARRIED = {
    "AWSKeyDetector": aws.AWSKeyDetector,
    "GitHubTokenDetector": github_token.GitHubTokenDetector,
    "GitLabTokenDetector": gitlab_token.GitLabTokenDetector,
    "SlackDetector": slack.SlackDetector,
    "StripeDetector": stripe.StripeDetector,
    "SendGridDetector": sendgrid.SendGridDetector,
    "PypiTokenDetector": pypi_token.PypiTokenDetector,
    "SquareOAuthDetector": square_oauth.SquareOAuthDetector,
    "AzureStorageKeyDetector": azure_storage_key.AzureStorageKeyDetector,
    "JwtTokenDetector": jwt.JwtTokenDetector,
    "OpenAIDetector": openai.OpenAIDetector,
    "PrivateKeyDetector": private_key.PrivateKeyDetector,
    "BasicAuthDetector": basic_auth.BasicAuthDetector,
}


def test_every_format_carried_from_detect_secrets_is_checked_against_it() -> None:
    sources = {form.source.removeprefix("detect-secrets ") for form in FORMATS if form.source != "chunktape"}
    assert sources == set(CARRIED) == set(UPSTREAM)


def test_the_secrets_page_lists_every_format() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "secrets.md").read_text(encoding="utf-8")
    assert [form.kind for form in FORMATS if f"`{form.kind}`" not in page] == []


@pytest.mark.parametrize("plugin", sorted(CARRIED))
def test_the_carried_formats_are_still_detect_secrets_own(plugin: str) -> None:
    """When detect-secrets changes a plugin's regexes, this fails: review key_formats.py."""
    assert tuple(pattern.pattern for pattern in CARRIED[plugin].denylist) == UPSTREAM[plugin] + NOT_CARRIED.get(
        plugin, ()
    )
    assert any(form.source == f"detect-secrets {plugin}" for form in FORMATS)


@pytest.mark.parametrize("kind", ["aws-access-key", "github-token", "slack-token", "stripe-key"])
def test_detect_secrets_finds_the_same_fake_keys(kind: str) -> None:
    detector = {
        "aws-access-key": aws.AWSKeyDetector,
        "github-token": github_token.GitHubTokenDetector,
        "slack-token": slack.SlackDetector,
        "stripe-key": stripe.StripeDetector,
    }[kind]()
    assert list(detector.analyze_string(f"key = '{FAKE_KEYS[kind]}'"))
