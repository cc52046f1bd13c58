"""The evidence benchmark's pieces run and report sensible figures (no timing is asserted)."""

from __future__ import annotations

import os
from pathlib import Path

from bench.evidence import proof_figures, seal_mb_s, sha256sum_mb_s
from evidence_store.backends import LocalBackend


def test_proof_figures_come_from_a_log_of_the_size_asked(tmp_path: Path) -> None:
    figures = proof_figures(tmp_path / "log", 1000, samples=50)
    assert figures["log_entries"] == 1000
    assert figures["proof_hashes"] == 10  # ceil(log2 1000)
    assert figures["proof_bytes"] == 320
    assert figures["proof_verify_us"] > 0


def test_sealing_and_its_baseline_are_measured_over_the_same_files(tmp_path: Path) -> None:
    sets = []
    for index in range(2):
        folder = tmp_path / f"p{index}"
        folder.mkdir()
        for name in ("frame-first.jpg", "clip.mp4"):
            (folder / name).write_bytes(os.urandom(200_000))
        sets.append(sorted(folder.iterdir()))
    assert seal_mb_s(LocalBackend(tmp_path / "objects"), tmp_path / "state", sets) > 0
    assert sha256sum_mb_s(sets, rounds=1) > 0
    assert len(list((tmp_path / "objects" / "packages").iterdir())) == 2
