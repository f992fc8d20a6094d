"""Known API-key and token formats, and finding them in any text: the leaf that the redaction of
requests, `chunktape validate`, the recorder's warnings and the masking of error
messages all share, so they agree on what a key is.

Format detectors only, never "a long random-looking string": a multimodal request carries
base64 images and audio that an entropy rule would eat.

Long on purpose: the table of formats is most of it, and one table is the point.

Most formats are carried from detect-secrets (https://github.com/Yelp/detect-secrets,
Apache-2.0, copyright Yelp, Inc.; see LICENSES/detect-secrets.txt), version 1.5.0's format
plugins; each entry names its plugin, and `UPSTREAM` keeps that plugin's regexes verbatim so
a test can tell when detect-secrets changes one. Changes made here: a token's tail is taken
whole (`{24,}` where the plugin stops at 24 characters), so that redacting it leaves nothing
behind; a private key is taken from its BEGIN line to its END line; a JWT keeps its signature;
Stripe's test keys are included. The LLM providers' formats, GitHub's fine-grained tokens and
bearer tokens are chunktape's own additions.

Cheap on purpose (it runs on every recorded request): runs of 4 KB or more of base64 are
skipped with byte operations; the rest is searched for each format's literal needles
(C-speed substring search), and only the formats whose needle occurs run their regex, each
starting with a literal so the regex engine skips ahead (measured faster than one combined
regex, which cannot). Usually none does.

Long on purpose: the format table and the detect-secrets regexes it is checked against are one
list to review together.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "FORMATS",
    "NOT_CARRIED",
    "UPSTREAM",
    "FoundKey",
    "KeyFormat",
    "candidates_in",
    "find_keys",
    "mask",
    "redact_keys",
]


@dataclass(frozen=True)
class KeyFormat:
    """One key format: `kind` names it in `<redacted:KIND>` and in warnings; `pattern` matches
    it (its `(?P<secret>...)` group, when it has one, is the part redacted); the text must hold
    one of `needles` for the pattern to be tried."""

    kind: str
    pattern: str
    needles: tuple[str, ...]
    source: str
    """`detect-secrets <Plugin>` for a carried format, `chunktape` for our own."""


def _prefixed(prefix: str, rest: str) -> str:
    """`prefix` then `rest`, where `prefix` does not follow a letter or digit (`task-...` is no
    `sk-` key). The check comes after the literal: a leading lookbehind would make the regex
    engine try it at every position."""
    return f"{re.escape(prefix)}(?<![A-Za-z0-9]{re.escape(prefix)}){rest}"


_URL_RESERVED = re.escape(":/?#[]@" + "!$&'()*+,;=")  # detect-secrets' basic_auth.py: RFC 3986 section 2.2
_PRIVATE_KEY_LINE = r"-{4,5} ?(?:BEGIN|END) [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}"

_END = r"(?![A-Za-z0-9_\-])"  # a token ends where its characters do: base64 data rarely fits
FORMATS: tuple[KeyFormat, ...] = (
    # LLM providers (chunktape): before the other formats, as sk-ant- is also an sk- key
    KeyFormat("anthropic-key", _prefixed("sk-ant-", r"[A-Za-z0-9_\-]{20,}"), ("sk-ant-",), "chunktape"),
    KeyFormat("openai-key", _prefixed("sk-", r"[A-Za-z0-9_\-]*[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9_\-]{20,}"),
              ("T3BlbkFJ",), "detect-secrets OpenAIDetector"),
    KeyFormat("openai-key", _prefixed("sk-", r"(?!ant-)[A-Za-z0-9_\-]{20,}"), ("sk-",), "chunktape"),
    KeyFormat("google-api-key", _prefixed("AIza", r"[0-9A-Za-z_\-]{35,}"), ("AIza",), "chunktape"),
    KeyFormat("huggingface-token", _prefixed("hf_", r"[A-Za-z0-9]{30,}" + _END), ("hf_",), "chunktape"),
    KeyFormat("groq-key", _prefixed("gsk_", r"[A-Za-z0-9]{40,}" + _END), ("gsk_",), "chunktape"),
    KeyFormat("xai-key", _prefixed("xai-", r"[A-Za-z0-9]{40,}" + _END), ("xai-",), "chunktape"),
    KeyFormat("replicate-token", _prefixed("r8_", r"[A-Za-z0-9]{30,}" + _END), ("r8_",), "chunktape"),
    KeyFormat("perplexity-key", _prefixed("pplx-", r"[A-Za-z0-9]{40,}" + _END), ("pplx-",), "chunktape"),
    KeyFormat("langsmith-key", r"lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}", ("lsv2_",), "chunktape"),
    # detect-secrets' format plugins
    KeyFormat("aws-access-key", r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)(?<![A-Za-z0-9]....)[0-9A-Z]{16}" + _END,
              ("A3T", "ABIA", "ACCA", "AKIA", "ASIA"), "detect-secrets AWSKeyDetector"),
    KeyFormat("github-token", r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36,}",
              ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), "detect-secrets GitHubTokenDetector"),
    KeyFormat("github-token", r"github_pat_[A-Za-z0-9_]{22,}", ("github_pat_",), "chunktape"),
    KeyFormat("gitlab-token",
              r"(?:(?:glpat|gldt|glft|glsoat|glrt)-[A-Za-z0-9_\-]{20,50}|GR1348941[A-Za-z0-9_\-]{20,50}"
              r"|glcbt-(?:[0-9a-fA-F]{2}_)?[A-Za-z0-9_\-]{20,50}|glimt-[A-Za-z0-9_\-]{25}"
              r"|glptt-[A-Za-z0-9_\-]{40}|glagent-[A-Za-z0-9_\-]{50,1024}|gloas-[A-Za-z0-9_\-]{64})(?!\w)",
              ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "GR1348941", "glcbt-", "glimt-", "glptt-",
               "glagent-", "gloas-"), "detect-secrets GitLabTokenDetector"),
    KeyFormat("slack-token", r"xox[abposr]-(?:\d+-)+[a-zA-Z0-9]+", ("xox",), "detect-secrets SlackDetector"),
    KeyFormat("slack-token", r"XOX[ABPOSR]-(?:\d+-)+[a-zA-Z0-9]+", ("XOX",), "detect-secrets SlackDetector"),
    KeyFormat("slack-webhook", r"https://hooks\.slack\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/[a-zA-Z0-9_]+",
              ("hooks.slack.com",), "detect-secrets SlackDetector"),
    KeyFormat("stripe-key", r"(?:r|s)k_(?:live|test)_[0-9a-zA-Z]{24,}", ("k_live_", "k_test_"),
              "detect-secrets StripeDetector"),
    KeyFormat("sendgrid-key", r"SG\.[a-zA-Z0-9_\-]{22}\.[a-zA-Z0-9_\-]{43}", ("SG.",), "detect-secrets SendGridDetector"),
    KeyFormat("pypi-token", r"pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{70,}", ("pypi-AgE",),
              "detect-secrets PypiTokenDetector"),
    KeyFormat("square-oauth-secret", r"sq0csp-[0-9A-Za-z\\\-_]{43}", ("sq0csp-",), "detect-secrets SquareOAuthDetector"),
    KeyFormat("azure-storage-key", r"AccountKey=(?P<secret>[a-zA-Z0-9+/=]{88})", ("AccountKey=",),
              "detect-secrets AzureStorageKeyDetector"),
    KeyFormat("jwt", _prefixed("eyJ", r"[A-Za-z0-9_=\-]+\.[A-Za-z0-9_=\-]+\.?[A-Za-z0-9_.+/=\-]*"), ("eyJ",),
              "detect-secrets JwtTokenDetector"),
    KeyFormat("private-key", rf"{_PRIVATE_KEY_LINE}[\s\S]*?(?:{_PRIVATE_KEY_LINE}|\Z)", ("PRIVATE KEY",),
              "detect-secrets PrivateKeyDetector"),
    KeyFormat("private-key", r"PuTTY-User-Key-File-[23]:[\s\S]*", ("PuTTY-User-Key-File-",),
              "detect-secrets PrivateKeyDetector"),
    KeyFormat("basic-auth", rf"://[^{_URL_RESERVED}\s]+:(?P<secret>[^{_URL_RESERVED}\s]+)@", ("://",),
              "detect-secrets BasicAuthDetector"),
    # RFC 6750: whatever follows `Bearer` is a credential (chunktape); last, so a known format wins
    *(
        KeyFormat("bearer-token", _prefixed(word, r"\s+(?!<redacted)(?P<secret>[A-Za-z0-9._~+/=\-]{12,})"), (word,),
                  "chunktape")
        for word in ("Bearer", "bearer", "BEARER")
    ),
)  # fmt: skip

# The regexes of each detect-secrets plugin carried here, verbatim as its 1.5.0 denylist holds
# them: a test compares them with the installed detect-secrets, so a change there is seen.
UPSTREAM: dict[str, tuple[str, ...]] = {
    "AWSKeyDetector": (r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}",),
    "GitHubTokenDetector": (r"(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}",),
    "GitLabTokenDetector": (
        r"(glpat|gldt|glft|glsoat|glrt)-[A-Za-z0-9_\-]{20,50}(?!\w)",
        r"GR1348941[A-Za-z0-9_\-]{20,50}(?!\w)",
        r"glcbt-([0-9a-fA-F]{2}_)?[A-Za-z0-9_\-]{20,50}(?!\w)",
        r"glimt-[A-Za-z0-9_\-]{25}(?!\w)",
        r"glptt-[A-Za-z0-9_\-]{40}(?!\w)",
        r"glagent-[A-Za-z0-9_\-]{50,1024}(?!\w)",
        r"gloas-[A-Za-z0-9_\-]{64}(?!\w)",
    ),
    "SlackDetector": (
        r"xox(?:a|b|p|o|s|r)-(?:\d+-)+[a-z0-9]+",
        r"https://hooks\.slack\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/[a-zA-Z0-9_]+",
    ),
    "StripeDetector": (r"(?:r|s)k_live_[0-9a-zA-Z]{24}",),
    "SendGridDetector": (r"SG\.[a-zA-Z0-9_-]{22}\.[a-zA-Z0-9_-]{43}",),
    "PypiTokenDetector": (r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9-_]{70,}", r"pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9-_]{70,}"),
    "SquareOAuthDetector": (r"sq0csp-[0-9A-Za-z\\\-_]{43}",),
    "AzureStorageKeyDetector": (r"AccountKey=[a-zA-Z0-9+\/=]{88}",),
    "JwtTokenDetector": (r"eyJ[A-Za-z0-9-_=]+\.[A-Za-z0-9-_=]+\.?[A-Za-z0-9-_.+/=]*?",),
    "OpenAIDetector": (r"sk-[A-Za-z0-9-_]*[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}",),
    "BasicAuthDetector": (r"://[^:/\?\#\[\]@!\$\&'\(\)\*\+,;=\s]+:([^:/\?\#\[\]@!\$\&'\(\)\*\+,;=\s]+)@",),
    "PrivateKeyDetector": (
        "BEGIN DSA PRIVATE KEY",
        "BEGIN EC PRIVATE KEY",
        "BEGIN OPENSSH PRIVATE KEY",
        "BEGIN PGP PRIVATE KEY BLOCK",
        "BEGIN PRIVATE KEY",
        "BEGIN RSA PRIVATE KEY",
        "BEGIN SSH2 ENCRYPTED PRIVATE KEY",
        "PuTTY-User-Key-File-2",
    ),
}


# Left out on purpose: a keyword rule ("aws", then "key", then 40 characters in quotes), not a
# format; JSON strings in a request hold no quotes around a value.
NOT_CARRIED: dict[str, tuple[str, ...]] = {
    "AWSKeyDetector": (r"aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?[\'\"]([0-9a-zA-Z/+]{40})[\'\"]",),
}


@dataclass(frozen=True)
class FoundKey:
    """A key in a text: its format, and where it sits (`start`/`end`: the part to redact)."""

    kind: str
    start: int
    end: int
    secret: str

    @property
    def hint(self) -> str:
        """The key masked: enough to find it, never enough to use it."""
        return mask(self.secret)


def mask(secret: str) -> str:
    """Enough to find it in the file, not enough to use it."""
    return f"{secret[: min(4, len(secret) // 4)]}… {len(secret)} chars"


_LONG_TEXT = 65_536
_NEEDLES: tuple[tuple[int, tuple[str, ...], tuple[bytes, ...]], ...] = tuple(
    (index, form.needles, tuple(needle.encode() for needle in form.needles)) for index, form in enumerate(FORMATS)
)
Candidates = tuple[int, ...]


def candidates_in(text: str | bytes) -> Candidates:
    """The formats whose needles `text` holds: only those can match in it (or in any part of it,
    so a JSON body's strings need no search of their own once the body was searched)."""
    if not isinstance(text, bytes) and len(text) > _LONG_TEXT and not text.isascii():
        text = text.encode("utf-8", "surrogatepass")  # needles are ASCII: bytes search faster than wide text
    if isinstance(text, bytes):
        return tuple(index for index, _, needles in _NEEDLES if any(needle in text for needle in needles))
    return tuple(index for index, needles, _ in _NEEDLES if any(needle in text for needle in needles))


_COMPILED: tuple[re.Pattern[str], ...] = tuple(re.compile(form.pattern) for form in FORMATS)


def _jwt_is_formally_valid(token: str) -> bool:
    """detect-secrets' JwtTokenDetector.is_formally_valid: every part is base64url, the first
    two of them JSON."""
    for index, part in enumerate(token.split(".")):
        data = part.encode("ascii")
        if len(data) % 4 == 1:
            return False
        try:
            decoded = base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))
            if index < 2:
                json.loads(decoded.decode("utf-8"))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return False
    return True


