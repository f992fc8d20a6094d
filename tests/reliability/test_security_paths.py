"""Request paths never reach the file system: the replay server answers only from the
cassettes it was given, so `/../../etc/passwd`, its encoded variants and tricks with the
mount prefix get a 404 (or a 400) and no file is opened while they are answered; and a
path can never make one mount answer with another mount's cassette.

Requests go over raw sockets: an HTTP client would tidy `..` away before sending.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chunktape import Cassette, CassettePlayer, Interaction, Request, Response
from chunktape.replay.asgi import MOUNT_PREFIX
from chunktape.replay.server import ReplayServer
from tests.support.builders import cut

SECRET_FILE_MARKS = (b"root:", b"PATH=", b"version: 1")


class OpenedFiles:
    """An audit hook (they cannot be removed, so it stays cheap): while `watching`, every
    file any thread of this process opens or lists is noted."""

    def __init__(self) -> None:
        self.watching = threading.Event()
        self.seen: list[str] = []
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.watching.is_set() and event in ("open", "os.listdir", "os.scandir", "os.chdir"):
            self.seen.append(f"{event} {args[0]!r}")


OPENED = OpenedFiles()


def answered_by(name: str) -> Cassette:
    """A cassette whose only response says which cassette it came from."""
    body = f'{{"answered_by": "{name}"}}'.encode()
    response = Response(200, (("content-type", "application/json"),), 0.0, cut(body, [], [0.0]))
    return Cassette([Interaction(Request("GET", "http://replay.test/v1/secret"), response)])


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[ReplayServer, str, str]]:
    with ReplayServer(CassettePlayer([answered_by("root")])) as replay:
        mount_a = replay.mount(CassettePlayer([answered_by("mount-a")])).rsplit("/", 1)[1]
        mount_b = replay.mount(CassettePlayer([answered_by("mount-b")])).rsplit("/", 1)[1]
        yield replay, mount_a, mount_b


def raw_get(replay: ReplayServer, target: bytes) -> tuple[int, bytes]:
    """GET `target` exactly as written; (0, b"") when the server closes without answering."""
    with socket.create_connection(("127.0.0.1", replay.port), timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: replay.test\r\nConnection: close\r\n\r\n")
        received = b""
        while piece := sock.recv(65536):
            received += piece
    if not received:
        return 0, b""
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


TRAVERSALS = [
    b"/../../etc/passwd",
    b"/../../../../../../../../etc/passwd",
    b"/%2e%2e/%2e%2e/etc/passwd",
    b"/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    b"/..%2f..%2f..%2fetc%2fpasswd",
    b"/%252e%252e/%252e%252e/etc/passwd",
    b"/..%c0%af..%c0%afetc/passwd",
    b"/....//....//etc/passwd",
    b"/..\\..\\..\\etc\\passwd",
    b"//etc/passwd",
    b"/etc/passwd%00.yaml",
    b"/proc/self/environ",
    b"/v1/secret/../../../etc/passwd",
    b"/./v1/./secret/..",
    b"/_chunktape/../etc/passwd",
    b"/_chunktape/..%2f..%2fetc/passwd",
    b"/_chunktape/%2e%2e/%2e%2e/etc/passwd",
    b"/_chunktape//etc/passwd",
    b"/_chunktape/",
    b"/_chunktape",
    b"/_chunktape/.%2e/v1/secret",
    b"/_chunktape/*/v1/secret",
]


@pytest.mark.parametrize("target", TRAVERSALS, ids=[t.decode() for t in TRAVERSALS])
def test_escaping_paths_open_no_file_and_get_a_4xx(server: tuple[ReplayServer, str, str], target: bytes) -> None:
    replay, _, _ = server
    raw_get(replay, b"/v1/warm-up")  # whatever a first miss imports is imported now
    OPENED.seen.clear()
    OPENED.watching.set()
    try:
        status, body = raw_get(replay, target)
    finally:
        OPENED.watching.clear()
    assert OPENED.seen == []
    assert status in (0, 400, 404), (status, body[:200])
    assert not any(mark in body for mark in SECRET_FILE_MARKS)
    assert b"answered_by" not in body or status == 404  # a miss may quote the closest request, never answer it
    assert httpx.get(f"{replay.base_url}/v1/secret").json() == {"answered_by": "root"}  # still serving


def test_a_mount_never_answers_with_another_mounts_cassette(server: tuple[ReplayServer, str, str]) -> None:
    replay, mount_a, mount_b = server
    a, b = f"{MOUNT_PREFIX}{mount_a}".encode(), f"{MOUNT_PREFIX}{mount_b}".encode()
    for prefix, name in ((a, b"mount-a"), (b, b"mount-b")):
        status, body = raw_get(replay, prefix + b"/v1/secret")
        assert (status, b'{"answered_by": "' + name + b'"}' in body) == (200, True)
    for target in (
        a + b"/../" + mount_b.encode() + b"/v1/secret",
        a + b"/../../_chunktape/" + mount_b.encode() + b"/v1/secret",
        a + b"/%2e%2e/" + mount_b.encode() + b"/v1/secret",
        b"/v1/../_chunktape/" + mount_b.encode() + b"/v1/secret",
        b"/x" + b + b"/v1/secret",
        b + b"%2F..%2F" + mount_a.encode() + b"/v1/secret",
    ):
        status, body = raw_get(replay, target)
        assert status == 404, (target, body[:200])
        assert b'{"answered_by": "mount-b"}' not in body


def test_an_absolute_url_target_is_never_fetched(server: tuple[ReplayServer, str, str]) -> None:
    """A proxy-style request names another host: it is matched against the cassette like any
    other and missed; nothing connects anywhere (the server has no network fallback)."""
    replay, _, _ = server
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    try:
        status, _ = raw_get(replay, f"http://127.0.0.1:{port}/v1/secret".encode())
        assert status in (400, 404)
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()


def test_the_file_watch_sees_a_file_opened_by_another_thread(tmp_path: Path) -> None:
    """The control for the watch above: it does see opens, from any thread."""
    target = tmp_path / "seen.txt"
    target.write_text("x")
    OPENED.seen.clear()
    OPENED.watching.set()
    try:
        reader = threading.Thread(target=target.read_text)
        reader.start()
        reader.join()
    finally:
        OPENED.watching.clear()
    assert any("seen.txt" in entry for entry in OPENED.seen)
