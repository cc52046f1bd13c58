"""An API node's one connection to a cluster's broker, for the web server's worker threads (issue 16).

The web server answers requests on threads; NATS is asynchronous. A ``BrokerLink`` keeps one NATS connection on an
event loop of its own, in a background thread, opened on first use, and runs a coroutine there for whichever
thread asks. While the broker is down it refuses at once with ``BrokerUnreachable`` (the client reconnects in the
background); nothing waits on a broker that is not there.

Two things go through it: the frames a gateway pushes (``offsite.cluster.frames.RelayedFrames``), and the
documents and attachments this node seals, which the sealer seals (``RemoteSealing``): in a cluster the evidence
log has one writer, and an API node is not it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import nats
from nats.aio.client import Client

from cases.errors import EvidenceUnavailable
from evidence_store.backends import EvidenceBackend
from evidence_store.store import ItemIn
from offsite.cluster.sealing import SealRequests, SealUnavailable

T = TypeVar("T")
CONNECT_TIMEOUT_S = 2.0
SEAL_RETRY_AFTER_S = 10  # about a lease: a standby sealer takes the role within it


class BrokerUnreachable(RuntimeError):
    """The broker cannot be reached now (not connected yet, or reconnecting)."""


class BrokerLink:
    def __init__(self, servers: list[str], name: str) -> None:
        self.servers, self.name = servers, name
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"{name}-nats", daemon=True)
        self._thread.start()
        self._connection: Client | None = None
        self._connecting = threading.Lock()

    def connection(self) -> Client:
        """The connection, opened on first use; ``BrokerUnreachable`` while there is none."""
        with self._connecting:
            if self._connection is None:
                opening = nats.connect(self.servers, name=self.name, connect_timeout=CONNECT_TIMEOUT_S,
                                       max_reconnect_attempts=-1, reconnect_time_wait=0.5)  # fmt: skip
                try:
                    self._connection = self.run(opening, CONNECT_TIMEOUT_S * (len(self.servers) + 1))
                except Exception as exc:  # no broker to connect to: the caller says so and is asked again
                    raise BrokerUnreachable(f"cannot connect: {exc.__class__.__name__}") from exc
            connection = self._connection
        if not connection.is_connected:
            raise BrokerUnreachable("reconnecting")
        return connection

    def run(self, work: Coroutine[Any, Any, T], timeout_s: float) -> T:
        """Run ``work`` on the link's loop and wait for it (from any thread but the loop's own)."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout_s)

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self.run(self._connection.close(), CONNECT_TIMEOUT_S)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(CONNECT_TIMEOUT_S)


class RemoteSealing:
    """``seal`` for an API node of a cluster: the items stored in the shared evidence backend by hash, the manifest
    sealed by the sealer (``offsite.cluster.sealing``); the package id. No sealer answering (none holds the role,
    during a failover) is ``EvidenceUnavailable``: the step that needed the package is not taken; try again."""

    def __init__(self, link: BrokerLink, backend: EvidenceBackend, prefix: str, requester: str) -> None:
        self.link, self.backend, self.prefix, self.requester = link, backend, prefix, requester

    def __call__(self, items: list[ItemIn], context: dict[str, Any], links: dict[str, str] | None = None) -> str:
        try:
            requests = SealRequests(self.link.connection(), self.backend, self.requester, self.prefix)
            return requests.sealer_for(self.link.loop)(items, context, links)
        except (BrokerUnreachable, SealUnavailable, TimeoutError) as exc:
            raise EvidenceUnavailable(retry_after_s=SEAL_RETRY_AFTER_S, variant="sealer") from exc
