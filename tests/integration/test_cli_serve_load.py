"""`chunktape serve` as a load-test backend: --pool, --timing sampled, --workers, the metrics
page (read with prometheus_client's own parser) and the summary line at the end."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chunktape import Cassette, Chunk, Interaction, Request, Response
from tests.support.serving import invoke, serving, start, stop

URL = "https://api.openai.com/v1/chat/completions"


def _interaction(index: int) -> Interaction:
    request = Request("POST", URL, (("content-type", "application/json"),), b'{"prompt":"%d"}' % index)
    chunks = tuple(Chunk(at_s=0.002 * (n + 1), data=b"data: %d.%d\n\n" % (index, n)) for n in range(3))
    return Interaction(request, Response(200, (("content-type", "text/event-stream"),), 0.001, chunks))


@pytest.fixture
def pool_file(tmp_path: Path) -> str:
    return Cassette([_interaction(index) for index in range(3)]).save(str(tmp_path / "pool.yaml"))


RECORDED = {b"".join(b"data: %d.%d\n\n" % (index, n) for n in range(3)) for index in range(3)}


def _metrics(base_url: str) -> dict[str, float]:
    """Every sample of the metrics page, by name and labels, parsed by prometheus_client."""
    response = httpx.get(base_url + "/_chunktape/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def test_the_pool_answers_varied_prompts_with_recorded_streams(pool_file: str) -> None:
    with serving(pool_file, "--pool", "--pick", "random", "--timing", "sampled", "--seed", "5") as served:
        bodies = [
            httpx.post(served.base_url + "/v1/chat/completions", json={"prompt": f"new {n}"}).content for n in range(9)
        ]
    assert set(bodies) <= RECORDED
    assert len(set(bodies)) > 1


def test_the_metrics_page_counts_streams_lateness_misses_and_faults(pool_file: str) -> None:
    with serving(pool_file, "--pool", "--fault", "truncate") as served:
        for n in range(3):
            httpx.post(served.base_url + "/v1/chat/completions", json={"n": n})
        assert httpx.post(served.base_url + "/v1/embeddings", json={}).status_code == 404
        samples = _metrics(served.base_url)
    assert samples["chunktape_streams_total{outcome=complete}"] == 3
    assert samples["chunktape_streams_active{}"] == 0
    assert samples["chunktape_misses_total{}"] == 1
    assert samples["chunktape_faults_injected_total{kind=truncate}"] == 3
    writes = samples["chunktape_write_lateness_seconds_count{}"]
    assert writes >= 3 * 3  # head, chunks and end of each stream
    assert samples["chunktape_write_lateness_seconds_bucket{le=+Inf}"] == writes


def test_stopping_prints_one_summary_line(pool_file: str) -> None:
    served = start(pool_file, "--pool")
    try:
        httpx.post(served.base_url + "/v1/chat/completions", json={})
        httpx.post(served.base_url + "/v1/other", json={})
        assert stop(served, signal.SIGINT) == 0
        summary = [line for line in served.stderr().splitlines() if "served" in line]
    finally:
        served.errors.close()
    assert len(summary) == 1
    assert summary[0].startswith("chunktape: served 1 streams; worst lateness per stream p50 ")
    assert "misses 1" in summary[0]


def test_two_workers_share_the_port_and_print_one_url_line(pool_file: str) -> None:
    served = start(pool_file, "--pool", "--workers", "2")
    try:
        children = Path(f"/proc/{served.process.pid}/task/{served.process.pid}/children").read_text().split()
        assert len(children) == 2
        for n in range(12):  # a new connection each: the kernel spreads them over the workers
            with httpx.Client() as client:
                assert client.post(served.base_url + "/v1/chat/completions", json={"n": n}).content in RECORDED
        assert stop(served, signal.SIGTERM) == 0
        assert served.process.stdout is None or served.process.stdout.closed
        summary = [line for line in served.stderr().splitlines() if "served" in line]
    finally:
        served.errors.close()
    assert summary == [summary[0]]
    assert summary[0].startswith("chunktape: served 12 streams;")
    assert not any(Path(f"/proc/{child}").exists() for child in children)


def test_pick_without_pool_is_refused_in_one_line(pool_file: str) -> None:
    result = invoke("serve", pool_file, "--pick", "random")
    assert result.exit_code == 2
    assert "--pick and --timing choose among a pool's recordings; add --pool" in result.stderr


def test_match_on_with_pool_is_refused_in_one_line(pool_file: str) -> None:
    result = invoke("serve", pool_file, "--pool", "--match-on", "method,path,body")
    assert result.exit_code == 2
    assert "--pool matches on method and path alone; drop --match-on and --ignore" in result.stderr


def test_a_low_open_files_limit_is_named_in_one_line(pool_file: str) -> None:
    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, 512))

    process = subprocess.Popen(
        [sys.executable, "-m", "chunktape", "serve", pool_file, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=low_limit,  # only sets a limit in the child
    )
    try:
        assert process.stdout is not None
        assert "serving" in process.stdout.readline()
    finally:
        os.kill(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert "the open-files limit is 512, so at most about 448 streams at once" in stderr
