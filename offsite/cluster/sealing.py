"""Sealing for a process that is not the sealer (issue 16): items stored by hash, the manifest sealed by request.

The evidence log has one writer in a cluster, the sealer. Another role that must seal a package (the scheduler,
for an automatic re-check's key frames) does what a camera worker does with an event's evidence: it stores the items
in the shared evidence backend under their hashes (``store_item``) and composes the package's manifest
(``package_manifest``). Rather than through the events stream, it then asks the sealer directly, with a NATS request
on ``<prefix>.seal``:

- request: ``{"manifest": {...}, "requester": "scheduler NAME"}``;
- reply: ``{"package_id": "<64 hex>", "created": true|false}``, or ``{"error": "...", "items_missing": true|false}``.

The sealer answers only while it holds its role (it subscribes once it has taken it, in the queue group ``sealer``,
and stops when it loses it), by ``EvidenceStore.seal_stored``. A manifest's package id is its hash, so the same
manifest asked twice is the same package, sealed once (the second answer says ``created: false``). With no sealer
holding the role the request fails at once (no responders) or after the timeout (``SealUnavailable``): the
requester tries again later, and nothing that depends on the package is recorded meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from evidence_store.backends import EvidenceBackend
from evidence_store.store import (
    EvidenceError,
    EvidenceStore,
    ItemIn,
    ItemsMissing,
    package_id_of,
    package_manifest,
    store_item,
)
from offsite.cluster.interest import server_has_seen
from offsite.parts import Seal

log = logging.getLogger("offsite.cluster.sealing")
SEALERS = "sealer"  # the queue group: one sealer answers each request, should two ever listen
SEAL_TIMEOUT_S = 30.0


def seal_subject(prefix: str) -> str:
    return f"{prefix}.seal"


class SealUnavailable(RuntimeError):
    """No sealer answered (none holds the role now, or it did not answer in time): ask again later."""


def _reply(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class SealAnswers:
    """The sealer's side: each request's stored manifest sealed into the log, its package id answered."""

    def __init__(self, store: Callable[[], EvidenceStore], connection: NatsClient, prefix: str = "offsite") -> None:
        self.store, self.connection, self.prefix = store, connection, prefix
        self._subscription: Subscription | None = None

    async def open(self) -> None:
        """Start answering (the sealer holds its role from now on); answering already, nothing more is done."""
        if self._subscription is None:
            self._subscription = await self.connection.subscribe(seal_subject(self.prefix), queue=SEALERS,
                                                                 cb=self.answer)  # fmt: skip
        await server_has_seen(self.connection)  # a request from now on finds this sealer

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def answer(self, message: Msg) -> None:
        await message.respond(_reply(await self._sealed(message.data)))

    async def _sealed(self, data: bytes) -> dict[str, Any]:
        try:
            request = json.loads(data)
            manifest, requester = request["manifest"], str(request.get("requester", "?"))
            if not isinstance(manifest, dict):
                raise TypeError("the manifest is no object")
        except (ValueError, KeyError, TypeError) as exc:
            log.error("a seal request that is no manifest was refused: %s", exc)
            return {"error": f"not a seal request: {exc}", "items_missing": False}
        try:
            sealed = await asyncio.to_thread(lambda: self.store().seal_stored(manifest))
        except ItemsMissing as exc:
            log.warning("%s asked to seal a package whose items are not stored (yet): %s", requester, exc)
            return {"error": str(exc), "items_missing": True}
        except EvidenceError as exc:
            log.error("%s asked to seal a manifest that was refused: %s", requester, exc)
            return {"error": str(exc), "items_missing": False}
        except Exception as exc:  # the store cannot answer now: the requester asks again later
            log.exception("sealing for %s failed", requester)
            return {"error": f"the sealer cannot seal now: {exc}", "items_missing": False}
        log.info("package %s sealed for %s%s", sealed.package_id[:12], requester,
                 "" if sealed.created else " (sealed before)")  # fmt: skip
        return {"package_id": sealed.package_id, "created": sealed.created}


class SealRequests:
    """The requester's side: items stored in the shared backend by hash, the manifest sealed by the sealer."""

    def __init__(
        self,
        connection: NatsClient,
        backend: EvidenceBackend,
        requester: str,
        prefix: str = "offsite",
        timeout_s: float = SEAL_TIMEOUT_S,
    ) -> None:
        self.connection, self.backend, self.requester = connection, backend, requester
        self.prefix, self.timeout_s = prefix, timeout_s

    async def seal_stored(self, manifest: dict[str, Any]) -> str:
        """The package id of a manifest whose items are stored, once the sealer has sealed it (or had before)."""
        package_id = package_id_of(manifest)
        body = _reply({"manifest": manifest, "requester": self.requester})
        try:
            reply = await self.connection.request(seal_subject(self.prefix), body, timeout=self.timeout_s)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError) as exc:
            raise SealUnavailable(f"package {package_id[:12]}: no sealer answered ({exc.__class__.__name__})") from exc
        answer = json.loads(reply.data)
        if "error" in answer:
            refused = ItemsMissing if answer.get("items_missing") else EvidenceError
            raise refused(f"package {package_id[:12]}: the sealer refused it: {answer['error']}")
        if answer.get("package_id") != package_id:
            raise EvidenceError(f"package {package_id[:12]}: the sealer answered package {answer.get('package_id')}")
        return package_id

    def sealer_for(self, loop: asyncio.AbstractEventLoop) -> Seal:
        """``seal`` for a thread other than ``loop``'s (a scheduler's job, an API node's request): the items stored
        from the calling thread, then it waits for the sealer's answer."""

        def seal(items: list[ItemIn], context: dict[str, Any], links: dict[str, str] | None = None) -> str:
            manifest = package_manifest([store_item(self.backend, item) for item in items], context, links)
            asked = asyncio.run_coroutine_threadsafe(self.seal_stored(manifest), loop)
            return asked.result(self.timeout_s + 5)

        return seal
