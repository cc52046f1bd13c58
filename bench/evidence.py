"""The evidence benchmark: sealing throughput against sha256sum, proof cost on a log of 1,000,000 entries, S3.

From one run:
- ``seal_mb_s``: sealing realistic packages — three 1080p JPEG key frames, the three annotated, a 10 s 1080p
  clip — on the local backend (hash, store write-once with fsync, sign, append to the log, sign a tree head);
  ``sha256sum_mb_s``: coreutils' ``sha256sum`` over the same files (the baseline); ``ratio`` = seal / sha256sum;
- ``proof_verify_us`` and ``proof_bytes``: an inclusion proof in a log of 1,000,000 entries, verified
  (RFC 9162 §2.1.3.2), and its size; ``proof_make_us`` to produce it from the stored levels;
- ``s3_seal_mb_s``: the same packages sealed to a real S3 server with Object Lock (S3_ENDPOINT, S3_ACCESS_KEY,
  S3_SECRET_KEY, or a Ceph RGW started with tests/support/ceph_rgw_up.sh when Ceph is installed), else null with
  the reason.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2

from bench.machine import machine
from evidence_store.backends import EvidenceBackend, LocalBackend
from evidence_store.keys import KeyRing
from evidence_store.merkle import MerkleLog, verify_inclusion
from evidence_store.store import EvidenceStore, ItemIn
from vision.synthetic import VideoSpec, render_still, render_video

SUPPORT = Path(__file__).resolve().parent.parent / "tests" / "support"


def package_files(root: Path, packages: int) -> list[list[Path]]:
    """``packages`` sets of seven files: 3 key frames, 3 annotated, one 10 s 1080p clip; each set unique bytes."""
    base = root / "base"
    if not (base / "clip.mp4").exists():
        base.mkdir(parents=True, exist_ok=True)
        for role, seed in (("first", 1), ("middle", 2), ("confirming", 3)):
            image = render_still(seed, 1920, 1080).image
            cv2.imwrite(str(base / f"frame-{role}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            marked = image.copy()
            cv2.rectangle(marked, (400, 500), (700, 800), (0, 0, 255), 4)
            cv2.imwrite(str(base / f"annotated-{role}.jpg"), marked, [cv2.IMWRITE_JPEG_QUALITY, 95])
        render_video(VideoSpec(out=base / "clip.mp4", scenario="stall", seconds=10, width=1920, height=1080, seed=5))
    sets = []
    for index in range(packages):
        folder = root / f"package-{index}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        files = []
        for source in [*sorted(base.glob("*.jpg")), base / "clip.mp4"]:
            target = folder / source.name
            target.write_bytes(source.read_bytes() + index.to_bytes(8, "big"))  # new content: nothing deduplicated
            files.append(target)
        sets.append(files)
    return sets


def items_of(files: list[Path]) -> list[ItemIn]:
    return [ItemIn(f.name, "video/mp4" if f.suffix == ".mp4" else "image/jpeg", f) for f in files]


def seal_mb_s(backend: EvidenceBackend, state: Path, sets: list[list[Path]]) -> float:
    store = EvidenceStore(backend, state, KeyRing(state / "keys"))
    total = sum(f.stat().st_size for files in sets for f in files)
    started = time.perf_counter()
    for index, files in enumerate(sets):
        store.seal(items_of(files), {"bench": str(index)})
    seconds = time.perf_counter() - started
    store.log.close()
    return total / 1e6 / seconds


def sha256sum_mb_s(sets: list[list[Path]], rounds: int = 3) -> float:
    files = [str(f) for files in sets for f in files]
    total = sum(os.path.getsize(f) for f in files)
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(["sha256sum", *files], check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return total / 1e6 / best


def proof_figures(folder: Path, entries: int, samples: int = 2000) -> dict[str, Any]:
    rng = random.Random(1)
    log = MerkleLog.open(folder)
    if log.size < entries:
        batch = 100_000
        for start in range(log.size, entries, batch):
            log.append_many(rng.randbytes(32) for _ in range(min(batch, entries - start)))
    root = log.root(entries)
    indexes = [rng.randrange(entries) for _ in range(samples)]
    made, checked, sizes = 0.0, 0.0, []
    for index in indexes:
        started = time.perf_counter()
        path = log.inclusion_proof(index, entries)
        leaf = log.leaf_hash(index)
        made += time.perf_counter() - started
        started = time.perf_counter()
        verify_inclusion(leaf, index, entries, path, root)
        checked += time.perf_counter() - started
        sizes.append(32 * len(path))
    log.close()
    return {
        "log_entries": entries,
        "proof_make_us": round(made / samples * 1e6, 1),
        "proof_verify_us": round(checked / samples * 1e6, 1),
        "proof_bytes": max(sizes),
        "proof_hashes": max(sizes) // 32,
    }


@contextlib.contextmanager
def s3_server(work: Path) -> Iterator[tuple[dict[str, str] | None, str | None]]:
    """(S3 settings, None) from the environment or a Ceph RGW started here; (None, why) when there is none."""
    if os.environ.get("S3_ENDPOINT"):
        yield {k: os.environ.get(k, "") for k in ("S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY")}, None
        return
    if shutil.which("radosgw") is None:
        yield None, "no S3 server: S3_ENDPOINT is not set and Ceph's radosgw is not installed"
        return
    folder = Path(tempfile.mkdtemp(prefix="offsite-rgw-"))
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    try:
        started = subprocess.run(
            ["bash", str(SUPPORT / "ceph_rgw_up.sh"), str(folder), str(ports[0]), str(ports[1])],
            capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
        if started.returncode != 0:
            yield None, f"Ceph RGW did not start: {started.stderr.strip()[-300:]}"
            return
        pairs = (line.split("=", 1) for line in (folder / "env").read_text().splitlines() if "=" in line)
        yield dict(pairs), None
    finally:
        subprocess.run(["bash", str(SUPPORT / "ceph_rgw_down.sh"), str(folder)], capture_output=True, check=False)


def s3_seal_mb_s(sets: list[list[Path]], work: Path) -> tuple[float | None, str | None]:
    from evidence_store.s3 import S3Backend, S3Config

    with s3_server(work) as (env, why):
        if env is None:
            return None, why
        config = S3Config(
            endpoint=env["S3_ENDPOINT"], access_key=env["S3_ACCESS_KEY"], secret_key=env["S3_SECRET_KEY"],
            bucket=f"offsite-bench-{uuid.uuid4().hex[:10]}", secure=False, retention_days=1,
        )  # fmt: skip
        backend = S3Backend(config)
        backend.ensure_bucket()
        return seal_mb_s(backend, work / "s3-state", sets), None


def run(root: Path = Path("var/bench/evidence"), quick: bool = False, with_s3: bool = True) -> dict[str, Any]:
    root.mkdir(parents=True, exist_ok=True)
    sets = package_files(root / "packages", 2 if quick else 10)
    with tempfile.TemporaryDirectory(dir=root) as work:
        local = seal_mb_s(LocalBackend(Path(work) / "objects"), Path(work) / "state", sets)
        baseline = sha256sum_mb_s(sets)
        proofs = proof_figures(root / ("log-10k" if quick else "log-1m"), 10_000 if quick else 1_000_000)
        s3, s3_note = s3_seal_mb_s(sets, Path(work)) if with_s3 else (None, "skipped (--no-s3)")
    package_mb = sum(f.stat().st_size for f in sets[0]) / 1e6
    return {
        "seal_mb_s": round(local, 1),
        "sha256sum_mb_s": round(baseline, 1),
        "ratio": round(local / baseline, 3),
        "package_mb": round(package_mb, 2),
        "packages": len(sets),
        **proofs,
        "s3_seal_mb_s": None if s3 is None else round(s3, 1),
        "s3_note": s3_note,
        "machine": machine(),
    }


def summary(r: dict[str, Any]) -> str:
    s3 = f"{r['s3_seal_mb_s']} MB/s" if r["s3_seal_mb_s"] is not None else f"n/a ({r['s3_note']})"
    return "\n".join(
        [
            f"evidence benchmark: {r['packages']} packages of {r['package_mb']} MB (3 key frames, 3 annotated, 10 s clip)",
            f"  seal, local backend    {r['seal_mb_s']:>8.1f} MB/s",
            f"  sha256sum (baseline)   {r['sha256sum_mb_s']:>8.1f} MB/s   ratio {r['ratio']}",
            f"  inclusion proof in a log of {r['log_entries']:,}: {r['proof_hashes']} hashes, {r['proof_bytes']} bytes, "
            f"made in {r['proof_make_us']} µs, verified in {r['proof_verify_us']} µs",
            f"  seal, S3 (Object Lock) {s3}",
            f"  machine: {r['machine']['cpu']} x {r['machine']['cpus']}, {r['machine']['platform']}",
        ]
    )
