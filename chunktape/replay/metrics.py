"""`GET /_chunktape/metrics`: a replay server's counts in Prometheus text format.

Rendered with prometheus_client from the plain counters in `stats.py` when scraped, so
serving a chunk never touches a metrics lock. Each `serve --workers` process answers with
its own counts (a scrape reaches one of them); sum them in the query, by instance.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from chunktape.replay.stats import LATENESS_BUCKETS_S, ServeStats


class _StatsCollector(Collector):
    def __init__(self, stats: ServeStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self.stats
        served = CounterMetricFamily("chunktape_streams", "Replayed streams that ended, by how.", labels=["outcome"])
        served.add_metric(["complete"], stats.streams_finished)
        served.add_metric(["client_left"], stats.streams_dropped)
        yield served
        yield GaugeMetricFamily("chunktape_streams_active", "Replayed streams being sent now.", stats.streams_active)
        yield CounterMetricFamily("chunktape_misses", "Requests no recorded interaction answered.", stats.misses)
        faults = CounterMetricFamily(
            "chunktape_faults_injected", "Streams with a fault injected, by kind.", labels=["kind"]
        )
        for kind, count in sorted(stats.faults.items()):
            faults.add_metric([kind], count)
        yield faults
        cumulative, buckets = 0, []
        for bound, count in zip([*map(repr, LATENESS_BUCKETS_S), "+Inf"], stats.lateness_counts, strict=True):
            cumulative += count
            buckets.append((bound, cumulative))
        yield HistogramMetricFamily(
            "chunktape_write_lateness_seconds",
            "How long after its recorded moment each write (head, chunk, end) went out.",
            buckets=buckets,
            sum_value=stats.lateness_sum_s,
        )


def render(stats: ServeStats) -> tuple[int, str, bytes]:
    """(status, content type, body) of the metrics page."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StatsCollector(stats))
    return 200, CONTENT_TYPE_LATEST, generate_latest(registry)
