"""``offsite sealer`` (issue 16): the evidence log's single writer, sealing what the camera workers send.

One sealer seals at a time, across machines: the role is a lease (``role:sealer`` in the leases bucket, held as
``offsite.cluster.role_lease`` says). A second sealer started beside it waits, and takes over within the lease time
when the first dies. On one machine the evidence store's own lock says the same. While it holds the role, it takes
the events stream's messages in order (``offsite.cluster.events.EventSealer``); killed at any point, what it had not
acknowledged is sent again and sealed once. It also answers the other roles' requests to seal a package whose items
they stored (``offsite.cluster.sealing``: the scheduler's re-check key frames), so that nothing else writes the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import TypeVar

from nats.aio.client import Client

from offsite.bootstrap import Components
from offsite.cluster.events import EventSealer, EventsStream
from offsite.cluster.leases import CameraLeases
from offsite.cluster.opening import open_with_broker
from offsite.cluster.role_lease import BrokerAway, RoleHolder, RoleLost
from offsite.cluster.sealing import SealAnswers
from offsite.cluster.worker import ClusterSettings

__all__ = ["ROLE", "RoleLost", "run_sealer"]

log = logging.getLogger("offsite.cluster.sealer")
ROLE = "sealer"
T = TypeVar("T")


async def _parts(cluster: ClusterSettings, name: str, connection: Client) -> tuple[EventsStream, CameraLeases]:
    """The events stream and the leases, opened on the broker's connection."""
    js = connection.jetstream()
    stream = EventsStream(js, cluster.prefix)
    leases = CameraLeases(js, name, cluster.lease_s, cluster.prefix)
    await stream.open()
    await leases.open()
    return stream, leases


async def _kept(role: RoleHolder) -> None:
    """The role renewed between two seals when it is due (``RoleLost`` when it is gone): a batch of slow seals must
    not outlast the lease. A broker away now is no reason to stop: ``keep()`` says when the role has run out."""
    if role.renewal_due():
        with contextlib.suppress(BrokerAway):
            await role.keep()


async def _while_kept(role: RoleHolder, work: Awaitable[T]) -> T:
    """``work``'s result, the role kept meanwhile: opening the evidence store (its log read, its lock taken) and
    the subscriptions can take longer than the lease on a loaded machine, and the role taken must not run out
    while they do."""
    task = asyncio.ensure_future(work)
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=role.renew_every_s / 3)
            if not task.done():
                await _kept(role)
        return task.result()
    finally:
        task.cancel()  # only when the role was lost meanwhile: a finished task ignores it


async def _subscribed(sealer: EventSealer, answers: SealAnswers) -> None:
    await sealer.open()
    await answers.open()


async def run_sealer(components: Components, cluster: ClusterSettings, name: str, stopping: asyncio.Event) -> None:
    opened_with = await open_with_broker(f"sealer {name}", cluster.servers,
                                         lambda connection: _parts(cluster, name, connection), stopping)  # fmt: skip
    if opened_with is None:  # asked to stop before the broker answered
        return
    connection, (stream, leases) = opened_with
    role = RoleHolder(leases, ROLE, name, "sealing", stream.last_sequence)
    sealer, opened = EventSealer(components, stream, leases), False
    answers = SealAnswers(components.evidence, connection, cluster.prefix)
    try:
        while not stopping.is_set():
            try:
                held = await role.keep()
            except BrokerAway:  # seal nothing more once the role may have run out (keep() says when)
                await asyncio.sleep(1.0)
                continue
            if not held:  # another sealer seals: wait, ready to take over
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), role.renew_every_s)
                continue
            if not opened:
                await _while_kept(role, asyncio.to_thread(components.evidence))  # the store's lock, first
                try:
                    await _while_kept(role, _subscribed(sealer, answers))
                except RoleLost:
                    raise
                except Exception as exc:  # the broker went away meanwhile: open again at the next renewal
                    log.warning("sealer %s: opening the events' subscription failed: %s", name, exc)
                    await asyncio.sleep(1.0)
                    continue
                opened = True
            while not stopping.is_set() and not role.renewal_due():
                try:
                    await sealer.take(timeout_s=0.5, between=lambda: _kept(role))
                except RoleLost:
                    raise
                except Exception as exc:  # the broker went away mid-fetch: what was not acknowledged comes again
                    log.warning("sealer %s: taking events failed: %s", name, exc)
                    await asyncio.sleep(1.0)
    finally:
        await role.release()
        await connection.close()
        o = sealer.outcome
        log.info("sealer %s: sealed %d, already sealed %d, fenced %d, refused %d", name, o.sealed, o.already,
                 o.fenced, o.refused)  # fmt: skip
