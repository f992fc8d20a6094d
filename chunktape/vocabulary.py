"""The one table of chunktape's knob and setting vocabulary: names, how values are written,
what they do. The CLI options, the pytest options, ini settings and marker help all render
from it, so a knob is spelled and explained the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    """One knob or setting: its name, how a value is written, and what it does."""

    name: str
    syntax: str
    help: str
    default: str | None = None
    """The value when nothing sets it, as written on the command line (None: unset)."""
    repeatable: bool = False
    flag: bool = False
    """An on/off command-line switch that takes no value."""

    @property
    def metavar(self) -> str:
        return self.name.upper()

    def option_help(self) -> str:
        """For `--name` / `--chunktape-name`: what it does, then how to write it."""
        if self.flag:
            return self.help
        again = " Repeatable." if self.repeatable else ""
        return f"{self.help} Values: {self.syntax}.{again}"

    def ini_help(self) -> str:
        """For the `chunktape_name` ini setting: a default for every test."""
        default = f" (unset: {self.default})" if self.default is not None else ""
        return f"Default {self.name} for every test{default}: {self.syntax}."


RESUME = Word(
    "resume",
    "last-event-id or start",
    "What a reconnecting EventSource (a request with Last-Event-ID) gets: the events after that id, "
    "or the whole stream again, as many backends do.",
    "last-event-id",
)
KNOBS: tuple[Word, ...] = (
    Word("speed", "1 recorded rhythm, 2 twice as fast, 0 no waiting", "Playback speed.", "1"),
    Word(
        "split",
        "recorded, bytes:N, random:A-B, utf8, events (sse) or whole",
        "How the body is re-chunked; events cuts after each event of any stream format; on a realtime session, "
        "the continuation frames each message is sent in.",
        "recorded",
    ),
    Word(
        "delay",
        "first:DUR, chunk:DUR or jitter:DUR, with DUR like 250ms or 1.5s",
        "Extra waiting before the head, before each chunk, or at random per chunk.",
        repeatable=True,
    ),
    Word(
        "fault",
        "cut:N (the body ends early after N chunks), stall:N:DUR, status:CODE, truncate or none",
        "One injected failure; on a realtime session N counts messages, and truncate leaves out the last "
        "server message and closes normally.",
    ),
    Word("seed", "a whole number", "Seed for every random choice (random splits, jitter).", "0"),
    RESUME,
)
"""The timing and chaos knobs: the same names in the CLI, the marker, ini and Python."""

MATCHING: tuple[Word, ...] = (
    Word(
        "match_on",
        "any of method, host, path, query, body, headers",
        "Request parts that must match.",
        "method path query body",
    ),
    Word(
        "ignore",
        "query parameter or JSON body field names",
        "Query parameters or JSON body fields left out of matching.",
    ),
    Word(
        "normalize",
        "uuid, timestamp, epoch, id (call_, toolu_, chatcmpl-, resp_, msg_, run_ ids) or re:PATTERN",
        "Volatile values inside strings (JSON bodies at any depth, query values) replaced by a placeholder "
        "such as `<uuid>` in both the recorded and the live request before matching.",
        repeatable=True,
    ),
    Word(
        "redact",
        "header, query parameter or JSON body field names",
        "Names whose values are redacted in cassettes, besides the built-in secret names.",
    ),
)
"""How live requests are matched to recorded ones (and what never reaches a cassette)."""

RECORD_MODES: tuple[str, ...] = ("none", "once", "new_episodes", "all")
"""vcrpy's record modes, in the order help lists them (`RecordMode` in pytest_plugin/config.py)."""
RECORD_MODE = Word(
    "record_mode",
    "none, once, new_episodes or all",
    "none: replay only, never touch the network; once: record cassettes that are missing; "
    "new_episodes: replay what matches, record the rest; all: re-record everything.",
    "none",
)
CLOCK = Word(
    "clock",
    "auto, real or virtual",
    "What in-process replay waits on: auto (the event loop's clock when it is a test clock such as looptime "
    "or trio's MockClock), real (the machine's), virtual (the test clock, required; sync transports count beats).",
    "auto",
)
CORS = Word(
    "cors",
    "off, on (loopback origins), * (any origin) or origins like http://localhost:5173",
    "Let a page in a browser read replayed answers: CORS preflights answered, the page's origin allowed.",
    "off",
)
UPSTREAM = Word("upstream", "a URL such as https://api.openai.com", "Where requests go while recording.")
ENV = Word(
    "env",
    "true or false",
    "Point the SDKs at chunktape through the environment for the test: their base-URL variables "
    "(OPENAI_BASE_URL, ANTHROPIC_BASE_URL, GOOGLE_GEMINI_BASE_URL, and chunktape_env_vars) at the replay server "
    "or the recorder, or, recording without an upstream, HTTPS_PROXY/HTTP_PROXY/SSL_CERT_FILE at the recording "
    "proxy; restored after.",
    "true",
)
TLS = Word(
    "tls",
    "true or false",
    "Serve the test over https:// and wss:// (for clients that insist on TLS, such as google-genai's Live "
    "client): replayed by a TLS replay server with a local CA made for the run, recorded through the "
    "recorder's TLS; chunktape.ca_cert_path is the CA to trust, and with env on SSL_CERT_FILE points at it "
    "for the test.",
    "false",
)
ENV_VARS = Word(
    "env_vars",
    "NAME or NAME=/path (the path of that SDK's default base URL), one per line",
    "More base-URL variables the env setting points at chunktape, for other SDKs, e.g. MISTRAL_BASE_URL=/v1.",
)
"""ini only: the variables are a property of the project, not of one test."""

