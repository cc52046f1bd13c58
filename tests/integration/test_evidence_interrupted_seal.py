"""A sealing process killed (kill -9) at random moments: between the kill and the next writer, a read-only
verification never reports tampering — an interrupted seal is named as one — and the next writer opens cleanly,
completes the seal and leaves no temporary file behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from evidence_store.durable import TEMPORARY_PREFIX
from evidence_store.store import INTERRUPTED, Verification
from offsite.evidence import open_evidence
from offsite.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KILLS = 20
MOST_DELAY_S = 0.3

# Seals one small package after another, as fast as it can, until it is killed.
SEALER = """
import os, sys
from pathlib import Path
from evidence_store.store import ItemIn
from offsite.evidence import open_evidence
from offsite.settings import Settings

root = Path(sys.argv[1])
store = open_evidence(Settings(evidence_dir=root))
work = root.parent / "in"
work.mkdir(exist_ok=True)
print("ready", flush=True)
number = 0
while True:
    number += 1
    frame = work / f"frame-{os.getpid()}-{number}.jpg"
    frame.write_bytes(os.urandom(2048))
    store.seal([ItemIn("frame.jpg", "image/jpeg", frame)], {"camera_id": "cam-1", "number": number})
"""


def start_sealer(evidence_dir: Path) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OFFSITE_")}
    sealer = subprocess.Popen(
        [sys.executable, "-c", SEALER, str(evidence_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert sealer.stdout is not None
    ready = sealer.stdout.readline()  # the writer has opened the store (and repaired what the last kill left)
    if ready.strip() != "ready":
        sealer.kill()
        raise AssertionError(f"the next writer did not open cleanly: {ready!r} {sealer.communicate(timeout=10)}")
    return sealer


def verify_read_only(settings: Settings) -> list[Verification]:
    """What `offsite evidence verify --all` checks, beside no writer."""
    store = open_evidence(settings, read_only=True)
    try:
        ids, unlisted = store.packages_to_verify()
        assert unlisted is None
        return [store.verify(package_id) for package_id in ids] + [store.log_report()]
    finally:
        store.close()


def temporary_files(root: Path) -> list[Path]:
    return [*root.rglob(f"{TEMPORARY_PREFIX}*"), *root.rglob("*.tmp")]


def test_a_seal_killed_at_random_moments_is_never_reported_as_tampering_and_the_next_writer_completes_it(
    tmp_path: Path,
) -> None:
    settings = Settings(evidence_dir=tmp_path / "evidence")
    chance = random.Random(13)
    interrupted_seen = 0
    for kill in range(KILLS):
        sealer = start_sealer(settings.evidence_dir)
        time.sleep(chance.uniform(0, MOST_DELAY_S))
        os.kill(sealer.pid, signal.SIGKILL)
        sealer.wait(timeout=10)
        sealer.communicate(timeout=10)

        reports = verify_read_only(settings)

        problems = [f"{r.package_id[:12]}: {p}" for r in reports for p in r.problems]
        assert problems == [], f"kill {kill}: a read-only verification reported tampering: {problems}"
        assert all(line.endswith(INTERRUPTED) for r in reports for line in r.interrupted)
        interrupted_seen += any(r.interrupted for r in reports)

    assert interrupted_seen > 0, "no kill landed inside a seal: the test did not test anything"
    writer = open_evidence(settings)  # the next writer: completes what the last kill left
    try:
        ids, _ = writer.packages_to_verify()
        assert len(ids) >= KILLS
        reports = [writer.verify(package_id) for package_id in ids] + [writer.log_report()]
        assert [r for r in reports if not r.ok] == []
        assert writer.interrupted_seals() == set()
    finally:
        writer.close()
    assert temporary_files(settings.evidence_dir) == []