_VALID: dict[str, Callable[[str], bool]] = {"jwt": _jwt_is_formally_valid}


def find_keys(text: str, candidates: Candidates | None = None) -> list[FoundKey]:
    """Every key in `text`, in order, none overlapping (the earlier one, else the format listed
    first, wins). `candidates` (from `candidates_in` on `text` or on a larger text holding it)
    saves searching for the needles again. Long runs of base64 (an image, audio) are data, not
    keys: they are skipped, so a multimodal request costs little more than its prose."""
    segments = _segments(text)
    if len(segments) != 1 or segments[0] != (0, len(text)):
        return [
            FoundKey(key.kind, key.start + start, key.end + start, key.secret)
            for start, end in segments
            for key in find_keys(text[start:end])
        ]
    if candidates is None:
        candidates = candidates_in(text)
    if not candidates:
        return []
    hits: list[tuple[int, int, int, int]] = []  # start, format, end, whole match's end
    for index in candidates:
        regex = _COMPILED[index]
        for match in regex.finditer(text):
            start, end = match.span("secret") if "secret" in regex.groupindex else match.span()
            hits.append((start, index, end, match.end()))
    hits.sort()
    found: list[FoundKey] = []
    reached = 0
    for start, index, end, _ in hits:
        if start < reached:
            continue
        kind, secret = FORMATS[index].kind, text[start:end]
        if kind in _VALID and not _VALID[kind](secret):
            continue
        if kind == "bearer-token":  # `Bearer sk-...`: name the key's own format
            kind = _kind_of(secret) or kind
        found.append(FoundKey(kind, start, end, secret))
        reached = end
    return found


