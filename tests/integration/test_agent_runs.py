"""Whole agent runs recorded and replayed with the real frameworks: the OpenAI Agents SDK,
pydantic-ai and the `mcp` client, against a local OpenAI-compatible upstream (tool-call
arguments streamed in pieces) and a tiny real MCP server, over streamable HTTP and stdio.

Everything is recorded once per module (tapes fixture); then every upstream is stopped and
each test replays from the cassettes alone, unless it says the tools run live.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from agents import Agent, OpenAIChatCompletionsModel, Runner, set_tracing_disabled
from agents.mcp import MCPServer, MCPServerStdio, MCPServerStreamableHttp
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from openai import AsyncOpenAI
from pydantic_ai import Agent as PydanticAgent
from pydantic_ai.mcp import MCPToolset
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from chunktape import CassettePlayer, MatchRules, Recorder, ReplayPolicy, load_cassette
from chunktape.replay.server import ReplayServer
from tests.support.fakes.agent_llm import AgentLLM, ServedApp
from tests.support.fakes.mcp_tools import stamps_app

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
TOOLS = ["-m", "tests.support.fakes.mcp_tools"]
RUN_TIMEOUT_S = 60

set_tracing_disabled(True)  # the Agents SDK would otherwise send traces to OpenAI


def stdio_server(*args: str) -> MCPServerStdio:
    params: Any = {"command": PYTHON, "args": list(args), "cwd": str(ROOT)}
    return MCPServerStdio(params=params, client_session_timeout_seconds=RUN_TIMEOUT_S)


async def agents_run(llm_url: str, server: MCPServer, prompt: str) -> str:
    """One OpenAI Agents SDK run: the model streams a tool call, the MCP tool runs, the model answers."""
    client = AsyncOpenAI(base_url=llm_url, api_key="sk-test", max_retries=0)
    model = OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)
    agent = Agent(name="stamper", instructions="Stamp what you are asked to.", model=model, mcp_servers=[server])
    with anyio.fail_after(RUN_TIMEOUT_S):
        result = Runner.run_streamed(agent, prompt)
        async for _ in result.stream_events():
            pass
    return str(result.final_output)


async def agents_run_with(llm_url: str, server: MCPServer, prompt: str) -> str:
    async with server:
        return await agents_run(llm_url, server, prompt)


async def pydantic_ai_run(llm_url: str, mcp_url: str) -> str:
    model = OpenAIChatModel("gpt-4o-mini", provider=OpenAIProvider(base_url=llm_url, api_key="sk-test"))
    agent = PydanticAgent(model, toolsets=[MCPToolset(mcp_url)], instructions="Stamp what you are asked to.")
    with anyio.fail_after(RUN_TIMEOUT_S):
        async with agent:
            result = await agent.run("Stamp Zürich for pydantic-ai.")
    return str(result.output)


async def mcp_client_run(*args: str) -> str:
    """The `mcp` SDK's own client over stdio: initialize, list the tools, call one."""
    params = StdioServerParameters(command=PYTHON, args=list(args), cwd=str(ROOT))
    with anyio.fail_after(RUN_TIMEOUT_S):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            assert [tool.name for tool in (await session.list_tools()).tools] == ["stamp"]
            result = await session.call_tool("stamp", {"label": "Zürich"})
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


@dataclass(frozen=True)
class Tapes:
    llm: str
    mcp_http: str
    mcp_stdio: str
    mcp_client: str
    outputs: dict[str, str]


