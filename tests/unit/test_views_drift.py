"""Drift by structure, not text (chunktape/views/drift.py, views/json_shape.py): plain values."""

from __future__ import annotations

import dataclasses
import json

import pytest

from chunktape import Chunk, Response
from chunktape.views.drift import DriftReport, compare, kinds_of, parse_tolerance
from chunktape.views.json_shape import shape_changes, shape_of
from tests.support.fakes.drifting import recorded


def findings(old: str, new: str, **kwargs: float) -> list[tuple[str, str, str, str | None]]:
    drift = compare("POST /v1/chat/completions", recorded(old).response, recorded(new).response, **kwargs)
    return [(one.severity, one.kind, one.path, one.event) for one in drift.findings]


def test_other_words_ids_and_timestamps_are_no_drift() -> None:
    assert findings("v1", "words") == []


def test_a_renamed_field_a_changed_type_an_added_field_and_event_kind_and_a_later_first_chunk_are_each_found() -> None:
    found = findings("v1", "drifted")
    kind = "chat.completion.chunk"
    assert ("breaking", "field_removed", "choices[].finish_reason", kind) in found
    assert ("notable", "field_added", "choices[].stop_reason", kind) in found
    assert ("breaking", "type_changed", "created", kind) in found
    assert ("notable", "field_added", "choices[].delta.reasoning", kind) in found
    assert ("notable", "event_kind_added", "event:ping", None) in found
    assert ("timing", "slower", "ttft", None) in found
    assert len(found) == 6


def test_a_field_only_added_is_notable_and_nothing_else() -> None:
    assert findings("v1", "added_field") == [("notable", "field_added", "service_tier", "chat.completion.chunk")]


def test_the_reverse_direction_reports_removals_as_breaking_and_a_faster_first_chunk() -> None:
    found = findings("drifted", "v1")
    assert ("breaking", "event_kind_removed", "event:ping", None) in found
    assert ("timing", "faster", "ttft", None) in found


def test_null_beside_another_type_is_a_nullable_field_not_a_type_change() -> None:
    before = shape_of([{"usage": None, "stop": None}])
    after = shape_of([{"usage": {"tokens": 3}, "stop": "end"}, {"usage": None, "stop": None}])
    assert [(c.change, c.path) for c in shape_changes(before, after)] == [("field_added", "usage.tokens")]


def test_only_the_top_of_a_removed_subtree_is_reported() -> None:
    before = shape_of([{"usage": {"a": 1, "b": {"c": 2}}}])
    after = shape_of([{}])
    assert [(c.change, c.path) for c in shape_changes(before, after)] == [("field_removed", "usage")]


def test_integers_and_decimals_are_one_json_number() -> None:
    assert shape_changes(shape_of([{"p": 1}]), shape_of([{"p": 0.5}])) == []


def test_event_kinds_come_from_the_sse_name_then_type_then_object() -> None:
    body = b'event: message_start\ndata: {"type":"x"}\n\ndata: {"type":"delta"}\n\ndata: {"object":"chunk"}\n\n'
    response = Response(200, (("content-type", "text/event-stream"),), 0.0, (Chunk(0.1, body),))
    assert sorted(kinds_of(response)) == ["chunk", "delta", "message_start"]


def test_a_json_document_body_is_compared_by_its_shape() -> None:
    head = (("content-type", "application/json"),)
    old = Response(200, head, 0.0, (Chunk(0.1, b'{"object":"list","data":[{"id":"a"}]}'),))
    new = Response(200, head, 0.0, (Chunk(0.1, b'{"object":"list","data":[{"id":7}]}'),))
    drift = compare("GET /v1/models", old, new)
    assert [(f.kind, f.path, f.event) for f in drift.findings] == [("type_changed", "data[].id", "list")]


def test_a_changed_status_is_breaking_and_the_error_body_is_not_compared() -> None:
    old = recorded("v1").response
    error = Response(429, (("content-type", "application/json"),), 0.01, (Chunk(0.02, b'{"error":{"code":429}}'),))
    drift = compare("POST /v1/x", old, error)
    assert [(f.kind, f.path, f.severity, f.recorded, f.live) for f in drift.findings] == [
        ("status_changed", "status", "breaking", "200", "429")
    ]
    assert drift.notes == ["body and timing not compared: the status changed"]


def test_content_type_and_ending_are_breaking() -> None:
    old = recorded("v1").response
    new = dataclasses.replace(old, headers=(("content-type", "application/x-ndjson"),), ended="cut")
    kinds = {(f.kind, f.path, f.severity) for f in compare("POST /v1/x", old, new).findings}
    assert {
        ("content_type_changed", "content-type", "breaking"),
        ("ending_changed", "ending", "breaking"),
    } <= kinds


