"""``offsite bench cluster``: what spreading cameras over worker processes buys on this machine, and what the broker
costs (issue 16).

- ``cameras_sustained_1`` / ``cameras_sustained_2``: real-time 1080p cameras (analysed every 2 s, key frames only)
  run without a dropped frame by one worker process, and by two worker processes at once, each pinned to a core of
  its own (``python -m bench.sustain``: the camera pipelines a worker runs, fed by the same file at its own pace).
  ``scale_ratio`` is the second over the first: the baseline is the one process, measured in the same run.
- ``broker_ms_per_event``: an event's way through NATS JetStream (a worker's publish with its manifest, the sealer's
  fetch, fence check, sealing and acknowledgement), against ``direct_ms_per_event``, the same manifests sealed in
  the same store with no broker (the baseline, in the same run); ``broker_ratio`` is the first over the second.
- ``failover_s``: from a holder's last renewal to another worker holding its camera, with a 2 s and a 10 s lease.

The broker and the store are started here: Debian's nats-server on a free port, a local evidence store.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.machine import machine
from bench.pipeline import prepare

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def _cores() -> list[int]:
    import os

    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]


def sustain_together(video: Path, cameras: int, processes: int, seconds: float) -> list[dict[str, Any]]:
    """``processes`` worker processes at once, each running ``cameras`` real-time cameras pinned to its own core."""
    cores = _cores()
    command = [sys.executable, "-m", "bench.sustain", str(video), str(cameras), str(seconds)]
    running = [
        subprocess.Popen([*command, str(cores[i % len(cores)])], stdout=subprocess.PIPE, text=True)
        for i in range(processes)
    ]
    runs = []
    for process in running:
        out, _ = process.communicate(timeout=seconds + 300)
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return runs


def _kept_up(runs: list[dict[str, Any]]) -> bool:
    return all(r["dropped"] == 0 and r["analysed"] >= r["due"] for r in runs)


def sustained(video: Path, processes: int, start: int, seconds: float, most: int = 96) -> dict[str, Any]:
    """The most cameras per process that ``processes`` processes keep up with: from ``start``, up by a quarter while
    they keep up (to ``most``), else down by a tenth until they do."""
    tried: list[dict[str, Any]] = []

    def kept_up(cameras: int) -> bool:
        runs = sustain_together(video, cameras, processes, seconds)
        tried.append({"cameras_each": cameras, "runs": runs})
        return _kept_up(runs)

    best, cameras = 0, start
    while 1 <= cameras <= most:
        if kept_up(cameras):
            best = cameras
            if cameras == most:
                break
            cameras = min(most, cameras + max(1, cameras // 4))
        elif best:
            break  # the last that kept up, just below this
        else:
            cameras -= max(1, cameras // 10)
    return {"cameras": best * processes, "cameras_each": best, "tried": tried}


@contextmanager
def nats_server(folder: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nats-server did not start") from None
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)


def broker_cost(work: Path, events: int) -> dict[str, Any]:
    """Milliseconds an event spends through the broker and sealer, against sealing it directly."""
    from evidence_store.backends import LocalBackend
    from evidence_store.keys import KeyRing
    from evidence_store.store import EvidenceStore, ItemIn, package_id_of, package_manifest, store_item

    def manifests(root: Path) -> list[dict[str, Any]]:
        backend = LocalBackend(root / "objects")
        made = []
        for n in range(events):
            item = root / "items" / f"{n}.jpg"
            item.parent.mkdir(parents=True, exist_ok=True)
            item.write_bytes(b"\xff\xd8" + bytes(n % 256 for _ in range(120_000)) + str(n).encode())
            made.append(package_manifest([store_item(backend, ItemIn("first.jpg", "image/jpeg", item))],
                                         {"event_id": f"e-{n}"}))  # fmt: skip
        return made

    direct_root = work / "direct"
    direct = manifests(direct_root)
    store = EvidenceStore(LocalBackend(direct_root / "objects"), direct_root / "state", KeyRing(direct_root / "keys"))
    started = time.perf_counter()
    for manifest in direct:
        store.seal_stored(manifest)
    direct_s = time.perf_counter() - started
    store.close()

    brokered_root = work / "brokered"
    brokered = manifests(brokered_root)
    with nats_server(work / "nats") as url:
        seconds = asyncio.run(_through_broker(url, brokered_root, brokered, package_id_of))
    return {"events": events, "broker_ms_per_event": round(1000 * seconds / events, 2),
            "direct_ms_per_event": round(1000 * direct_s / events, 2),
            "broker_ratio": round(seconds / direct_s, 2)}  # fmt: skip


async def _through_broker(url: str, root: Path, made: list[dict[str, Any]], package_id_of: Callable[..., str]) -> float:
    import datetime as dt

    import nats

    from evidence_store.backends import LocalBackend
    from evidence_store.keys import KeyRing
    from evidence_store.store import EvidenceStore
    from offsite.cluster.events import EventMessage, EventsStream
    from offsite.cluster.leases import CameraLeases
    from vision.events import SubjectKind, SubjectRef, ViolationEvent

    store = EvidenceStore(LocalBackend(root / "objects"), root / "state", KeyRing(root / "keys"))
    sealed: list[str] = []  # the sealer's own work, without the database: fence, seal, acknowledge
    connection = await nats.connect(url)
    js = connection.jetstream()
    stream, leases = EventsStream(js, "bench"), CameraLeases(js, "bench-worker", 10.0, "bench")
    await stream.open()
    await leases.open()
    lease = await leases.acquire("cam-bench", await stream.last_sequence())
    assert lease is not None
    now = dt.datetime.now(dt.UTC)
    subscription = await stream.sealer_subscription()
    started = time.perf_counter()
    for n, manifest in enumerate(made):
        event = ViolationEvent(f"e-{n}", "cam-bench", "Z-1", "stall", "street_stall", SubjectRef(SubjectKind.UNKNOWN),
                               now, now, package_id_of(manifest))  # fmt: skip
        await stream.publish(EventMessage(event, manifest, lease.epoch, "bench-worker"))
    while len(sealed) < len(made):
        for message in await subscription.fetch(64, timeout=5):
            body = EventMessage.from_bytes(message.data)
            fence = await leases.fence(body.event.camera_id)
            assert fence.sealable(body.epoch, message.metadata.sequence.stream)
            sealed.append(store.seal_stored(body.manifest).package_id)
            await message.ack()
    seconds = time.perf_counter() - started
    await connection.close()
    store.close()
    return seconds


def failover(work: Path, lease_s: float) -> float:
    """Seconds from a holder's last renewal to another worker holding the camera."""
    import nats

    from offsite.cluster.leases import CameraLeases

    async def measure(url: str) -> float:
        a, b = await nats.connect(url), await nats.connect(url)
        first = CameraLeases(a.jetstream(), "w1", lease_s, "bench")
        second = CameraLeases(b.jetstream(), "w2", lease_s, "bench")
        await first.open()
        await second.open()
        await first.acquire("cam-1", 0)
        stopped = time.monotonic()  # w1 dies: it renews no more
        while await second.acquire("cam-1", 0) is None:
            await asyncio.sleep(0.05)
        took = time.monotonic() - stopped
        await a.close()
        await b.close()
        return round(took, 2)

    with nats_server(work / f"nats-{lease_s:g}") as url:
        return asyncio.run(measure(url))


