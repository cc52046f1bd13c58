"""Issue 16: which worker runs which camera, by leases in NATS JetStream key-value buckets with a fencing epoch, on a
real nats-server. One worker wins a free camera; a lease not renewed runs out within the lease time and another
worker takes the camera under the next epoch; the old holder's renewal then fails; events it published in time stay
sealable and its late ones do not; cameras spread over the live workers and only those whose owner changed move."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import nats

from offsite.cluster.leases import CameraLeases, Fence, camera_of, key_of, owner
from tests.support.nats_server import NatsServer

LEASE_S = 2.0


def run(nats_server: NatsServer, body: Callable[..., Awaitable[Any]], workers: int = 2) -> Any:
    """``body(*leases)`` with one connection and one ``CameraLeases`` per worker."""

    async def main() -> Any:
        connections = [await nats.connect(nats_server.url) for _ in range(workers)]
        leases = [
            CameraLeases(c.jetstream(), f"w{i + 1}", lease_s=LEASE_S, prefix="t") for i, c in enumerate(connections)
        ]
        try:
            for lease in leases:
                await lease.open()
            return await body(*leases)
        finally:
            for connection in connections:
                await connection.close()

    return asyncio.run(main())


def test_one_worker_wins_a_free_camera_and_keeps_it_while_it_renews(nats_server: NatsServer) -> None:
    async def body(w1: CameraLeases, w2: CameraLeases) -> None:
        first = await w1.acquire("cam-1", events_sequence=0)
        assert first is not None
        assert (first.worker, first.epoch) == ("w1", 1)
        assert await w2.acquire("cam-1", events_sequence=0) is None
        for _ in range(4):  # renewed every third of the lease, it lasts past the lease time
            await asyncio.sleep(LEASE_S / 3)
            renewed = await w1.renew(first)
            assert renewed is not None
            first = renewed
        holder = await w2.holder("cam-1")
        assert holder is not None
        assert (holder.worker, holder.epoch) == ("w1", 1)

    run(nats_server, body)


def test_a_lease_not_renewed_runs_out_and_the_next_holder_fences_the_old_one(nats_server: NatsServer) -> None:
    async def body(w1: CameraLeases, w2: CameraLeases) -> tuple[float, Fence]:
        old = await w1.acquire("cam:7", events_sequence=10)  # a device id with ':' (not a key character)
        assert old is not None
        stopped = time.monotonic()  # w1 is cut off: it renews no more
        taken = None
        while taken is None:
            taken = await w2.acquire("cam:7", events_sequence=25)
            await asyncio.sleep(0.1)
        waited = time.monotonic() - stopped
        assert (taken.worker, taken.epoch) == ("w2", 2)
        assert await w1.renew(old) is None  # the old holder learns it lost the camera
        fence = await w2.fence("cam:7")
        await w2.release(taken)
        again = await w1.acquire("cam:7", events_sequence=31)  # a released camera is free at once
        assert again is not None
        assert again.epoch == 3
        return waited, fence

    waited, fence = run(nats_server, body)
    assert LEASE_S * 0.9 <= waited <= LEASE_S + 5  # the server's expiry, within the lease time plus 5 s
    assert fence == Fence(2, {1: 10, 2: 25})
    assert fence.sealable(2, 26)  # the new holder's events
    assert fence.sealable(1, 25)  # published by the old holder before the camera was taken over
    assert not fence.sealable(1, 26)  # its late events, published after: fenced off, not sealed twice
    assert not fence.sealable(3, 1)  # an epoch that has not begun


def test_a_renewal_whose_answer_was_lost_leaves_the_lease_with_its_holder(nats_server: NatsServer) -> None:
    """A renewal the server applied but whose answer never came back (the broker restarting under it: the client
    timed out) moved the key's revision on: the holder's next renewal, on the revision it knows, still finds the
    lease its own and keeps it. A lease another worker took meanwhile is lost as before."""

    async def body(w1: CameraLeases, w2: CameraLeases) -> None:
        held = await w1.acquire("cam-1", events_sequence=0)
        assert held is not None
        landed = await w1.renew(held)  # applied on the server; its answer, the new revision, is lost
        assert landed is not None
        assert landed.revision > held.revision
        kept = await w1.renew(held)
        assert kept is not None
        assert (kept.worker, kept.epoch) == ("w1", 1)
        assert kept.revision > landed.revision
        holder = await w2.holder("cam-1")
        assert holder is not None
        assert holder.revision == kept.revision

        await w1.release(kept)
        taken = await w2.acquire("cam-1", events_sequence=0)
        assert taken is not None
        assert (taken.worker, taken.epoch) == ("w2", 2)
        assert await w1.renew(kept) is None  # another worker's lease now: not renewed by the old holder
        holder = await w1.holder("cam-1")
        assert holder is not None
        assert (holder.worker, holder.revision) == ("w2", taken.revision)

    run(nats_server, body)


def test_workers_come_and_go_and_cameras_follow_their_owner(nats_server: NatsServer) -> None:
    async def body(w1: CameraLeases, w2: CameraLeases, w3: CameraLeases) -> None:
        await w1.announce()
        await w2.announce(cameras=3)
        assert await w1.live_workers() == ["w1", "w2"]
        await w3.announce()
        await w3.leave()  # stopped on purpose: gone at once
        assert await w1.live_workers() == ["w1", "w2"]
        await asyncio.sleep(LEASE_S + 2)  # announcing no more: gone after the lease time
        assert await w3.live_workers() == []

    run(nats_server, body, workers=3)


def test_cameras_spread_over_the_workers_and_only_the_ones_whose_owner_changed_move() -> None:
    cameras = [f"cam-{n:03d}" for n in range(300)]
    two = {camera: owner(camera, ["w1", "w2"]) for camera in cameras}
    assert all(35 <= share <= 65 for share in Counter(two.values()).values() for share in [share * 100 / 300])
    three = {camera: owner(camera, ["w1", "w2", "w3"]) for camera in cameras}
    moved = [camera for camera in cameras if three[camera] != two[camera]]
    assert all(three[camera] == "w3" for camera in moved)  # a joining worker takes cameras; none move otherwise
    assert 70 <= len(moved) <= 130  # about a third
    assert owner("cam-001", []) is None
    assert camera_of(key_of("gb:3101150000132")) == "gb:3101150000132"


def test_a_lease_runs_out_within_the_configured_time_when_the_buckets_were_made_with_another(
    nats_server: NatsServer, caplog: Any
) -> None:
    """The buckets were made by processes configured with a longer lease time (a deployment before, or a tool that
    asked for 60 s). A worker configured with LEASE_S sets them to its own time and says so: the lease of a worker
    that stops renewing runs out within LEASE_S, not 60 s, and a waiting worker takes the camera."""

    async def body() -> float:
        earlier = await nats.connect(nats_server.url)
        made = CameraLeases(earlier.jetstream(), "w0", lease_s=60, prefix="t")
        await made.open()
        await earlier.close()
        connections = [await nats.connect(nats_server.url) for _ in range(2)]
        try:
            w1, w2 = (CameraLeases(c.jetstream(), f"w{i + 1}", lease_s=LEASE_S, prefix="t")
                      for i, c in enumerate(connections))  # fmt: skip
            await w1.open()
            await w2.open()
            assert await w1.acquire("cam-1", events_sequence=0) is not None
            stopped = time.monotonic()
            while await w2.acquire("cam-1", events_sequence=0) is None:
                assert time.monotonic() - stopped < LEASE_S + 5, "the lease outlived the configured lease time"
                await asyncio.sleep(0.1)
            return time.monotonic() - stopped
        finally:
            for connection in connections:
                await connection.close()

    with caplog.at_level("WARNING", logger="offsite.cluster.leases"):
        waited = asyncio.run(body())
    assert LEASE_S * 0.9 <= waited <= LEASE_S + 5
    said = [r.getMessage() for r in caplog.records if r.name == "offsite.cluster.leases"]
    assert any("t-leases kept its keys for 60 s" in m and "for 2 s from now" in m for m in said), said
