"""What a load test needs to see of a replay server: streams served and open, how late the
chunks went out, misses and injected faults.

Plain counters, updated on the server's event loop (one thread) at the cost of an addition
or two per chunk; the metrics page (`metrics.py`) and the summary line when `serve` stops
read them. Lateness is how long after its scheduled moment a write went out.
"""

from __future__ import annotations

import bisect
import random

LATENESS_BUCKETS_S: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Upper bounds of the lateness histogram, in seconds (Prometheus `le`), +Inf after the last."""

_KEPT_STREAMS = 100_000


class ServeStats:
    """Counts for one server process; `summary()` is the line `serve` prints when it stops."""

    def __init__(self) -> None:
        self.streams_started = 0
        self.streams_finished = 0
        self.streams_dropped = 0
        """Streams whose client left before the end."""
        self.misses = 0
        self.faults: dict[str, int] = {}
        """Streams that had a fault injected, by fault kind (cut, stall, status, truncate)."""
        self.lateness_counts = [0] * (len(LATENESS_BUCKETS_S) + 1)
        self.lateness_sum_s = 0.0
        self._worst: list[float] = []
        self._seen_streams = 0
        self._rng = random.Random(0)

    @property
    def streams_active(self) -> int:
        return self.streams_started - self.streams_finished - self.streams_dropped

    def started(self, fault: str | None) -> None:
        self.streams_started += 1
        if fault is not None:
            self.faults[fault] = self.faults.get(fault, 0) + 1

    def late(self, lateness_s: float) -> None:
        """One write went out `lateness_s` after its moment (negative counts as on time)."""
        if lateness_s < 0.0:
            lateness_s = 0.0
        self.lateness_counts[bisect.bisect_left(LATENESS_BUCKETS_S, lateness_s)] += 1
        self.lateness_sum_s += lateness_s

    def ended(self, worst_lateness_s: float, *, dropped: bool = False) -> None:
        """A stream ended (its client left early when `dropped`); its latest-going write was
        `worst_lateness_s` late. A bounded sample of those gives the summary's percentiles."""
        if dropped:
            self.streams_dropped += 1
        else:
            self.streams_finished += 1
        self._seen_streams += 1
        if len(self._worst) < _KEPT_STREAMS:
            self._worst.append(worst_lateness_s)
        else:  # reservoir sampling: every stream equally likely to be kept
            slot = self._rng.randrange(self._seen_streams)
            if slot < _KEPT_STREAMS:
                self._worst[slot] = worst_lateness_s

    def worst_lateness_percentile(self, fraction: float) -> float | None:
        if not self._worst:
            return None
        ordered = sorted(self._worst)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def summary(self) -> str:
        """One line: streams, each stream's worst lateness (p50/p99), misses, faults."""
        p50, p99 = self.worst_lateness_percentile(0.5), self.worst_lateness_percentile(0.99)
        lateness = "no streams" if p50 is None or p99 is None else f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
        faults = ", ".join(f"{kind} {count}" for kind, count in sorted(self.faults.items())) or "none"
        dropped = f" ({self.streams_dropped} left early)" if self.streams_dropped else ""
        return (
            f"served {self.streams_finished + self.streams_dropped} streams{dropped}; "
            f"worst lateness per stream {lateness}; misses {self.misses}; faults injected {faults}"
        )

    def merge(self, other: ServeStats) -> None:
        """Add another worker's counts to these (for the one summary `serve --workers` prints)."""
        self.streams_started += other.streams_started
        self.streams_finished += other.streams_finished
        self.streams_dropped += other.streams_dropped
        self.misses += other.misses
        for kind, count in other.faults.items():
            self.faults[kind] = self.faults.get(kind, 0) + count
        self.lateness_counts = [a + b for a, b in zip(self.lateness_counts, other.lateness_counts, strict=True)]
        self.lateness_sum_s += other.lateness_sum_s
        self._worst = (self._worst + other._worst)[: 2 * _KEPT_STREAMS]
        self._seen_streams += other._seen_streams