def run(root: Path = Path("var/bench"), quick: bool = False, progress: Callable[[str], None] = print) -> dict[str, Any]:
    inputs = prepare(root)
    seconds = 6.0 if quick else 16.0
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        progress("cameras sustained by one worker process")
        one = sustained(inputs.video_1080p, 1, 4 if quick else 16, seconds, most=8 if quick else 96)
        progress("cameras sustained by two worker processes")
        two = sustained(inputs.video_1080p, 2, max(1, one["cameras_each"]), seconds, most=one["cameras_each"] or 1)
        progress("an event through the broker and the sealer")
        broker = broker_cost(work, 50 if quick else 400)
        progress("failover")
        failovers = {f"{lease:g}": failover(work, lease) for lease in (2.0, 10.0)}
    return {
        "machine": machine(), "cameras_sustained_1": one["cameras"], "cameras_sustained_2": two["cameras"],
        "scale_ratio": round(two["cameras"] / one["cameras"], 2) if one["cameras"] else None,
        **broker, "failover_s": failovers, "sustain_tried": {"1": one["tried"], "2": two["tried"]},
    }  # fmt: skip


def summary(r: dict[str, Any]) -> str:
    return "\n".join([
        f"cluster benchmark on {r['machine'].get('cpu', '?')}",
        f"  cameras sustained, one worker process     {r['cameras_sustained_1']}",
        f"  cameras sustained, two worker processes   {r['cameras_sustained_2']}   ratio {r['scale_ratio']}",
        f"  ms an event, through NATS and the sealer  {r['broker_ms_per_event']}   "
        f"(sealed directly: {r['direct_ms_per_event']}; ratio {r['broker_ratio']})",
        f"  failover (s), by lease time               {r['failover_s']}",
    ])  # fmt: skip
