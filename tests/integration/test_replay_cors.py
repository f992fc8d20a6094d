"""CORS on the replay server: a page on another origin can read a replayed stream, and only
the origins allowed; off by default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chunktape import Cassette, CassettePlayer
from chunktape.errors import KnobError
from chunktape.replay.cors import CorsPolicy, is_loopback_origin
from chunktape.replay.server import ReplayServer
from tests.support.builders import sse_cassette
from tests.support.serving import serving

PATH = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
BODY = {"contents": [{"parts": [{"text": "hi"}], "role": "user"}]}
PAGE = "http://localhost:5173"


def _server(cors: object) -> ReplayServer:
    return ReplayServer(CassettePlayer([sse_cassette()]), cors=cors)  # type: ignore[arg-type]


@pytest.fixture
def cors_server() -> Iterator[ReplayServer]:
    with _server("on") as server:
        yield server


def _preflight(base_url: str, origin: str = PAGE, headers: str = "content-type, x-goog-api-key") -> httpx.Response:
    return httpx.request(
        "OPTIONS",
        base_url + PATH,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def test_a_preflight_is_answered_from_the_cassette_and_never_counts_as_a_miss(cors_server: ReplayServer) -> None:
    answer = _preflight(cors_server.base_url)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == PAGE
    assert answer.headers["access-control-allow-methods"] == "POST"
    assert answer.headers["access-control-allow-headers"] == "content-type, x-goog-api-key"
    assert "Origin" in answer.headers["vary"]
    assert cors_server.player is not None
    assert cors_server.player.misses == []
    # the interaction is still there for the real request
    with httpx.stream("POST", cors_server.base_url + PATH, json=BODY, headers={"Origin": PAGE}) as response:
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == PAGE
        assert "这里是第一段" in response.read().decode()


def test_a_credentialed_request_gets_its_origin_echoed_never_a_star() -> None:
    with _server("*") as server:
        answer = _preflight(server.base_url, origin="https://app.example.com")
        assert answer.headers["access-control-allow-origin"] == "https://app.example.com"
        assert answer.headers["access-control-allow-credentials"] == "true"
        response = httpx.post(
            server.base_url + PATH, json=BODY, headers={"Origin": "https://app.example.com", "Cookie": "session=1"}
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "x-request-id" in response.headers["access-control-expose-headers"].split(", ")


def test_a_disallowed_origin_is_refused_its_preflight_and_gets_no_cors_headers(cors_server: ReplayServer) -> None:
    answer = _preflight(cors_server.base_url, origin="https://evil.example.com")
    assert answer.status_code == 403
    assert "access-control-allow-origin" not in answer.headers
    assert "--cors https://evil.example.com" in answer.json()["error"]["message"]
    response = httpx.post(cors_server.base_url + PATH, json=BODY, headers={"Origin": "https://evil.example.com"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_a_miss_is_still_the_json_diff_with_cors_headers_so_the_page_can_show_it(cors_server: ReplayServer) -> None:
    assert _preflight(cors_server.base_url + "/other").status_code == 204  # the real request tells the miss
    response = httpx.post(cors_server.base_url + PATH, json={"other": 1}, headers={"Origin": PAGE})
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == PAGE
    assert response.json()["chunktape"] == "no match"
    assert response.json()["error"]["differences"]


def test_recorded_cors_headers_are_replaced_by_the_servers_own() -> None:
    cassette = sse_cassette()
    interaction = cassette.interactions[0]
    response = interaction.response
    recorded = (*response.headers, ("access-control-allow-origin", "https://recorded.example.com"))
    object.__setattr__(response, "headers", recorded)
    with ReplayServer(CassettePlayer([Cassette([interaction])]), cors="on") as server:
        answer = httpx.post(server.base_url + PATH, json=BODY, headers={"Origin": PAGE})
    assert answer.headers.get_list("access-control-allow-origin") == [PAGE]


def test_cors_is_off_by_default() -> None:
    with ReplayServer(CassettePlayer([sse_cassette()])) as server:
        answer = _preflight(server.base_url)
        response = httpx.post(server.base_url + PATH, json=BODY, headers={"Origin": PAGE})
    assert answer.status_code == 404  # a preflight is just a request the cassette lacks
    assert "access-control-allow-origin" not in response.headers


def test_a_mount_has_its_own_cors_setting() -> None:
    with ReplayServer() as server:
        plain = server.mount(CassettePlayer([sse_cassette()]))
        browser = server.mount(CassettePlayer([sse_cassette()]), cors="on")
        assert _preflight(plain).status_code == 404
        assert _preflight(browser).status_code == 204


@pytest.mark.parametrize(
    ("origin", "loopback"),
    [
        ("http://localhost:5173", True),
        ("http://127.0.0.1:8000", True),
        ("http://[::1]:3000", True),
        ("https://app.localhost", True),
        ("http://192.168.1.2:3000", False),
        ("https://example.com", False),
        ("null", False),
    ],
)
def test_on_allows_loopback_origins_only(origin: str, loopback: bool) -> None:
    assert is_loopback_origin(origin) is loopback
    policy = CorsPolicy.parse("on")
    assert policy is not None
    assert policy.allows(origin) is loopback


def test_cors_values_parse_and_a_bad_origin_is_one_clear_line() -> None:
    assert CorsPolicy.parse("off") is None
    assert CorsPolicy.parse(None) is None
    assert CorsPolicy.parse("on") == CorsPolicy()
    assert CorsPolicy.parse("http://a.test:1, *") == CorsPolicy(("http://a.test:1", "*"))
    assert CorsPolicy.parse(["http://localhost:5173/"]) == CorsPolicy(("http://localhost:5173",))
    with pytest.raises(KnobError, match="write an origin like http://localhost:5173"):
        CorsPolicy.parse("localhost:5173/app")


def test_serve_cors_answers_a_preflight(tmp_path: Path) -> None:
    path = sse_cassette().save(str(tmp_path / "gemini.yaml"))
    with serving(path, "--cors") as served:
        answer = _preflight(served.base_url)
        assert answer.status_code == 204
        assert answer.headers["access-control-allow-origin"] == PAGE
        assert "CORS on for loopback origins" in served.stderr()
    with serving(path, "--cors", "https://app.example.com") as served:
        assert _preflight(served.base_url).status_code == 403
        assert _preflight(served.base_url, origin="https://app.example.com").status_code == 204


def test_the_plugin_setting_resolves_from_any_layer_and_is_off_unset() -> None:
    from chunktape.pytest_plugin.config import resolve

    assert resolve("x.yaml", [{}], session_seed=0).cors is None
    assert resolve("x.yaml", [{"cors": ["on"]}, {"cors": "http://localhost:3000"}], session_seed=0).cors == CorsPolicy(
        ("http://localhost:3000",)
    )
    with pytest.raises(KnobError, match="bad cors origin"):
        resolve("x.yaml", [{"cors": "localhost"}], session_seed=0)