@pytest.fixture(scope="module")
def tapes(tmp_path_factory: pytest.TempPathFactory) -> Tapes:
    """Record every run once: the LLM and the HTTP MCP server through chunktape's recorder,
    the stdio MCP server through `chunktape record --stdio`. Then every upstream stops."""
    where = tmp_path_factory.mktemp("agent_tapes")
    tapes = Tapes(*(str(where / name) for name in ("llm.yaml", "mcp.yaml", "mcp_stdio.yaml", "mcp_client.yaml")), {})
    record_stdio = ["-m", "chunktape", "record", "--stdio", "--cassette"]
    with (
        ServedApp(AgentLLM().app) as llm,
        ServedApp(stamps_app()) as tools,
        Recorder(tapes.llm, upstream=llm.base_url) as llm_tape,
        Recorder(tapes.mcp_http, upstream=tools.base_url) as mcp_tape,
    ):
        llm_url, mcp_url = str(llm_tape.base_url).rstrip("/") + "/v1", str(mcp_tape.base_url).rstrip("/") + "/mcp"

        async def record_all() -> None:
            tapes.outputs["http"] = await agents_run_with(
                llm_url, MCPServerStreamableHttp(params={"url": mcp_url}), "Stamp Zürich, please."
            )
            server = stdio_server(*record_stdio, tapes.mcp_stdio, "--", PYTHON, *TOOLS)
            tapes.outputs["stdio"] = await agents_run_with(llm_url, server, "Stamp Zürich over stdio.")
            tapes.outputs["pydantic-ai"] = await pydantic_ai_run(llm_url, mcp_url)
            tapes.outputs["mcp"] = await mcp_client_run(*record_stdio, tapes.mcp_client, "--", PYTHON, *TOOLS)

        anyio.run(record_all)
    return tapes  # every upstream and recorder has stopped: the tests below replay from the files alone


@pytest.fixture(scope="module")
def replay_server() -> Iterator[ReplayServer]:
    with ReplayServer(port=0) as server:
        yield server


@pytest.fixture
def replaying(replay_server: ReplayServer) -> Iterator[Any]:
    """mount(paths, **knobs) -> the base URL serving those cassettes together, and its player."""
    mounted: list[str] = []

    def mount(*paths: str, normalize: tuple[str, ...] = (), **knobs: Any) -> tuple[str, CassettePlayer]:
        rules = MatchRules.build(normalize=normalize)
        player = CassettePlayer([load_cassette(path) for path in paths], ReplayPolicy.from_knobs(**knobs), rules)
        url = replay_server.mount(player, log_misses=False)
        mounted.append(url)
        return url.rstrip("/"), player

    yield mount
    for url in mounted:
        replay_server.unmount(url)


def test_recording_kept_the_volatile_tool_output_and_the_pieces(tapes: Tapes) -> None:
    assert tapes.outputs["http"].startswith("Done: Zürich stamped at ")
    assert "tools/call" in Path(tapes.mcp_stdio).read_text(encoding="utf-8")
    assert "kind: stdio" in Path(tapes.mcp_client).read_text(encoding="utf-8")


@pytest.mark.parametrize("split", ["recorded", "bytes:1", "utf8", "events"])
def test_an_agents_sdk_run_over_streamable_http_replays_with_every_upstream_stopped(
    tapes: Tapes, replaying: Any, split: str
) -> None:
    """Chaos on the tool-call deltas: the arguments still arrive whole ("Zürich" cut mid-letter
    on the wire), or the replayed MCP server would not find the recorded tools/call."""
    base_url, player = replaying(tapes.llm, tapes.mcp_http, speed=0, split=split)
    server = MCPServerStreamableHttp(params={"url": base_url + "/mcp"})
    output = anyio.run(agents_run_with, base_url + "/v1", server, "Stamp Zürich, please.")
    assert output == tapes.outputs["http"]
    assert player.misses == []


def test_an_agents_sdk_run_over_stdio_replays_with_every_upstream_stopped(tapes: Tapes, replaying: Any) -> None:
    base_url, player = replaying(tapes.llm, speed=0)
    server = stdio_server("-m", "chunktape", "serve", "--stdio", tapes.mcp_stdio, "--speed", "0")
    assert anyio.run(agents_run_with, base_url + "/v1", server, "Stamp Zürich over stdio.") == tapes.outputs["stdio"]
    assert player.misses == []


