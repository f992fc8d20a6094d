"""Serve stats: the counts a load test reads, and the summary line when serve stops."""

from __future__ import annotations

import pickle

from chunktape.replay.stats import LATENESS_BUCKETS_S, ServeStats


def test_streams_started_ended_and_left_early_are_counted_apart() -> None:
    stats = ServeStats()
    for fault in (None, "cut", None):
        stats.started(fault)
    stats.ended(0.001)
    stats.ended(0.002, dropped=True)
    assert (stats.streams_finished, stats.streams_dropped, stats.streams_active) == (1, 1, 1)
    assert stats.faults == {"cut": 1}


def test_lateness_lands_in_its_bucket_and_early_counts_as_on_time() -> None:
    stats = ServeStats()
    stats.late(-0.5)
    stats.late(0.003)
    stats.late(60.0)
    assert stats.lateness_counts[0] == 1
    assert stats.lateness_counts[LATENESS_BUCKETS_S.index(0.005)] == 1
    assert stats.lateness_counts[-1] == 1  # +Inf
    assert stats.lateness_sum_s == 60.003


def test_the_summary_says_streams_lateness_percentiles_misses_and_faults() -> None:
    stats = ServeStats()
    for index in range(100):
        stats.started("stall" if index < 2 else None)
        stats.ended(index / 1000)
    stats.misses = 3
    assert stats.summary() == (
        "served 100 streams; worst lateness per stream p50 50.0 ms, p99 99.0 ms; misses 3; faults injected stall 2"
    )
    assert ServeStats().summary().startswith("served 0 streams; worst lateness per stream no streams;")


def test_workers_stats_merge_into_one_after_crossing_a_pipe() -> None:
    one, two = ServeStats(), ServeStats()
    for stats, late in ((one, 0.001), (two, 0.002)):
        stats.started("cut")
        stats.late(late)
        stats.ended(late)
    one.merge(pickle.loads(pickle.dumps(two)))
    assert one.streams_finished == 2
    assert one.faults == {"cut": 2}
    assert sum(one.lateness_counts) == 2
    assert one.worst_lateness_percentile(0.99) == 0.002
