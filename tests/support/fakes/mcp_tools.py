"""A tiny real MCP server (the official `mcp` SDK), run over stdio or streamable HTTP.

Its one tool answers with a timestamp and a uuid inside a string, as real tools do (a file
written at..., a ticket created...): the values an agent's next LLM request then quotes.

    python -m tests.support.fakes.mcp_tools          # stdio
    stamps_app()                                      # an ASGI app for streamable HTTP at /mcp
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from mcp.server.mcpserver import MCPServer

server = MCPServer("stamps")


@server.tool()
def stamp(label: str) -> str:
    """Stamp a label with the time and a fresh id."""
    return f"{label} stamped at {datetime.now(UTC).isoformat()} as {uuid.uuid4()}"


def stamps_app() -> Any:
    """The server over streamable HTTP (stateless, SSE answers), mounted at /mcp."""
    return server.streamable_http_app(stateless_http=True)


if __name__ == "__main__":
    server.run()