def test_a_pydantic_ai_run_replays_with_every_upstream_stopped(tapes: Tapes, replaying: Any) -> None:
    base_url, player = replaying(tapes.llm, tapes.mcp_http, speed=0)
    assert anyio.run(pydantic_ai_run, base_url + "/v1", base_url + "/mcp") == tapes.outputs["pydantic-ai"]
    assert player.misses == []


def test_the_llm_replayed_with_the_tools_live_matches_under_uuid_and_timestamp(tapes: Tapes, replaying: Any) -> None:
    """The live tool answers with a new time and uuid, which the next LLM request quotes:
    normalized, it matches the recorded one; the replayed answer still quotes the recorded output."""
    normalized_url, normalized = replaying(tapes.llm, speed=0, normalize=("uuid", "timestamp"))
    plain_url, plain = replaying(tapes.llm, speed=0)

    async def both() -> tuple[str, BaseException | None]:
        server = stdio_server(*TOOLS)  # the real MCP server, live
        async with server:
            output = await agents_run(normalized_url + "/v1", server, "Stamp Zürich over stdio.")
            try:
                await agents_run(plain_url + "/v1", server, "Stamp Zürich over stdio.")
            except Exception as exc:  # the SDK's own error for the 404 a miss gets
                return output, exc
        return output, None

    output, failure = anyio.run(both)
    assert output == tapes.outputs["stdio"]
    assert normalized.misses == []
    assert failure is not None
    (miss,) = plain.misses  # the tool's live answer is what differs, shown in the miss diff
    assert "+" in str(miss)
    assert "Zürich stamped at" in str(miss)


def test_the_mcp_client_replays_a_stdio_server(tapes: Tapes) -> None:
    replayed = anyio.run(mcp_client_run, "-m", "chunktape", "serve", "--stdio", tapes.mcp_client, "--speed", "0")
    assert replayed == tapes.outputs["mcp"]


def test_a_stdio_server_cut_after_two_messages_makes_the_mcp_client_raise_its_own_error(tapes: Tapes) -> None:
    with pytest.raises(ExceptionGroup) as caught:
        anyio.run(
            mcp_client_run, "-m", "chunktape", "serve", "--stdio", tapes.mcp_client, "--fault", "cut:2", "--speed", "0"
        )
    assert caught.group_contains(MCPError, match="Connection closed")


def test_the_plugin_serves_the_llm_and_mcp_cassettes_together_as_docs_agents_md_shows(
    tapes: Tapes, pytester: pytest.Pytester
) -> None:
    cassettes = pytester.path / "cassettes"
    cassettes.mkdir()
    shutil.copy(tapes.llm, cassettes / "llm.yaml")
    shutil.copy(tapes.mcp_http, cassettes / "mcp.yaml")
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\naddopts = -p no:cacheprovider\n")
    pytester.makeconftest("import pytest\n\n@pytest.fixture\ndef anyio_backend():\n    return 'asyncio'\n")
    pytester.makepyfile(
        test_agent=f"""
        import pytest
        from agents import Agent, OpenAIChatCompletionsModel, Runner, set_tracing_disabled
        from agents.mcp import MCPServerStreamableHttp
        from openai import AsyncOpenAI

        set_tracing_disabled(True)


        @pytest.mark.anyio
        @pytest.mark.chunktape("llm.yaml", "mcp.yaml", speed=0)
        async def test_over_streamable_http(chunktape):
            client = AsyncOpenAI(base_url=chunktape.base_url + "/v1", api_key="sk-test")
            model = OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)
            server = MCPServerStreamableHttp(params={{"url": chunktape.base_url + "/mcp"}})
            async with server:
                agent = Agent(name="stamper", instructions="Stamp what you are asked to.", model=model, mcp_servers=[server])
                result = Runner.run_streamed(agent, "Stamp Zürich, please.")
                async for _ in result.stream_events():
                    pass
            assert result.final_output == {tapes.outputs["http"]!r}
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