_LONG_RUN = 4_096
_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_RUNS = bytes(ord("a") if byte in _BASE64 else ord(" ") for byte in range(256))


def _segments(text: str) -> list[tuple[int, int]]:
    """(start, end) of the parts of `text` outside runs of at least 4 KB of base64 characters,
    found by byte operations (C speed); the whole text when it is short or not ASCII."""
    if len(text) < _LONG_TEXT or not text.isascii():
        return [(0, len(text))]
    mapped = text.encode("ascii").translate(_RUNS)
    run_of = b"a" * _LONG_RUN
    segments: list[tuple[int, int]] = []
    position = 0
    while (start := mapped.find(run_of, position)) >= 0:
        end = mapped.find(b" ", start)
        end = len(mapped) if end < 0 else end
        if start > position:
            segments.append((position, start))
        position = end
    if position < len(text):
        segments.append((position, len(text)))
    return segments


def _kind_of(token: str) -> str | None:
    for index in candidates_in(token):
        kind = FORMATS[index].kind
        match = _COMPILED[index].match(token)
        whole = match is not None and match.end() == len(token)
        if whole and kind != "bearer-token" and (kind not in _VALID or _VALID[kind](token)):
            return kind
    return None


def redact_keys(text: str, candidates: Candidates | None = None) -> tuple[str, list[FoundKey]]:
    """`text` with every key replaced in place by `<redacted:KIND>`, and the keys found."""
    found = find_keys(text, candidates)
    return replace_keys(text, found, lambda key: f"<redacted:{key.kind}>"), found


def replace_keys(text: str, found: list[FoundKey], replacement: Callable[[FoundKey], str]) -> str:
    """`text` with each found key replaced by what `replacement` makes of it."""
    if not found:
        return text
    parts: list[str] = []
    position = 0
    for key in found:
        parts += [text[position : key.start], replacement(key)]
        position = key.end
    parts.append(text[position:])
    return "".join(parts)
