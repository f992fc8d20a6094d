"""`timing`: a response says whether its chunk times were measured (recorded) or not
(imported, paced); the file keeps it, and a wrong value is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from chunktape import Cassette, Interaction, Request, Response
from chunktape.cassette import Chunk
from chunktape.errors import CassetteError
from chunktape.persist import dumps, load_cassette, loads, save_cassette


@pytest.mark.parametrize("timing", ["recorded", "imported", "paced"])
def test_timing_round_trips_and_is_written_only_when_not_recorded(timing: str, tmp_path: Path) -> None:
    response = Response(200, (("content-type", "text/plain"),), 0.1, (Chunk(0.5, b"hello"),), timing=timing)  # type: ignore[arg-type]
    cassette = Cassette([Interaction(Request("GET", "https://x.test/"), response)])
    text = dumps(cassette)
    assert ("timing:" in text) == (timing != "recorded")
    assert text.index("timing:" if timing != "recorded" else "chunks:") <= text.index("chunks:")  # chunks stay last
    path = tmp_path / "c.yaml"
    save_cassette(cassette, str(path))
    assert load_cassette(str(path)).interactions[0].response.timing == timing


def test_an_unknown_timing_names_the_line_and_the_choices() -> None:
    text = dumps(Cassette([Interaction(Request("GET", "https://x.test/"), Response(200, timing="imported"))]))
    with pytest.raises(CassetteError) as caught:
        loads(text.replace("timing: imported", "timing: guessed"), "bad.yaml")
    message = str(caught.value)
    assert message.startswith("bad.yaml:")
    assert "recorded, imported, paced" in message
