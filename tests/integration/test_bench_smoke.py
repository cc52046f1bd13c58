"""The review-queue benchmark runs end to end on a small database and reports every figure. No timing is
asserted: figures are for docs/benchmarks.md, measured with ``python -m bench queue``."""

from __future__ import annotations

import pytest

from bench.review_queue import SHAPES, run
from tests.integration.conftest import _postgres_or_skip

pytestmark = pytest.mark.postgres

KEYS = {
    "rows",
    "queries",
    "indexed_p50_ms",
    "indexed_p99_ms",
    "unindexed_p50_ms",
    "unindexed_p99_ms",
    "ratio",
    "transitions_per_s",
    "transitions_per_s_sqlite",
    "machine",
}


def test_the_review_queue_benchmark_reports_every_figure() -> None:
    result = run(_postgres_or_skip(), rows=2000, queries=10, cases=5)

    assert result.keys() >= KEYS
    assert (result["rows"], result["queries"]) == (2000, 10)
    assert result["indexed_p99_ms"] >= result["indexed_p50_ms"] > 0
    assert result["unindexed_p99_ms"] >= result["unindexed_p50_ms"] > 0
    assert result["ratio"] > 0
    assert result["transitions_per_s"] > 0
    assert result["transitions_per_s_sqlite"] > 0
    assert result["transitions"] == 5 * 11  # open, file, notice, re-check, pre-penalty notice, review ×2, … close
    assert set(result["plans"]) == set(SHAPES)
    deep = result["deep_page"]
    assert deep["rows_skipped"] > 0
    assert deep["first_page_p50_ms"] > 0
    assert deep["deep_page_p50_ms"] > 0
    machine = result["machine"]
    assert machine["cpus"] >= 1
    assert machine["postgresql"]


def test_the_review_export_benchmark_exports_every_frame_and_reports_the_baseline(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bench.review_export import run as run_export

    result = run_export(frames=300, work_dir=tmp_path)
    assert (result["frames"], result["exported"]) == (300, 300)
    assert result["export_s"] > 0
    assert result["copy_s"] > 0
    assert result["ratio"] > 0
    assert result["export_peak_mb"] >= 0
    assert list(tmp_path.iterdir()) == []  # its files are gone
