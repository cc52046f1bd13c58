"""``offsite sealer`` (issue 16): the evidence log's single writer, sealing what the camera workers send.

One sealer seals at a time, across machines: the role is a lease (``role:sealer`` in the leases bucket). A second
sealer started beside it waits, and takes over within the lease time when the first dies. On one machine the
evidence store's own lock says the same. While it holds the role, it takes the events stream's messages in order
(``offsite.cluster.events.EventSealer``); killed at any point, what it had not acknowledged is sent again and
sealed once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats

from offsite.bootstrap import Components
from offsite.cluster.events import EventSealer, EventsStream
from offsite.cluster.leases import CameraLeases, Lease
from offsite.cluster.worker import ClusterSettings

log = logging.getLogger("offsite.cluster.sealer")


class RoleLost(RuntimeError):
    """Another sealer may seal now: this one stops, so that one sealer seals at a time."""


ROLE = "role:sealer"


async def run_sealer(components: Components, cluster: ClusterSettings, name: str, stopping: asyncio.Event) -> None:
    connection = await nats.connect(cluster.servers, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                    name=f"offsite-sealer-{name}")  # fmt: skip
    js = connection.jetstream()
    stream = EventsStream(js, cluster.prefix)
    leases = CameraLeases(js, name, cluster.lease_s, cluster.prefix)
    await stream.open()
    await leases.open()
    role: Lease | None = None
    sealer, opened = EventSealer(components, stream, leases), False
    renew_every = cluster.lease_s / 3
    clock = asyncio.get_running_loop().time
    renewed_at = clock()
    try:
        while not stopping.is_set():
            try:
                role = await _hold_role(leases, stream, role, name)
                renewed_at = clock()
            except RoleLost:
                raise
            except Exception as exc:  # the broker is away: seal nothing more once the role may have run out
                log.warning("sealer %s: the broker cannot be reached: %s", name, exc)
                if role is not None and clock() - renewed_at >= cluster.lease_s:
                    raise RoleLost(f"sealer {name}: the sealer's role ran out while the broker was away") from exc
                await asyncio.sleep(1.0)
                continue
            if role is None:  # another sealer seals: wait, ready to take over
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), renew_every)
                continue
            if not opened:
                await asyncio.to_thread(components.evidence)  # the store's lock, before the first message
                await sealer.open()
                opened = True
            while not stopping.is_set() and clock() - renewed_at < renew_every:
                try:
                    await sealer.take(timeout_s=0.5)
                except Exception as exc:  # the broker went away mid-fetch: what was not acknowledged comes again
                    log.warning("sealer %s: taking events failed: %s", name, exc)
                    await asyncio.sleep(1.0)
    finally:
        if role is not None:
            with contextlib.suppress(Exception):
                await leases.release(role)
        await connection.close()
        o = sealer.outcome
        log.info("sealer %s: sealed %d, already sealed %d, fenced %d, refused %d", name, o.sealed, o.already,
                 o.fenced, o.refused)  # fmt: skip


async def _hold_role(leases: CameraLeases, stream: EventsStream, role: Lease | None, name: str) -> Lease | None:
    if role is not None:
        renewed = await leases.renew(role)
        if renewed is None:
            raise RoleLost(f"sealer {name}: the sealer's role was lost; stopping so that one sealer seals")
        return renewed
    taken = await leases.acquire(ROLE, await stream.last_sequence())
    if taken is not None:
        log.info("sealer %s: sealing (role taken under epoch %d)", name, taken.epoch)
    return taken