def test_a_lost_final_event_is_a_breaking_change_of_the_ending() -> None:
    old = recorded("v1").response
    new = dataclasses.replace(old, chunks=old.chunks[:-1])  # no data: [DONE]
    found = [(f.kind, f.path, f.severity) for f in compare("POST /v1/x", old, new).findings]
    assert ("final_event_missing", "ending", "breaking") in found


def shifted(response: Response, seconds: float, scale: float = 1.0) -> Response:
    return dataclasses.replace(response, chunks=tuple(Chunk(c.at_s * scale + seconds, c.data) for c in response.chunks))


def test_timing_within_the_tolerance_is_no_finding_and_beyond_it_says_which_way() -> None:
    old = recorded("v1").response  # first chunk at 150 ms, then 60 ms gaps
    later = shifted(old, 0.135)  # first chunk 1.9x later, the same gaps
    assert compare("POST /v1/x", old, later).findings == []
    [finding] = compare("POST /v1/x", old, later, timing_tolerance=1.5).findings
    assert (finding.kind, finding.path, finding.recorded, finding.live, finding.ratio) == (
        "slower",
        "ttft",
        "150 ms",
        "285 ms",
        1.9,
    )
    [finding] = compare("POST /v1/x", old, shifted(old, -0.12)).findings
    assert (finding.kind, finding.path, finding.ratio) == ("faster", "ttft", 0.2)


def evenly(gap_s: float, count: int, *, stalls: int = 0) -> Response:
    """`count` chunks, the first at 150 ms, then `gap_s` apart; the last `stalls` gaps 200 ms longer."""
    times, at = [], 0.15
    for n in range(count):
        at += (gap_s + (0.2 if n >= count - stalls else 0.0)) if n else 0.0
        times.append(at)
    return Response(200, (("content-type", "text/event-stream"),), 0.0, tuple(Chunk(t, b"data: {}\n\n") for t in times))


def test_gaps_are_compared_at_p50_and_p90() -> None:
    slow = compare("POST /v1/x", evenly(0.06, 12), evenly(0.18, 12)).findings
    assert [(f.kind, f.path, f.ratio) for f in slow] == [("slower", "gap_p50", 3.0), ("slower", "gap_p90", 3.0)]


def test_a_stall_or_two_among_few_gaps_is_no_finding_but_among_many_moves_the_p90() -> None:
    assert compare("POST /v1/x", evenly(0.06, 6), evenly(0.06, 6, stalls=2)).findings == []
    assert compare("POST /v1/x", evenly(0.06, 12), evenly(0.06, 12, stalls=1)).findings == []
    many = compare("POST /v1/x", evenly(0.06, 12), evenly(0.06, 12, stalls=2)).findings
    assert [(f.kind, f.path) for f in many] == [("slower", "gap_p90")]


def test_a_shift_under_50_ms_is_no_finding_whatever_the_ratio() -> None:
    old = recorded("v1").response
    assert compare("POST /v1/x", old, shifted(old, -0.045), timing_tolerance=1.1).findings == []  # 0.7x


def test_imported_timing_is_not_compared_and_says_so() -> None:
    old = dataclasses.replace(recorded("v1").response, timing="imported")
    drift = compare("POST /v1/x", old, recorded("drifted").response)
    assert "ttft" not in [f.path for f in drift.findings]
    assert drift.notes == ["timing not compared: the recorded chunk times are imported, not measured"]


def test_fail_on_counts_findings_at_or_above_the_severity() -> None:
    report = DriftReport([compare("POST /v1/x", recorded("v1").response, recorded("added_field").response)])
    assert not report.fails("breaking")
    assert report.fails("notable")
    assert report.fails("timing")


def test_the_json_report_has_request_and_findings_with_severity_kind_and_path() -> None:
    report = DriftReport([compare("POST /v1/x", recorded("v1").response, recorded("added_field").response)])
    assert json.loads(report.to_json()) == {
        "interactions": [
            {
                "request": "POST /v1/x",
                "findings": [
                    {
                        "severity": "notable",
                        "kind": "field_added",
                        "path": "service_tier",
                        "event": "chat.completion.chunk",
                        "recorded": "-",
                        "live": "string",
                    }
                ],
            }
        ]
    }


@pytest.mark.parametrize("text", ["2", "2x", "1.5X", " 3 "])
def test_a_tolerance_is_a_ratio_with_or_without_x(text: str) -> None:
    assert parse_tolerance(text) == float(text.strip().lower().removesuffix("x"))


@pytest.mark.parametrize("text", ["1", "0.5", "fast", "nan", "inf", "-2"])
def test_a_tolerance_that_is_no_ratio_above_1_is_refused_with_the_fix(text: str) -> None:
    with pytest.raises(ValueError, match="like 2 or 2x"):
        parse_tolerance(text)
