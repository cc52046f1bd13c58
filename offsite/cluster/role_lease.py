"""A role that one process holds at a time across machines (issue 16): the sealer, the scheduler.

The role is a lease in the leases bucket (``role:<role>``), taken and kept as a camera's is
(``offsite.cluster.leases.CameraLeases``):
- it is taken only when nobody holds it, so one process wins; the others wait beside it, asking again each time
  they would renew;
- it is renewed on its revision every third of the lease time;
- its holder's death lets it run out on the server, so a process waiting beside it takes over within the lease time.

A holder stops working for the role at once (``RoleLost``) when a renewal fails (the lease ran out, or another
process holds it now), or when the broker has been away for a lease time since it last renewed: by then another
process may hold the role, and two doing one role's work is what the lease exists to prevent.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from offsite.cluster.leases import CameraLeases, Lease

log = logging.getLogger("offsite.cluster.role_lease")


class RoleLost(RuntimeError):
    """Another process may hold the role now: this one stops, so that one process does the role's work at a time."""


class BrokerAway(RuntimeError):
    """The broker cannot be reached now; a role held has not run out yet by this process's clock."""


async def _no_sequence() -> int:
    return 0


class RoleHolder:
    """One process's hold on one role: ``keep()`` every ``renew_every_s`` renews it, or takes it when it is free."""

    def __init__(
        self,
        leases: CameraLeases,
        role: str,
        name: str,
        working: str,
        events_sequence: Callable[[], Awaitable[int]] = _no_sequence,
    ) -> None:
        """``working``: what the holder says it does once it has the role (its log reads ``<role> <name>:
        <working> (role taken under epoch N)``). ``events_sequence``: the events stream's last sequence, recorded
        with the role's epoch as a camera's is (the sealer's); a role with nothing to fence records 0."""
        self.leases, self.role, self.name, self.working = leases, role, name, working
        self.key = f"role:{role}"
        self.lease: Lease | None = None
        self._events_sequence = events_sequence
        self._kept_at = time.monotonic()  # the last time keep() got an answer from the broker

    @property
    def held(self) -> bool:
        return self.lease is not None

    @property
    def renew_every_s(self) -> float:
        return self.leases.lease_s / 3

    def renewal_due(self) -> bool:
        return time.monotonic() - self._kept_at >= self.renew_every_s

    async def keep(self) -> bool:
        """Renew the role, or take it if nobody holds it: whether this process holds it now. ``RoleLost`` when it
        was held and is no more; ``BrokerAway`` when the broker cannot answer and the role has not run out yet."""
        try:
            if self.lease is not None:
                self.lease = await self._renewed(self.lease)
            else:
                self.lease = await self._taken()
        except RoleLost:
            raise
        except Exception as exc:  # the broker is away: the role may be kept until the lease has run out
            log.warning("%s %s: the broker cannot be reached: %s", self.role, self.name, exc)
            if self.lease is not None and time.monotonic() - self._kept_at >= self.leases.lease_s:
                raise RoleLost(
                    f"{self.role} {self.name}: the {self.role}'s role ran out while the broker was away"
                ) from exc
            raise BrokerAway(str(exc)) from exc
        self._kept_at = time.monotonic()
        return self.lease is not None

    async def release(self) -> None:
        """Give the role up (this process stops): a process waiting beside it takes it at its next look."""
        if self.lease is not None:
            with contextlib.suppress(Exception):
                await self.leases.release(self.lease)
            self.lease = None

    async def _renewed(self, lease: Lease) -> Lease:
        renewed = await self.leases.renew(lease)
        if renewed is None:
            self.lease = None  # not ours any more: nothing to give back
            raise RoleLost(f"{self.role} {self.name}: the {self.role}'s role was lost; stopping so that one "
                           f"{self.role} works at a time")  # fmt: skip
        return renewed

    async def _taken(self) -> Lease | None:
        taken = await self.leases.acquire(self.key, await self._events_sequence())
        if taken is not None:
            log.info("%s %s: %s (role taken under epoch %d)", self.role, self.name, self.working, taken.epoch)
        return taken