MAX_AGE = Word(
    "max_age",
    "a duration like 30d, 12h or 2w, or none",
    "How old a replayed cassette may be, counted from its oldest interaction's recorded_at; an older one "
    "fails its test with one line (when it was recorded, the limit, the command that re-records it), or warns "
    "(max_age_action). A cassette with no recorded_at (written before chunktape dated interactions) only warns.",
)
MAX_AGE_ACTION = Word(
    "max_age_action",
    "fail or warn",
    "What a cassette older than max_age does to its test: fail it, or pass with a CassetteAgeWarning.",
    "fail",
)
REPORTS: tuple[Word, ...] = (
    Word(
        "report",
        "a directory, created if missing",
        "Write an HTML page per failed chunktape test: the schedule as sent (policy and seed) over the "
        "recorded timeline, and the miss diff if a request missed; its path is in the failure report.",
    ),
    Word(
        "report_unused",
        "",
        "After the run, list the cassette files and the interactions no test used (xdist workers combined).",
        flag=True,
    ),
)
"""Reports of a test run: command-line options of the pytest plugin (`--chunktape-report=DIR`)."""

DRIFT = Word(
    "drift",
    "",
    "Send each replaying test's recorded requests to its upstream too and report, per test, what drifted "
    "(fields, event kinds, timing; as `chunktape drift`) in the summary and --chunktape-report pages; "
    "tests do not fail on it. Keys come from the providers' environment variables.",
    flag=True,
)
"""`--chunktape-drift`: the live provider compared with each test's cassette (docs/drift.md)."""

SEED_RANDOM_NOTE = "'random' picks a seed per run and prints it in the header."
"""The pytest plugin's extra spelling of `seed`."""

# resume comes last among the knobs in help, after the settings every test meets
PLUGIN_SETTINGS: tuple[Word, ...] = (
    *(knob for knob in KNOBS if knob is not RESUME),
    UPSTREAM,
    *MATCHING,
    RECORD_MODE,
    MAX_AGE,
    MAX_AGE_ACTION,
    CLOCK,
    RESUME,
    CORS,
    ENV,
    TLS,
)
"""Everything a marker, `chunktape_config` or ini may set, in the order help lists them."""

PICKS: tuple[str, ...] = ("round-robin", "random")
TIMINGS: tuple[str, ...] = ("recorded", "sampled")
LOAD: tuple[Word, ...] = (
    Word(
        "pool",
        "",
        "Load mode: answer any request whose method and path match recorded interactions with one of "
        "their recorded responses, whatever its body; knobs apply to each stream.",
        flag=True,
    ),
    Word(
        "pick",
        "round-robin or random",
        "With pool: which recorded response answers each request, in turn or at random (from seed).",
        "round-robin",
    ),
    Word(
        "timing",
        "recorded or sampled",
        "With pool: each stream's rhythm as its recording had it, or its first-chunk time and gaps "
        "drawn from all the pool's recordings (from seed, so a run repeats).",
        "recorded",
    ),
)
"""`chunktape serve`'s load mode: a backend for load generators (docs/load-testing.md)."""

KNOB_NAMES: tuple[str, ...] = tuple(word.name for word in KNOBS)
SETTING_NAMES: tuple[str, ...] = tuple(word.name for word in PLUGIN_SETTINGS)


def markdown_table(words: tuple[Word, ...] = PLUGIN_SETTINGS) -> str:
    """The vocabulary as a Markdown table, for the docs."""
    rows = ["| name | values | what it does | unset |", "|---|---|---|---|"]
    for entry in words:
        again = " Repeatable." if entry.repeatable else ""
        default = f"`{entry.default}`" if entry.default is not None else "-"
        rows.append(f"| `{entry.name}` | {entry.syntax} | {entry.help}{again} | {default} |")
    return "\n".join(rows)


def word(name: str) -> Word:
    """The table entry called `name`."""
    return next(entry for entry in (*PLUGIN_SETTINGS, *LOAD) if entry.name == name)
